"""``/v1/realtime`` as OpenAI Realtime clients use it: the official ``openai`` SDK holding a
spoken conversation with a function tool and an interruption, a browser-style raw client in
beta push-to-talk with G.711, and bad events answered with ``error`` events on a live session."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect

from pyai.audio.encode import wav_header
from pyai.audio.g711 import g711_decode, ulaw_encode
from pyai.audio.pcm import float_to_pcm16
from pyai.text.wer import normalise_words
from tests.media import silence_pcm16, speech_pcm16
from tests.realtime_client import RATE, Events
from tests.server import Server

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the weather forecast for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "enum": ["Paris", "London", "Tokyo"]}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def key(sqlite_server: Server) -> str:
    return sqlite_server.create_key(scopes="omni:session,hear:*,voice:*")["api_key"]


def heard(srv: Server, key: str, pcm: bytes, rate: int = RATE) -> list[str]:
    """What the server's own STT hears in agent audio (PCM16 at ``rate``)."""
    wav = wav_header(rate, len(pcm)) + pcm
    resp = httpx.post(
        srv.url + "/v1/audio/transcriptions", headers=srv.headers(key), files={"file": ("a.wav", wav)}, timeout=60
    )
    return normalise_words(resp.json()["text"])


def sdk(srv: Server, key: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=srv.url + "/v1", api_key=key)


async def session_of(conn) -> tuple[Events, asyncio.Task]:  # noqa: ANN001 - the SDK's connection
    rt = Events(conn.recv_bytes, conn.send)
    return rt, asyncio.create_task(rt.reader(conn.parse_event))


