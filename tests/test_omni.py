"""Omni conversations over a real WebSocket, as a client would hold them: the greeting (heard
back through the server's STT), a spoken question answered from the agent's knowledge, barge-in,
a goodbye that ends the call after it has played, the deprecated alias, and bad frames."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from pyai.audio.encode import wav_header
from pyai.text.wer import normalise_words
from tests.media import flite_wav, pcm16, silence_pcm16, speech_pcm16
from tests.omni_client import RATE, Session, call, run
from tests.server import Server

FAQ = """# Opening hours

We are open Monday to Friday from nine in the morning until six in the evening.
On Saturday the store opens at ten and closes at four. We are closed on Sunday.
"""


@pytest.fixture(scope="module")
def key(sqlite_server: Server) -> str:
    return sqlite_server.create_key(scopes="omni:session,hear:*,voice:*")["api_key"]


@pytest.fixture(scope="module")
def kb_id(sqlite_server: Server, key: str) -> str:
    c = httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=60)
    kb = c.post("/v1/knowledge-bases", json={"name": "FAQ"}).json()["id"]
    c.post(f"/v1/knowledge-bases/{kb}/documents", files={"file": ("faq.md", FAQ.encode())}).raise_for_status()
    return kb


def heard(srv: Server, key: str, pcm: bytes) -> str:
    wav = wav_header(RATE, len(pcm)) + pcm
    resp = httpx.post(
        srv.url + "/v1/audio/transcriptions", headers=srv.headers(key), files={"file": ("a.wav", wav)}, timeout=60
    )
    return resp.json()["text"]


def test_greeting_then_a_spoken_question_answered_from_knowledge_then_goodbye(
    sqlite_server: Server, key: str, kb_id: str
) -> None:
    question = silence_pcm16(0.3, RATE) + pcm16(flite_wav("What time does the store open on Saturday?"), RATE)

    async def body(s: Session) -> None:
        ready = await s.until("session.ready")
        assert ready["rate"] == RATE and ready["protocol"] == 1 and ready["session_id"].startswith("omni_")
        end = await s.until("agent.audio_end")
        greeting_audio = bytes(s.audio)
        assert "help" in normalise_words(heard(sqlite_server, key, greeting_audio))
        mark = len(s.events)
        await s.say(question + silence_pcm16(2.0, RATE))
        final = await s.until("caller.final", after=mark)
        assert {"saturday", "open"} <= set(normalise_words(final["text"])), final
        answer = await s.until("agent.text", after=mark)
        assert "ten" in answer["text"], answer
        await s.until("agent.audio_end", after=mark)
        mark = len(s.events)
        await s.ws.send(json.dumps({"type": "text", "text": "Thanks, that's all. Goodbye."}))
        ended = await s.until("call.ended", after=mark)
        assert ended["reason"] == "agent_end_call"
        assert end["audio_ms"] > 500

    first = {"type": "configure", "knowledge_base_id": kb_id, "voice": "stock_emma_en_us"}
    session, code = run(call(sqlite_server, key, body, first=first))
    kinds = session.kinds()
    assert code == 1000 and kinds[-2:] == ["call.ended", "usage"]
    assert kinds.index("agent.text") < kinds.index("agent.audio_start") < kinds.index("agent.audio_end")
    assert session.before_audio is not None and session.before_audio[-1] == "agent.audio_start"
    assert session.events[-1]["meter"] == "omni.minutes" and session.events[-1]["seconds"] > 0


def test_caller_speech_over_the_agent_interrupts_it(sqlite_server: Server, key: str) -> None:
    greeting = " ".join(["Thank you for calling the support line, this is a long greeting."] * 4)
    caller = pcm16(flite_wav("Sorry, I need to stop you there, my order never arrived."), RATE)

    async def body(s: Session) -> None:
        await s.until("agent.audio_start")
        await asyncio.sleep(1.0)  # let a second of the greeting play
        await s.say(caller)
        interruption = await s.until("interruption")
        assert 0 < len(interruption["heard_text"]) < len(greeting)
        received = len(s.audio)
        await asyncio.sleep(1.0)
        assert len(s.audio) - received < RATE * 2 * 0.3  # the rest of the greeting never came
        await s.ws.send(json.dumps({"type": "end"}))
        await s.until("call.ended")

    session, code = run(call(sqlite_server, key, body, first={"type": "configure", "greeting": greeting}))
    assert code == 1000 and "interruption" in session.kinds()


def test_the_deprecated_alias_works_and_says_so(sqlite_server: Server, key: str) -> None:
    async def body(s: Session) -> None:
        await s.until("session.ready")
        notice = await s.until("deprecation")
        assert notice["successor"] == "/v1/omni"
        await s.ws.send(json.dumps({"type": "end"}))
        await s.until("call.ended")

    _, code = run(call(sqlite_server, key, body, path="/v2/omni/chat"))
    assert code == 1000


def test_bad_frames_get_clear_errors_and_the_call_goes_on(sqlite_server: Server, key: str) -> None:
    async def body(s: Session) -> None:
        await s.until("session.ready")
        await s.ws.send("{not json")
        assert (await s.until("error"))["code"] == "invalid_json"
        mark = len(s.events)
        await s.ws.send(b"\x00\x01\x02")  # a torn PCM16 frame
        assert (await s.until("error", after=mark))["code"] == "invalid_audio"
        mark = len(s.events)
        await s.ws.send(json.dumps({"type": "dance"}))
        assert (await s.until("error", after=mark))["code"] == "invalid_frame"
        await s.ws.send(json.dumps({"type": "end"}))
        await s.until("call.ended")

    _, code = run(call(sqlite_server, key, body))
    assert code == 1000


@pytest.mark.parametrize(
    ("query", "first", "code"),
    [
        ("rate=44100", None, "invalid_request"),
        ("rate=16000", {"type": "configure", "volume": 11}, "invalid_config"),
        ("rate=16000", {"type": "configure", "voice": "stock_nobody_en_xx"}, "invalid_config"),
    ],
)
def test_bad_parameters_close_the_session_with_1008(
    sqlite_server: Server, key: str, query: str, first: dict | None, code: str
) -> None:
    async def go() -> tuple[list[dict], int | None]:
        frames = []
        url = f"{sqlite_server.ws_url}/v1/omni?{query}"
        async with connect(url, subprotocols=[f"pyai-key.{key}"]) as ws:
            if first:
                await ws.send(json.dumps(first))
            try:
                async for message in ws:
                    if isinstance(message, str):
                        frames.append(json.loads(message))
            except ConnectionClosed:
                pass
        return frames, ws.close_code

    frames, close = run(go())
    assert close == 1008 and frames[-1]["type"] == "error" and frames[-1]["code"] == code, frames


def test_an_agent_profile_named_by_session_label_configures_the_call(sqlite_server: Server, key: str) -> None:
    c = httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=60)
    profile = {"name": "Front desk", "greeting": "Welcome to Acme Hardware.", "voice_id": "stock_grace_en_us"}
    agent = c.post("/v1/agents", json=profile)
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["agent_id"]

    async def body(s: Session) -> None:
        ready = await s.until("session.ready")
        assert ready["agent_id"] == agent_id and ready["voice"] == "stock_grace_en_us"
        assert (await s.until("agent.text"))["text"] == "Welcome to Acme Hardware."
        await s.ws.send(json.dumps({"type": "end"}))
        await s.until("call.ended")

    _, code = run(call(sqlite_server, key, body, query=f"session_label={agent_id}"))
    assert code == 1000
    other = sqlite_server.create_key(scopes="omni:session")["api_key"]  # another org: the id is just a label

    async def stranger(s: Session) -> None:
        ready = await s.until("session.ready")
        assert ready["agent_id"] is None
        assert (await s.until("agent.text"))["text"] != "Welcome to Acme Hardware."
        await s.ws.send(json.dumps({"type": "end"}))
        await s.until("call.ended")

    _, code = run(call(sqlite_server, other, stranger, query=f"session_label={agent_id}"))
    assert code == 1000


def test_a_call_whose_units_run_out_ends_cleanly_and_says_why(sqlite_server: Server) -> None:
    """A test key capped at 3 units a day: the call is held 3 s, then ends with call.ended
    (credit_exhausted) and the gateway's error, closed 4429; a new call is refused at once."""
    capped = sqlite_server.create_key(env="test", scopes="omni:session", daily_cap=3)["api_key"]

    async def body(s: Session) -> None:
        await s.until("session.ready")
        ended = await s.until("call.ended", timeout=60)
        assert ended["reason"] == "credit_exhausted"
        await asyncio.wait_for(s.closed.wait(), 30)

    session, code = run(call(sqlite_server, capped, body))
    assert code == 4429 and session.events[-1]["type"] == "error", session.events
    assert session.events[-1]["code"] == "daily_cap_exceeded"
    assert session.events[-1 - 1]["type"] == "call.ended"

    async def refused(s: Session) -> None:
        await asyncio.wait_for(s.closed.wait(), 30)

    session, code = run(call(sqlite_server, capped, refused))
    assert code == 4429 and session.kinds() == ["error"]


def test_an_agent_profiles_keyterms_bias_what_the_agent_hears(sqlite_server: Server, key: str) -> None:
    """Whisper does not know the word "Zyntrax"; the profile's keyterms make it one (the Hear tests
    show the same audio without them does not come out as "Zyntrax")."""
    c = httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=60)
    agent = c.post("/v1/agents", json={"name": "Routing", "greeting": "", "keyterms": ["Okonkwo", "Zyntrax"]})
    assert agent.status_code == 201, agent.text
    spoken = silence_pcm16(0.3, RATE) + speech_pcm16("Please transfer me to Zyntrax support.", rate=RATE)

    async def body(s: Session) -> None:
        await s.until("session.ready")
        await s.say(spoken + silence_pcm16(2.0, RATE))
        final = await s.until("caller.final")
        assert "Zyntrax" in final["text"], final
        await s.ws.send(json.dumps({"type": "end"}))

    _, code = run(call(sqlite_server, key, body, query=f"session_label={agent.json()['agent_id']}"))
    assert code == 1000
