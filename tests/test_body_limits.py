"""Request-body hardening over real HTTP and WebSockets: per-route size limits enforced while the
body arrives (413), and JSON nesting refused before it can exhaust the parser's recursion (400,
or an in-band error frame on the Hear stream)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import BACKENDS, start_server
from tests.contract import assert_problem
from tests.media import flite_wav, pcm16, silence_pcm16
from tests.server import Server, drop_pg_database

MiB = 1 << 20
JSON_LIMIT = MiB  # the default PYAI_MAX_JSON_BYTES
UPLOAD_LIMIT = 100_000  # PYAI_MAX_UPLOAD_BYTES of this module's servers, so uploads stay small
MAX_DEPTH = 64
HUGE = 200 * MiB
SENTENCE = "The quick brown fox jumps over the lazy dog."

#: Every upload route and the name of its file part.
UPLOAD_ROUTES = {
    "/v1/audio/transcriptions": "file",
    "/v1/transcription/jobs": "audio",
    "/v1/voice/clones": "file",
    "/v1/knowledge-bases/{kb}/documents": "file",
}
#: Routes whose JSON body the server parses (``{design}`` is any id: the body is read first).
JSON_ROUTES = (
    "/v1/audio/speech",
    "/v1/knowledge-bases",
    "/v1/voice/design",
    "/v1/voice/design/{design}/save",
    "/v1/transcription/jobs",
    "/v1/sandbox/keys",
)


@pytest.fixture(scope="module", params=BACKENDS)
def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server, pg_url = start_server(
        tmp_path_factory.mktemp(f"bodies-{request.param}"), request.param, {"PYAI_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}
    )
    yield server
    server.stop()
    if pg_url:
        drop_pg_database(pg_url)


@pytest.fixture(scope="module")
def client(srv: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, headers=srv.headers(srv.create_key()["api_key"]), timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def kb_id(client: httpx.Client) -> str:
    resp = client.post("/v1/knowledge-bases", json={"name": "limits"})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def route(path: str, kb_id: str) -> str:
    return path.format(kb=kb_id, design="vd_missing")


class Body:
    """A body of ``size`` bytes made chunk by chunk, so the test never holds it; counts what was sent."""

    def __init__(self, head: bytes, size: int, tail: bytes = b"", filler: bytes = b"a") -> None:
        self.head, self.tail, self.size, self.filler = head, tail, size, filler
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        chunk = self.filler * MiB
        for piece in self._pieces(chunk):
            self.sent += len(piece)
            yield piece

    def _pieces(self, chunk: bytes) -> Iterator[bytes]:
        yield self.head
        left = self.size - len(self.head) - len(self.tail)
        while left > 0:
            yield chunk[: min(len(chunk), left)]
            left -= len(chunk)
        yield self.tail


def json_text(size: int) -> Body:
    """Valid JSON of exactly ``size`` bytes: a long ``input`` string."""
    return Body(b'{"input":"', size, b'"}')


def multipart(part: str, size: int) -> tuple[Body, str]:
    """A multipart body of about ``size`` bytes whose file part is ``part``, and its content type."""
    boundary = "limitsboundary"
    name = f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nlimits\r\n'  # for clones
    head = f'{name}--{boundary}\r\nContent-Disposition: form-data; name="{part}"; filename="a.wav"\r\n\r\n'.encode()
    return Body(head, size, f"\r\n--{boundary}--\r\n".encode(), b"\0"), f"multipart/form-data; boundary={boundary}"


def post(client: httpx.Client, path: str, body: Body, content_type: str, *, declared: bool) -> httpx.Response:
    """Stream ``body``: with a Content-Length when ``declared``, else chunked (no length up front)."""
    headers = {"content-type": content_type}
    if declared:
        headers["content-length"] = str(body.size)
    return client.post(path, content=iter(body), headers=headers)


def memory(srv: Server) -> dict[str, int]:
    """The server's resident set and its peak, in bytes."""
    assert srv.proc is not None
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{srv.proc.pid}/status").read_text().splitlines())
    return {name: int(fields[name].split()[0]) * 1024 for name in ("VmRSS", "VmHWM")}


def assert_too_large(resp: httpx.Response, param: str, limit: int) -> None:
    body = assert_problem(resp, 413, "payload_too_large")
    assert body["param"] == param and f"{limit}-byte" in body["detail"], body


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_200_mb_json_body_is_refused_while_it_arrives(srv: Server, client: httpx.Client, declared: bool) -> None:
    """The 413 comes after about the limit, not after 200 MB, and the server's memory barely moves."""
    assert_problem(client.post("/v1/audio/speech", json={}), 400, "invalid_request")  # warm the route up
    before = memory(srv)
    body = json_text(HUGE)
    started = time.monotonic()
    resp = post(client, "/v1/audio/speech", body, "application/json", declared=declared)
    elapsed = time.monotonic() - started
    after = memory(srv)
    assert_too_large(resp, "body", JSON_LIMIT)
    assert "1 MiB" in resp.json()["detail"]
    assert body.sent < HUGE // 4, f"the client had to send {body.sent} bytes"  # the server stopped reading
    assert elapsed < 30
    assert after["VmHWM"] - before["VmHWM"] < 32 * MiB, (before, after)
    assert after["VmRSS"] - before["VmRSS"] < 32 * MiB, (before, after)


def test_json_limit_is_exact(client: httpx.Client) -> None:
    at_limit = post(client, "/v1/knowledge-bases", json_text(JSON_LIMIT), "application/json", declared=True)
    assert_problem(at_limit, 400, "invalid_request")  # read and parsed: only the field is wrong
    over = post(client, "/v1/knowledge-bases", json_text(JSON_LIMIT + 1), "application/json", declared=False)
    assert_too_large(over, "body", JSON_LIMIT)