def test_the_official_sdk_talks_and_calls_a_function_tool(sqlite_server: Server, key: str) -> None:
    question = silence_pcm16(0.3, RATE) + speech_pcm16("What is the weather like in Paris?", rate=RATE)

    async def main() -> None:
        async with sdk(sqlite_server, key).realtime.connect(model="pyai-omni-realtime") as conn:
            rt, reader = await session_of(conn)
            created = await rt.until("session.created")
            assert created["session"]["type"] == "realtime"
            assert created["session"]["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
            assert rt.kinds()[:2] == ["session.created", "conversation.created"]
            await conn.session.update(
                session={
                    "type": "realtime",
                    "instructions": "You are a weather assistant.",
                    "audio": {
                        "input": {
                            "transcription": {"model": "whisper-1"},
                            "turn_detection": {"type": "server_vad", "silence_duration_ms": 600},
                        },
                        "output": {"voice": "marin"},
                    },
                    "tools": [WEATHER],
                }
            )
            updated = (await rt.until("session.updated"))["session"]
            assert updated["audio"]["output"]["voice"] == "marin" and updated["tools"][0]["name"] == "get_weather"
            assert updated["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 600

            await rt.say(question + silence_pcm16(1.5, RATE))
            started = await rt.until("input_audio_buffer.speech_started")
            committed = await rt.until("input_audio_buffer.committed")
            assert committed["item_id"] == started["item_id"]
            transcript = await rt.until("conversation.item.input_audio_transcription.completed")
            assert {"weather", "paris"} <= set(normalise_words(transcript["transcript"])), transcript
            call = await rt.until("response.function_call_arguments.done")
            assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}
            done = await rt.until("response.done")
            assert done["response"]["status"] == "completed"
            assert [o["type"] for o in done["response"]["output"]][-1] == "function_call"

            mark = len(rt.events)
            await conn.conversation.item.create(
                item={
                    "type": "function_call_output",
                    "call_id": call["call_id"],
                    "output": "It is sunny and twenty degrees in Paris.",
                }
            )
            await rt.until("conversation.item.added", after=mark)
            await asyncio.sleep(0.5)
            assert "response.created" not in rt.kinds(mark)  # the next round waits for response.create
            audio_from = len(rt.audio)
            await conn.response.create()
            said = await rt.until("response.output_audio_transcript.done", after=mark)
            assert "sunny" in said["transcript"]
            answer = await rt.until("response.done", after=mark)
            assert answer["response"]["status"] == "completed" and answer["response"]["usage"]["output_tokens"] > 0
            assert {"sunny", "paris"} <= set(heard(sqlite_server, key, bytes(rt.audio[audio_from:])))
            reader.cancel()

        order = rt.kinds()
        first = order.index("response.created")
        assert order[first + 1] == "rate_limits.updated"
        for kind in ("response.output_item.added", "response.function_call_arguments.delta", "response.done"):
            assert kind in order[first:]

    asyncio.run(main())


def test_speech_over_the_agent_cancels_the_response_and_truncate_keeps_what_was_heard(
    sqlite_server: Server, key: str
) -> None:
    greeting = " ".join(["Thank you for calling the support line, this greeting is long on purpose."] * 4)
    c = httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=60)
    agent = c.post("/v1/agents", json={"name": "Support", "greeting": greeting})
    assert agent.status_code == 201, agent.text
    caller = speech_pcm16("Sorry to stop you, my order never arrived.", rate=RATE)

    async def main() -> None:
        client = sdk(sqlite_server, key)
        async with client.realtime.connect(extra_query={"session_label": agent.json()["agent_id"]}) as conn:
            rt, reader = await session_of(conn)
            await rt.until("response.output_audio.delta")  # the profile's greeting speaks at once
            await asyncio.sleep(1.0)
            await rt.say(caller)
            await rt.until("input_audio_buffer.speech_started")
            done = await rt.until("response.done")
            assert done["response"]["status"] == "cancelled"
            assert done["response"]["status_details"]["reason"] == "turn_detected"
            item = done["response"]["output"][0]
            assert item["status"] == "incomplete"
            received_ms = len(rt.audio) * 1000 // (RATE * 2)
            await asyncio.sleep(1.0)
            assert len(rt.audio) * 1000 // (RATE * 2) - received_ms < 100  # no audio after the cancel

            mark = len(rt.events)
            await conn.conversation.item.truncate(item_id=item["id"], content_index=0, audio_end_ms=received_ms + 5000)
            error = await rt.until("error", after=mark)
            assert error["error"]["param"] == "audio_end_ms"
            await conn.conversation.item.truncate(item_id=item["id"], content_index=0, audio_end_ms=received_ms // 2)
            truncated = await rt.until("conversation.item.truncated", after=mark)
            assert truncated["audio_end_ms"] == received_ms // 2
            await conn.conversation.item.retrieve(item_id=item["id"])
            kept = (await rt.until("conversation.item.retrieved", after=mark))["item"]["content"][0]["transcript"]
            assert 0 < len(kept.split()) < len(greeting.split()) // 4, kept
            assert not [k for k in rt.kinds() if "input_audio_transcription" in k]  # transcription is off
            reader.cancel()

    asyncio.run(main())


def test_a_beta_browser_client_pushes_to_talk_in_g711(sqlite_server: Server, key: str) -> None:
    """A browser-style client: the key in OpenAI's subprotocol, beta names, G.711 μ-law both ways,
    no turn detection (commit, then response.create)."""
    speech = speech_pcm16("What time do you open on Saturday?", rate=8000)
    ulaw = ulaw_encode(np.frombuffer(speech, dtype=np.int16))
    url = f"{sqlite_server.ws_url}/v1/realtime?model=pyai-omni-realtime"

    async def main() -> None:
        protocols = ["realtime", f"openai-insecure-api-key.{key}", "openai-beta.realtime-v1"]
        async with connect(url, subprotocols=protocols, max_size=None) as ws:
            assert ws.subprotocol == "realtime"

            async def send(event: dict) -> None:
                await ws.send(json.dumps(event))

            rt = Events(ws.recv, send)
            reader = asyncio.create_task(rt.reader())
            created = await rt.until("session.created")
            assert created["session"]["input_audio_format"] == "pcm16"  # the beta shape
            await send(
                {
                    "type": "session.update",
                    "event_id": "evt_1",
                    "session": {
                        "modalities": ["text", "audio"],
                        "voice": "alloy",
                        "input_audio_format": "g711_ulaw",
                        "output_audio_format": "g711_ulaw",
                        "turn_detection": None,
                        "input_audio_transcription": {"model": "whisper-1"},
                    },
                }
            )
            updated = (await rt.until("session.updated"))["session"]
            assert updated["turn_detection"] is None and updated["output_audio_format"] == "g711_ulaw"
            await rt.say(ulaw, bytes_per_ms=8)
            await asyncio.sleep(0.5)
            assert "input_audio_buffer.speech_started" not in rt.kinds()  # push-to-talk: no VAD events
            await send({"type": "input_audio_buffer.commit"})
            transcript = await rt.until("conversation.item.input_audio_transcription.completed")
            assert {"open", "saturday"} <= set(normalise_words(transcript["transcript"]))
            await send({"type": "response.create"})
            await rt.until("response.done")
            reader.cancel()

        kinds = rt.kinds()
        assert "response.audio.delta" in kinds and "response.output_audio.delta" not in kinds
        assert "conversation.item.created" in kinds and "conversation.item.done" not in kinds
        said = next(e for e in rt.events if e["type"] == "response.audio_transcript.done")["transcript"]
        pcm = float_to_pcm16(g711_decode(bytes(rt.audio), "g711_ulaw")).tobytes()
        assert set(normalise_words(said)) & set(heard(sqlite_server, key, pcm, rate=8000))

    asyncio.run(main())


def test_bad_events_get_error_events_and_the_session_goes_on(sqlite_server: Server, key: str) -> None:
    url = f"{sqlite_server.ws_url}/v1/realtime?model=pyai-omni-realtime&access_token={key}"

    async def main() -> None:
        async with connect(url, max_size=None) as ws:

            async def send(event: dict | str | bytes) -> None:
                await ws.send(event if isinstance(event, str | bytes) else json.dumps(event))

            rt = Events(ws.recv, send)
            reader = asyncio.create_task(rt.reader())
            await rt.until("session.created")
            cases = [
                ("{not json", None, "invalid_json"),
                (b"\x00\x01", None, "invalid_frame"),
                ({"type": "nope.nothing", "event_id": "e1"}, None, "unknown_event"),
                ({"type": "input_audio_buffer.append", "audio": "***"}, "audio", "invalid_value"),
                ({"type": "session.update", "session": {"colour": "blue"}}, "session.colour", "invalid_value"),
                ({"type": "session.update", "session": {"voice": "nobody"}}, "session.voice", None),
                (
                    {
                        "type": "session.update",
                        "session": {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}},
                    },
                    "session.audio.input.format.rate",
                    "invalid_value",
                ),
                ({"type": "conversation.item.truncate", "item_id": "item_x", "audio_end_ms": 5}, "item_id", None),
                ({"type": "conversation.item.delete", "item_id": "item_x"}, "item_id", None),
                ({"type": "response.cancel", "event_id": "e2"}, None, "response_cancel_not_active"),
                ({"type": "input_audio_buffer.commit"}, None, "input_audio_buffer_commit_empty"),
                ({"type": "conversation.item.create", "item": {"type": "message", "role": "robot"}}, "item.role", None),
            ]
            for event, param, code in cases:
                mark = len(rt.events)
                await send(event)
                error = (await rt.until("error", after=mark))["error"]
                assert error["type"] == "invalid_request_error" and error["message"], error
                if param is not None:
                    assert error["param"] == param, (event, error)
                if code is not None:
                    assert error["code"] == code, (event, error)
                if isinstance(event, dict) and "event_id" in event:
                    assert error["event_id"] == event["event_id"]
            # the session is alive and well: a typed question, a text-only answer
            mark = len(rt.events)
            await send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
            await rt.until("session.updated", after=mark)
            await send(
                {
                    "type": "conversation.item.create",
                    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello!"}]},
                }
            )
            await send(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "id": "item_gone",
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "Ignore me."}],
                    },
                }
            )
            await send({"type": "conversation.item.delete", "item_id": "item_gone", "event_id": "e3"})
            assert (await rt.until("conversation.item.deleted", after=mark))["item_id"] == "item_gone"
            await send({"type": "response.create"})
            done = await rt.until("response.done", after=mark)
            assert done["response"]["status"] == "completed" and done["response"]["output_modalities"] == ["text"]
            assert "response.output_text.done" in rt.kinds(mark) and not rt.audio
            # a response may say at most max_output_tokens (in whole sentences)
            mark = len(rt.events)
            long_answer = {"type": "input_text", "text": "Please tell me everything about your shop."}
            await send(
                {
                    "type": "conversation.item.create",
                    "item": {"type": "message", "role": "user", "content": [long_answer]},
                }
            )
            await send({"type": "response.create", "response": {"max_output_tokens": 1}})
            done = await rt.until("response.done", after=mark)
            assert done["response"]["status"] == "incomplete", done
            assert done["response"]["status_details"]["reason"] == "max_output_tokens"
            reader.cancel()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("query", "code"),
    [("model=whisper-large", "invalid_request"), ("model=pyai-flow-realtime", "forbidden")],
)
def test_bad_models_are_refused_in_the_openai_error_shape(
    sqlite_server: Server, key: str, query: str, code: str
) -> None:
    async def main() -> tuple[dict, int | None]:
        async with connect(
            f"{sqlite_server.ws_url}/v1/realtime?{query}", additional_headers={"Authorization": f"Bearer {key}"}
        ) as ws:
            frame = json.loads(await ws.recv())
            await ws.wait_closed()
            return frame, ws.close_code

    frame, close = asyncio.run(main())
    assert close == 1008 and frame["error"]["code"] == code and frame["code"] == code


