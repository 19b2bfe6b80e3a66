"""Knowledge bases (hosted Cue grounding) over HTTP on SQLite and PostgreSQL, and Cue itself over
a real WebSocket: a spoken question gets the right passage; a slow endpoint fails open."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.contract import assert_problem
from tests.media import flite_wav, pcm16, silence_pcm16
from tests.receiver import QuietHandler, serving
from tests.server import Server

FAQ = """# Opening hours

We are open Monday to Friday from nine in the morning until six in the evening.
On Saturday the store opens at ten and closes at four. We are closed on Sunday.

# Returns

You can return any item within thirty days with the receipt. Refunds go back to the original card.

# Delivery

Standard delivery takes three to five business days. Express delivery arrives the next day.
"""


def text_pdf(text: str) -> bytes:
    """A one-page PDF whose text is extractable (Helvetica text-showing operators)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


@pytest.fixture
def kb(server: Server) -> tuple[httpx.Client, str]:
    key = server.create_key(scopes="omni:session,hear:stream")["api_key"]
    c = httpx.Client(base_url=server.url, headers=server.headers(key), timeout=60)
    kb_id = c.post("/v1/knowledge-bases", json={"name": "Store FAQ"}).json()["id"]
    doc = c.post(f"/v1/knowledge-bases/{kb_id}/documents", files={"file": ("faq.md", FAQ.encode())})
    assert doc.status_code == 201, doc.text
    assert doc.json()["chunks"] == 3
    return c, kb_id


def test_search_ranks_the_right_passage(kb: tuple[httpx.Client, str]) -> None:
    c, kb_id = kb
    hits = c.get(f"/v1/knowledge-bases/{kb_id}/search", params={"q": "what time do you open on saturday?"}).json()[
        "data"
    ]
    assert hits and "Saturday" in hits[0]["content"]
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    refund = c.get(f"/v1/knowledge-bases/{kb_id}/search", params={"q": "how do refunds work", "k": 1}).json()["data"]
    assert len(refund) == 1 and "Refunds" in refund[0]["content"]
    for hostile in ['"', "AND(", "*", "NEAR(", "-", "'); drop table kb_chunks; --", "the of and"]:
        resp = c.get(f"/v1/knowledge-bases/{kb_id}/search", params={"q": hostile})
        assert resp.status_code == 200, (hostile, resp.text)


def test_documents_kinds_and_bad_uploads(kb: tuple[httpx.Client, str]) -> None:
    c, kb_id = kb
    pdf = c.post(
        f"/v1/knowledge-bases/{kb_id}/documents",
        files={"file": ("warranty.pdf", text_pdf("The warranty covers parts and labour for two years."))},
    )
    assert pdf.status_code == 201, pdf.text
    txt = c.post(
        f"/v1/knowledge-bases/{kb_id}/documents",
        files={"file": ("notes", b"Parking is free behind the building.")},
        data={"content_type": "text/plain"},
    )
    assert txt.status_code == 201
    hit = c.get(f"/v1/knowledge-bases/{kb_id}/search", params={"q": "how long is the warranty"}).json()["data"][0]
    assert "two years" in hit["content"]
    info = c.get(f"/v1/knowledge-bases/{kb_id}").json()
    assert info["document_count"] == 3 and info["chunk_count"] == 5
    url = f"/v1/knowledge-bases/{kb_id}/documents"
    assert_problem(c.post(url, files={"file": ("a.docx", b"PK..")}), 400, "invalid_request")
    assert_problem(c.post(url, files={"file": ("a.txt", b"")}), 400, "empty_audio")
    assert_problem(c.post(url, files={"file": ("a.pdf", b"%PDF-1.4 broken")}), 400, "invalid_document")
    assert_problem(c.post(url, files={"file": ("a.txt", b"\xff\xfe\x00bad")}), 400, "invalid_document")
    assert_problem(c.post("/v1/knowledge-bases", json={"name": ""}), 400, "invalid_request")


