"""JSON logs and OpenTelemetry traces of a real server (docs/operations.md, "Logs and traces").

One server runs with ``PYAI_LOG_FORMAT=json`` and tracing on, exporting by OTLP/HTTP to a tiny
collector in this process: its log must be JSON lines that carry request and org ids and never a
key, and its spans must arrive as ``gateway`` → ``omni.turn`` → ``stt`` / ``brain`` / ``tts``.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from websockets.asyncio.client import connect

from pyai.audio.encode import wav_header
from tests.media import flite_wav, pcm16, silence_pcm16
from tests.omni_client import RATE, Session, call, run
from tests.server import Server

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
REMOTE_PARENT = "00f067aa0ba902b7"


class Collector:
    """An OTLP/HTTP trace receiver on 127.0.0.1: every span posted to ``/v1/traces``, flattened."""

    def __init__(self) -> None:
        self.spans: list[dict] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.add(request)
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def add(self, request: ExportTraceServiceRequest) -> None:
        for rs in request.resource_spans:
            resource = _attributes(rs.resource.attributes)
            for ss in rs.scope_spans:
                for s in ss.spans:
                    entry = {
                        "name": s.name,
                        "trace_id": s.trace_id.hex(),
                        "span_id": s.span_id.hex(),
                        "parent": s.parent_span_id.hex() or None,
                        "attributes": _attributes(s.attributes),
                        "events": [e.name for e in s.events],
                        "resource": resource,
                    }
                    with self.lock:
                        self.spans.append(entry)

    def wait_for(self, found, timeout: float = 30.0):  # noqa: ANN001, ANN201
        """Poll until ``found(spans)`` returns something truthy (export is batched, every 200 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                spans = list(self.spans)
            if result := found(spans):
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"spans never arrived; got {[(s['name'], s['attributes']) for s in spans]}")
            time.sleep(0.1)