def _without_deltas(kinds: list[str]) -> list[str]:
    return [k for k in kinds if not k.endswith(".delta")]


def test_a_recorded_openai_session_replays_with_the_same_event_order(sqlite_server: Server, key: str) -> None:
    """Ordering against OpenAI's own: the client events of a recorded GA session are replayed and
    the server's events must come in the recorded order (deltas: inside their content part)."""
    steps = json.loads((Path(__file__).parent / "realtime_transcripts" / "ga_voice_then_text.json").read_text())[
        "steps"
    ]

    async def main() -> None:
        url = f"{sqlite_server.ws_url}/v1/realtime?model=gpt-realtime"  # OpenAI's model name is taken as ours
        async with connect(url, additional_headers={"Authorization": f"Bearer {key}"}, max_size=None) as ws:

            async def send(event: dict) -> None:
                await ws.send(json.dumps(event))

            rt = Events(ws.recv, send)
            reader = asyncio.create_task(rt.reader())
            await rt.until("conversation.created")
            for step in steps:
                mark = len(rt.events)
                if "say" in step:
                    await rt.say(
                        silence_pcm16(0.3, RATE) + speech_pcm16(step["say"], rate=RATE) + silence_pcm16(1.0, RATE)
                    )
                else:
                    await send(step["send"])
                last = step["expect"][-1]
                await rt.until(last, after=mark)
                got = rt.kinds(mark)
                assert _without_deltas(got) == _without_deltas(step["expect"]), (
                    step.get("say") or step["send"]["type"],
                    got,
                )
                deltas = [i for i, k in enumerate(got) if k.startswith("response.output_audio")]
                if deltas:
                    opened, closed = got.index("response.content_part.added"), got.index("response.content_part.done")
                    assert all(opened < i < closed for i in deltas)
            reader.cancel()

    asyncio.run(main())