def test_tenant_isolation(kb: tuple[httpx.Client, str], server: Server) -> None:
    c, kb_id = kb
    other_key = server.create_key(scopes="omni:session")["api_key"]
    other = httpx.Client(base_url=server.url, headers=server.headers(other_key))
    assert_problem(other.get(f"/v1/knowledge-bases/{kb_id}"), 404, "not_found")
    assert_problem(other.get(f"/v1/knowledge-bases/{kb_id}/search", params={"q": "saturday"}), 404, "not_found")
    assert_problem(other.delete(f"/v1/knowledge-bases/{kb_id}"), 404, "not_found")
    assert kb_id not in [k["id"] for k in other.get("/v1/knowledge-bases").json()["data"]]
    assert c.delete(f"/v1/knowledge-bases/{kb_id}").status_code == 200
    assert_problem(c.get(f"/v1/knowledge-bases/{kb_id}"), 404, "not_found")


class _SlowKb(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if self.path == "/slow":
            time.sleep(20)
        payload = {"results": [{"content": f"echo: {body['query']}", "score": 0.9}]}
        data = json.dumps(payload).encode() if self.path != "/garbage" else b"<html>"
        self.send_response(200)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def kb_endpoint() -> Iterator[str]:
    with serving(_SlowKb) as url:
        yield url


def cue_session(srv: Server, key: str, config: dict, question: str) -> tuple[list[dict], float]:
    async def go() -> tuple[list[dict], float]:
        async with connect(f"{srv.ws_url}/v1/audio/transcriptions/stream", subprotocols=[f"pyai-key.{key}"]) as ws:
            await ws.send(json.dumps({"type": "config", "grounding": True, **config}))
            audio = silence_pcm16(0.3) + pcm16(flite_wav(question)) + silence_pcm16(1.0)
            for i in range(0, len(audio), 3200):
                await ws.send(audio[i : i + 3200])
            t0 = time.perf_counter()
            frames = []
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                frames.append(frame)
                if frame["type"] == "final":
                    break
            elapsed = time.perf_counter() - t0
            await ws.send("EOF")
            async for msg in ws:
                frames.append(json.loads(msg))
        return frames, elapsed

    return asyncio.run(go())


def test_cue_grounds_a_spoken_question(sqlite_server: Server) -> None:
    key = sqlite_server.create_key(scopes="omni:session,hear:stream")["api_key"]
    c = httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=60)
    kb_id = c.post("/v1/knowledge-bases", json={"name": "FAQ"}).json()["id"]
    c.post(f"/v1/knowledge-bases/{kb_id}/documents", files={"file": ("faq.md", FAQ.encode())})
    frames, _ = cue_session(
        sqlite_server, key, {"knowledge_base_id": kb_id, "grounding_k": 2}, "What time does the store open on Saturday?"
    )
    sf = next(f for f in frames if f["type"] == "speech_final")
    final = next(f for f in frames if f["type"] == "final")
    assert sf["grounding"] and "Saturday" in sf["grounding"][0]["content"], sf
    assert final["grounding"] == sf["grounding"] and len(sf["grounding"]) <= 2
    usage = frames[-1]
    assert usage["type"] == "usage" and usage["product"] == "cue" and usage["meter"] == "cue.minutes"


def test_cue_fails_open_on_slow_or_broken_endpoints(sqlite_server: Server, kb_endpoint: str) -> None:
    key = sqlite_server.create_key(scopes="hear:stream")["api_key"]
    frames, elapsed = cue_session(
        sqlite_server, key, {"kb_endpoint": kb_endpoint + "/slow", "grounding_timeout_ms": 100}, "Where is my order?"
    )
    sf = next(f for f in frames if f["type"] == "speech_final")
    assert sf["grounding"] == [] and elapsed < 10  # did not wait for the 20 s endpoint
    frames, _ = cue_session(sqlite_server, key, {"kb_endpoint": kb_endpoint + "/garbage"}, "Where is my order?")
    assert next(f for f in frames if f["type"] == "speech_final")["grounding"] == []
    frames, _ = cue_session(
        sqlite_server, key, {"kb_endpoint": kb_endpoint + "/good", "session_label": "s1"}, "Where is my order?"
    )
    grounding = next(f for f in frames if f["type"] == "speech_final")["grounding"]
    assert grounding[0]["content"].startswith("echo: ") and grounding[0]["score"] == 0.9