def _attributes(kvs) -> dict:  # noqa: ANN001
    out = {}
    for kv in kvs:
        value = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None
    return out


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.http.shutdown()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, collector: Collector) -> Iterator[Server]:
    env = {
        "PYAI_LOG_FORMAT": "json",
        "PYAI_LOG_LEVEL": "info",
        "PYAI_OTEL_ENABLED": "1",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    server = Server(tmp_path_factory.mktemp("srv-obs"), env).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def key(srv: Server) -> dict:
    return srv.create_key(scopes="*")


def _log_entries(path: Path) -> list[dict]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is JSON: a plain one fails here


def test_json_logs_carry_request_and_org_ids_and_never_the_key(srv: Server, key: dict) -> None:
    api_key = key["api_key"]
    resp = httpx.get(srv.url + "/v1/me", headers={**srv.headers(api_key), "x-request-id": "req_logs_me"})
    assert resp.status_code == 200
    # a key where it must not be: in a path (the access log prints paths) and in a WebSocket query
    # string (uvicorn logs the upgrade's whole URL)
    assert httpx.get(f"{srv.url}/v1/nothing/{api_key}", headers={"x-request-id": "req_logs_path"}).status_code == 404

    async def stream_with_key_in_url() -> None:
        async with connect(f"{srv.ws_url}/v1/audio/transcriptions/stream?api_key={api_key}") as ws:
            await ws.send(b"\0\0" * 1600)

    run(stream_with_key_in_url())

    def access_line(rid: str) -> dict | None:
        found = [e for e in _log_entries(srv.log_path) if e.get("request_id") == rid and e["logger"] == "pyai.access"]
        return found[0] if found else None

    def upgrade_logged() -> bool:
        return any("WebSocket /v1/audio/transcriptions/stream?" in e["message"] for e in _log_entries(srv.log_path))

    deadline = time.monotonic() + 10
    while (me := access_line("req_logs_me")) is None or access_line("req_logs_path") is None or not upgrade_logged():
        assert time.monotonic() < deadline, srv.log_path.read_text()[-3000:]
        time.sleep(0.1)
    assert me["org_id"] == key["org_id"] and me["level"] == "INFO" and "/v1/me 200" in me["message"]
    assert {"timestamp", "level", "logger", "message", "request_id"} <= me.keys()
    assert "trace_id" not in me or len(me["trace_id"]) == 32
    assert "pyai_live_***" in access_line("req_logs_path")["message"]
    text = srv.log_path.read_text()
    assert api_key not in text and api_key.split(".")[-1] not in text


def _one(spans: list[dict], name: str, **attributes: object) -> dict | None:
    for s in spans:
        if s["name"] == name and all(s["attributes"].get(k) == v for k, v in attributes.items()):
            return s
    return None


def test_http_requests_are_gateway_spans_continuing_an_incoming_trace(
    srv: Server, key: dict, collector: Collector
) -> None:
    api_key = key["api_key"]
    traceparent = f"00-{TRACE_ID}-{REMOTE_PARENT}-01"
    headers = {**srv.headers(api_key), "traceparent": traceparent, "x-request-id": "req_trace_me"}
    resp = httpx.get(srv.url + "/v1/me", headers=headers)
    assert resp.status_code == 200
    pcm = silence_pcm16(0.2, 16000) + pcm16(flite_wav("Hello there."), 16000)
    resp = httpx.post(
        srv.url + "/v1/audio/transcriptions",
        headers=srv.headers(api_key),
        files={"file": ("a.wav", wav_header(16000, len(pcm)) + pcm)},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    resp = httpx.post(
        srv.url + "/v1/audio/speech", headers=srv.headers(api_key), json={"input": "Hi.", "voice": "stock_emma_en_us"}
    )
    assert resp.status_code == 200

    me = collector.wait_for(lambda spans: _one(spans, "gateway", **{"pyai.request_id": "req_trace_me"}))
    assert me["attributes"]["http.route"] == "/v1/me"
    assert me["trace_id"] == TRACE_ID and me["parent"] == REMOTE_PARENT
    assert me["attributes"]["http.request.method"] == "GET"
    assert me["attributes"]["http.response.status_code"] == 200
    assert me["attributes"]["pyai.org_id"] == key["org_id"]
    assert me["resource"]["service.name"] == "pyai-server"

    def child_of(route: str, name: str):  # noqa: ANN202
        def found(spans: list[dict]) -> tuple[dict, dict] | None:
            parent = _one(spans, "gateway", **{"http.route": route})
            child = parent and next((s for s in spans if s["name"] == name and s["parent"] == parent["span_id"]), None)
            return (parent, child) if child else None

        return found

    collector.wait_for(child_of("/v1/audio/transcriptions", "stt"))
    _, tts = collector.wait_for(child_of("/v1/audio/speech", "tts"))
    assert "first_audio" in tts["events"]
    for s in collector.spans:  # ids, never keys
        assert api_key not in json.dumps(s["attributes"], default=str)


def test_an_omni_turn_is_a_span_with_stt_brain_and_tts_children(srv: Server, key: dict, collector: Collector) -> None:
    question = silence_pcm16(0.3, RATE) + pcm16(flite_wav("What are your opening hours?"), RATE)

    async def body(s: Session) -> None:
        await s.until("agent.turn_end")  # the greeting
        mark = len(s.events)
        await s.say(question + silence_pcm16(1.5, RATE))
        await s.until("caller.final", after=mark)
        await s.until("agent.turn_end", after=mark)
        await s.ws.send(json.dumps({"type": "end"}))
        await s.until("call.ended")

    session, code = run(call(srv, key["api_key"], body, first={"type": "configure", "greeting": "Hi."}))
    assert code == 1000
    call_id = next(e for e in session.events if e["type"] == "call.ended")["call_id"]

    def turn_tree(spans: list[dict]) -> tuple[dict, dict, dict[str, dict]] | None:
        gateway = _one(spans, "gateway", **{"http.route": "/v1/omni"})
        if gateway is None:
            return None
        for turn in spans:
            if turn["name"] != "omni.turn" or turn["parent"] != gateway["span_id"]:
                continue
            children = {s["name"]: s for s in spans if s["parent"] == turn["span_id"]}
            if {"stt", "brain", "tts"} <= children.keys():
                return gateway, turn, children
        return None

    gateway, turn, children = collector.wait_for(turn_tree)
    assert gateway["attributes"]["pyai.org_id"] == key["org_id"]
    assert gateway["attributes"]["http.response.status_code"] == 101
    assert gateway["attributes"]["pyai.call_id"] == call_id
    assert turn["attributes"]["pyai.turn.status"] == "completed" and turn["attributes"]["pyai.utterance_id"]
    assert {s["trace_id"] for s in (gateway, turn, *children.values())} == {gateway["trace_id"]}
    assert "pyai.tts.first_audio_ms" in children["tts"]["attributes"]

    # the call's log lines name it
    if call_id:
        entries = _log_entries(srv.log_path)
        assert all(e.get("call_id") in (None, call_id) for e in entries)
