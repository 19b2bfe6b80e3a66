"""The browser playground (``/playground``): its routes over HTTP, and one real call from the page in
headless Chromium, whose fake microphone plays a question spoken by flite.

The server of this module lends the page a key (``PYAI_PLAYGROUND_KEY``), so the browser test runs
the server-minted token mode; the shared SQLite server has none, which is the 404 case. The disabled
case needs no server: the app is built in-process and asked directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient

from pyai.app import create_app
from pyai.audio.encode import wav_header
from pyai.settings import Settings
from pyai.text.wer import normalise_words
from tests.contract import assert_error, assert_problem
from tests.media import silence_pcm16, speech_pcm16
from tests.server import Server

CHROMIUM = Path("/usr/bin/chromium")
RATE = 24000
QUESTION = "What are your opening hours?"
GREETING = "Hello, you are talking to the playground agent."
VOICE = "stock_emma_en_us"
SESSION = "/playground/session"
FOREIGN = "https://evil.example.com"
WAIT_MS = 90_000  # two loaded cores: the first call warms the recogniser and the voice


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A SQLite server whose playground key is an ``omni:session`` key of its own; (server, key)."""
    srv = Server(tmp_path_factory.mktemp("srv-playground"))
    key = srv.create_key(scopes="omni:session")["api_key"]  # the CLI works on the data dir before start
    srv.env["PYAI_PLAYGROUND_KEY"] = key
    srv.start()
    yield srv, key
    srv.stop()


def test_disabled_playground_is_a_404_and_never_in_the_schema(tmp_path: Path) -> None:
    """Built in-process: the routes read only ``settings`` from the services, so a stand-in is enough
    (building the real services would load the speech engines for nothing)."""
    for enabled in (False, True):
        settings = Settings(playground_enabled=enabled, data_dir=tmp_path)
        app = create_app(settings)
        app.state.services = SimpleNamespace(settings=settings)
        client = TestClient(app)
        for path in ("/playground", "/playground/playground.js", "/playground/capture-worklet.js"):
            resp = client.get(path)
            assert resp.status_code == (200 if enabled else 404), (enabled, path, resp.text)
        resp = client.post(SESSION, headers={"Origin": "http://testserver"})
        assert resp.status_code == 404
        assert resp.json()["type"].endswith("/playground_key_not_set" if enabled else "/not_found"), resp.text
        assert not [path for path in app.openapi()["paths"] if path.startswith("/playground")]


def test_the_page_loads_without_a_key_and_mints_only_for_its_own_origin(playground: tuple[Server, str]) -> None:
    srv, key = playground
    page = httpx.get(srv.url + "/playground")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for name in ("playground.js", "capture-worklet.js"):
        script = httpx.get(f"{srv.url}/playground/{name}")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert not [p for p in httpx.get(srv.url + "/openapi.json").json()["paths"] if p.startswith("/playground")]

    for headers in ({"Origin": FOREIGN}, {}, {"Origin": "null"}, {"Origin": srv.url.replace("127.0.0.1", "localhost")}):
        resp = httpx.post(srv.url + SESSION, headers=headers)
        assert_error(resp, 403, "origin_not_allowed")

    resp = httpx.post(srv.url + SESSION, headers={"Origin": srv.url})  # no body: no agent
    assert resp.status_code == 201, resp.text
    session = resp.json()
    assert session["token"].startswith("pyai_live_sess_") and session["allowed_origins"] == [srv.url]
    assert session["session_label"] is None and resp.headers["cache-control"] == "no-store"
    resp = httpx.post(srv.url + SESSION, headers={"Origin": srv.url}, json={"agent_id": "agent_x"})
    assert resp.status_code == 201 and resp.json()["session_label"] == "agent_x", resp.text
    body = assert_problem(
        httpx.post(srv.url + SESSION, headers={"Origin": srv.url}, json={"voice": "x"}), 400, "invalid_request"
    )
    assert body["param"] == "voice", body

    # the pickers' lists come from the server's key
    agents = httpx.get(srv.url + "/playground/agents")
    assert agents.status_code == 200 and agents.json()["object"] == "list", agents.text
    voices = httpx.get(srv.url + "/playground/voices").json()["data"]
    assert_error(httpx.get(srv.url + "/playground/voices", headers={"Origin": FOREIGN}), 403, "origin_not_allowed")
    assert voices and all(v["avatar_url"] for v in voices if v["source"] == "stock")
    # the minted token is still a token: no REST route takes it
    token = session["token"]
    resp = httpx.get(srv.url + "/v1/agents", headers={"Authorization": f"Bearer {token}", "Origin": srv.url})
    assert_error(resp, 403, "forbidden")
    assert key not in page.text + agents.text