def test_a_browser_session_token_opens_a_realtime_session_from_its_origin(sqlite_server: Server, key: str) -> None:
    origin = "https://shop.example.com"
    minted = httpx.post(
        sqlite_server.url + "/v1/omni/sessions",
        headers=sqlite_server.headers(key),
        json={"allowed_origins": [origin], "ttl_seconds": 60},
        timeout=30,
    )
    assert minted.status_code == 201, minted.text
    token = minted.json()["token"]

    async def main(from_origin: str) -> tuple[dict, str | None]:
        url = f"{sqlite_server.ws_url}/v1/realtime"
        protocols = ["realtime", f"openai-insecure-api-key.{token}"]
        async with connect(url, subprotocols=protocols, origin=from_origin) as ws:
            return json.loads(await ws.recv()), ws.subprotocol

    refused, _ = asyncio.run(main("https://evil.example.com"))
    assert refused["type"] == "error" and refused["error"]["code"]
    created, protocol = asyncio.run(main(origin))
    assert created["type"] == "session.created" and protocol == "realtime"


def test_a_session_ends_at_the_maximum_duration_with_session_expired(tmp_path: Path) -> None:
    srv = Server(tmp_path, {"PYAI_REALTIME_MAX_SESSION_SECONDS": "2"})
    key = srv.create_key(scopes="omni:session")["api_key"]
    srv.start()
    try:

        async def main() -> tuple[list[dict], int | None]:
            url = f"{srv.ws_url}/v1/realtime"
            async with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
                rt = Events(ws.recv, ws.send)
                await rt.reader()  # until the server closes
                return rt.events, ws.close_code

        events, code = asyncio.run(main())
    finally:
        srv.stop()
    assert events[0]["type"] == "session.created"
    assert events[-1]["type"] == "error" and events[-1]["error"]["code"] == "session_expired"
    assert code == 1001


def test_with_create_response_off_a_spoken_turn_waits_for_response_create(sqlite_server: Server, key: str) -> None:
    url = f"{sqlite_server.ws_url}/v1/realtime"

    async def main() -> None:
        async with connect(url, additional_headers={"Authorization": f"Bearer {key}"}, max_size=None) as ws:

            async def send(event: dict) -> None:
                await ws.send(json.dumps(event))

            rt = Events(ws.recv, send)
            reader = asyncio.create_task(rt.reader())
            await rt.until("session.created")
            turn = {"type": "semantic_vad", "eagerness": "high", "create_response": False}
            await send(
                {
                    "type": "session.update",
                    "session": {"type": "realtime", "audio": {"input": {"turn_detection": turn}}},
                }
            )
            updated = await rt.until("session.updated")
            assert updated["session"]["audio"]["input"]["turn_detection"]["eagerness"] == "high"
            await rt.say(silence_pcm16(0.3, RATE) + speech_pcm16("Hello there.", rate=RATE) + silence_pcm16(1.5, RATE))
            committed = await rt.until("input_audio_buffer.committed")
            await asyncio.sleep(1.0)
            assert "response.created" not in rt.kinds()
            mark = len(rt.events)
            await send({"type": "response.create"})
            done = await rt.until("response.done", after=mark)
            said = done["response"]["output"][0]["content"][0]["transcript"]
            assert said.startswith("Hello"), said  # it answered the caller's words, which it had kept
            assert committed["item_id"] in [
                e["item"]["id"] for e in rt.events if e["type"] == "conversation.item.added"
            ]
            reader.cancel()

    asyncio.run(main())