@pytest.mark.parametrize("path", list(UPLOAD_ROUTES))
@pytest.mark.parametrize(
    "how", ["declared", "chunked", "part-over-limit"], ids=["content-length", "chunked", "part-over-limit"]
)
def test_uploads_over_the_limit_are_413(client: httpx.Client, kb_id: str, path: str, how: str) -> None:
    """Refused by the declared length, by counting a chunked body (even though multipart parsing turns
    a cut-off body into a 400), or by the file part alone when the body fits the framing allowance."""
    part = UPLOAD_ROUTES[path]
    size = UPLOAD_LIMIT + 2000 if how == "part-over-limit" else 3 * UPLOAD_LIMIT
    body, content_type = multipart(part, size)
    resp = post(client, route(path, kb_id), body, content_type, declared=how != "chunked")
    assert_too_large(resp, part, UPLOAD_LIMIT)


def test_json_on_an_upload_route_gets_the_json_limit(client: httpx.Client) -> None:
    """/v1/transcription/jobs takes JSON or multipart: each content type has its own limit."""
    mid = 4 * UPLOAD_LIMIT  # over the upload limit, under the JSON one
    resp = post(client, "/v1/transcription/jobs", json_text(mid), "application/json", declared=True)
    assert_problem(resp, 400, "invalid_request")
    body, content_type = multipart("audio", mid)
    assert_too_large(post(client, "/v1/transcription/jobs", body, content_type, declared=True), "audio", UPLOAD_LIMIT)


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize("opener", ["[", '{"a":'], ids=["arrays", "objects"])
def test_deeply_nested_json_is_400(client: httpx.Client, kb_id: str, path: str, opener: str) -> None:
    resp = client.post(
        route(path, kb_id), content=opener.encode() * 100_000, headers={"content-type": "application/json"}
    )
    body = assert_problem(resp, 400, "invalid_json")
    assert body["param"] == "body" and f"limit is {MAX_DEPTH}" in body["detail"], body


def test_nesting_up_to_the_limit_is_accepted(client: httpx.Client) -> None:
    def kb(depth: int) -> httpx.Response:  # the body object is level 1; ``extra`` is ignored by the route
        extra = "[" * (depth - 1) + "]" * (depth - 1)
        body = '{"name": "deep [\\"]{", "extra": ' + extra + "}"
        return client.post("/v1/knowledge-bases", content=body, headers={"content-type": "application/json"})

    assert kb(MAX_DEPTH).status_code == 201
    assert_problem(kb(MAX_DEPTH + 1), 400, "invalid_json")


@pytest.mark.parametrize(
    "body",
    [{"output_formats": [1] * 300_000}, {f"k{i}": 0 for i in range(70_000)}],
    ids=["long-list", "many-unknown-fields"],
)
def test_wide_invalid_json_is_refused_cheaply(client: httpx.Client, body: dict) -> None:
    """A body just under the limit whose every item is wrong is one error, not one per item."""
    content = json.dumps(body).encode()
    assert len(content) < JSON_LIMIT
    started = time.monotonic()
    resp = client.post("/v1/transcription/jobs", content=content, headers={"content-type": "application/json"})
    elapsed = time.monotonic() - started
    problem = assert_problem(resp, 400, "invalid_request")
    assert "more problem" not in problem["detail"], problem["detail"][:300]
    assert elapsed < 5


def test_hear_stream_answers_bad_json_in_band_and_keeps_going(srv: Server) -> None:
    key = srv.create_key(scopes="hear:stream")["api_key"]
    audio = silence_pcm16(0.3) + pcm16(flite_wav(SENTENCE)) + silence_pcm16(1.2)

    async def go() -> tuple[list[dict], int | None]:
        async with connect(f"{srv.ws_url}/v1/audio/transcriptions/stream?api_key={key}", max_size=None) as ws:
            await ws.send("[" * 100_000)
            await ws.send('{"type": "commit", "x": ' + "[" * 100_000)
            await ws.send("hello?")
            await ws.send("[" * (MiB + 1))  # not even scanned
            for i in range(0, len(audio), 3200):
                await ws.send(audio[i : i + 3200])
            await ws.send("EOF")
            frames = []
            async for message in ws:
                frames.append(json.loads(message))
        return frames, ws.close_code

    frames, close_code = asyncio.run(asyncio.wait_for(go(), 120))
    errors = [f for f in frames if f["type"] == "error"]
    assert [e["code"] for e in errors] == ["invalid_json"] * 3 + ["frame_too_large"], errors
    assert f"limit is {MAX_DEPTH}" in errors[0]["message"]
    assert "fox" in next(f for f in frames if f["type"] == "final")["text"].lower()
    assert frames[-1]["type"] == "usage" and close_code == 1000


@pytest.mark.parametrize("value", ["1e999", "-1e999", "NaN"])
def test_hear_stream_config_with_non_finite_number_closes_1008(srv: Server, value: str) -> None:
    key = srv.create_key(scopes="hear:stream")["api_key"]

    async def go() -> tuple[list[dict], int | None]:
        async with connect(f"{srv.ws_url}/v1/audio/transcriptions/stream?api_key={key}") as ws:
            await ws.send('{"type": "config", "grounding": true, "grounding_k": ' + value + "}")
            frames = []
            with contextlib.suppress(ConnectionClosed):  # raised by iteration for any close but 1000
                async for message in ws:
                    frames.append(json.loads(message))
        return frames, ws.close_code

    frames, close_code = asyncio.run(asyncio.wait_for(go(), 60))
    assert close_code == 1008 and frames[0]["code"] == "invalid_config" and "grounding_k" in frames[0]["message"]