def test_without_a_playground_key_the_page_must_be_given_one(sqlite_server: Server) -> None:
    for method, path in (("POST", SESSION), ("GET", "/playground/agents"), ("GET", "/playground/voices")):
        resp = httpx.request(method, sqlite_server.url + path, headers={"Origin": sqlite_server.url})
        body = assert_problem(resp, 404, "playground_key_not_set")
        assert "PYAI_PLAYGROUND_KEY" in body["detail"], body
    assert httpx.get(sqlite_server.url + "/playground").status_code == 200


def _fake_microphone(path: Path) -> Path:
    """Silence while the greeting plays, the question, then silence for the answer (Chromium loops it)."""
    pcm = silence_pcm16(5.0, RATE) + speech_pcm16(QUESTION, rate=RATE) + silence_pcm16(5.0, RATE)
    path.write_bytes(wav_header(RATE, len(pcm)) + pcm)
    return path


def test_a_call_from_the_page_in_headless_chromium(playground: tuple[Server, str], tmp_path: Path) -> None:
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it is in the 'test' extra: pip install -e '.[test]')")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (scripts/setup.sh does)")
    srv, key = playground
    agent = httpx.post(
        srv.url + "/v1/agents", headers=srv.headers(key), json={"name": "Playground", "greeting": GREETING}
    )
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["agent_id"]
    mic = _fake_microphone(tmp_path / "question.wav")
    args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    console: list[str] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            page = browser.new_page()
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))

            def wait(condition: str, what: str) -> None:
                try:
                    page.wait_for_function(condition, timeout=WAIT_MS)
                except PlaywrightError:
                    state = page.evaluate("() => JSON.stringify(window.playground)")
                    raise AssertionError(f"{what}; page state: {state[:4000]}; console: {console[-20:]}") from None

            page.goto(srv.url + "/playground")
            wait("() => window.playground && window.playground.ready", "the page never loaded its pickers")
            assert page.evaluate("() => window.playground.serverKey"), console
            page.select_option("#agent", agent_id)
            page.select_option("#voice", VOICE)
            wait("() => document.getElementById('voice-avatar').naturalWidth > 0", "the voice's avatar did not load")
            page.click("#connect")
            wait("() => window.playground.sessionId !== null", "the page never got session.ready")
            wait(
                "() => window.playground.events.some(e => e.type === 'agent.text')",
                "the agent's greeting never arrived",
            )
            wait("() => window.playground.agentAudioMs > 0", "no agent audio was played")
            wait(
                "() => window.playground.events.some(e => e.type === 'caller.final' && /hour/i.test(e.text))",
                "the caller's question was not transcribed",
            )
            wait("() => window.playground.latencies.length > 0", "the agent never answered the question")
            page.click("#hangup")
            wait("() => window.playground.closed", "hanging up did not end the call")
            state = json.loads(page.evaluate("() => JSON.stringify(window.playground)"))

            # the other mode: a pasted key lists the pickers and mints the token from the page itself
            page.fill("#api-key", key)
            page.click("#load")
            wait("() => window.playground.pickers === 'key'", "the pasted key did not load the pickers")
            page.select_option("#agent", agent_id)
            page.click("#connect")
            readies = "window.playground.events.filter(e => e.type === 'session.ready')"
            wait(f"() => {readies}.length === 2", "a call with a pasted key never started")
            assert page.evaluate(f"() => [window.playground.mode, {readies}[1].agent_id]") == ["key", agent_id]
            page.click("#hangup")
            wait("() => window.playground.closed && window.playground.closeCode === 1000", "the second call hung on")
        finally:
            browser.close()

    events = state["events"]
    ready = next(e for e in events if e["type"] == "session.ready")
    assert ready["agent_id"] == agent_id and ready["voice"] == VOICE and ready["rate"] == RATE, ready
    assert state["mode"] == "server" and state["closeCode"] == 1000 and state["error"] is None, state["error"]
    greeting = next(e for e in events if e["type"] == "agent.text")
    assert "playground" in normalise_words(greeting["text"]), greeting
    final = next(e for e in events if e["type"] == "caller.final" and "hour" in e["text"].lower())
    assert {"opening", "hours"} <= set(normalise_words(final["text"])), final
    assert any(t["role"] == "caller" and t["final"] and t["text"] == final["text"] for t in state["transcript"])
    assert 0 < state["latencies"][0]["ms"] < 30_000, state["latencies"]
    assert state["micFramesSent"] > 50 and state["agentAudioMs"] > 500, state
    assert [e["type"] for e in events][-2:] == ["call.ended", "usage"]
    assert not [line for line in console if line.startswith("pageerror")], console
