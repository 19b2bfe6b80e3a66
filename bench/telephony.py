"""Telephony benchmark: phone calls over the Twilio Media Streams bridge at 8 kHz µ-law, timed as
the caller hears them —

- connect (the stream's ``start``) → first greeting audio;
- voice-to-voice: end of the caller's speech → first agent audio of the answer;
- barge-in: start of caller speech over the agent → the last agent audio frame sent (the agent
  pauses at speech onset), and → Twilio told to ``clear`` its buffer (once the speech is known not
  to be a backchannel);

with the embedded brain answering from a small knowledge base (the questions of bench/omni.py).
Starts its own server and a local Twilio double (the voice webhook is signed as Twilio signs
it); caller speech is flite's voice, µ-law, 20 ms frames at real-time pace. ``--calls N`` holds
N calls at once (staggered by a second).

Usage: ``.venv/bin/python bench/telephony.py [--turns 6] [--calls 1]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import httpx
import numpy as np
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.media import speech_pcm16  # noqa: E402
from tests.server import Server  # noqa: E402
from tests.twilio_double import TwilioDouble  # noqa: E402

from bench.omni import FAQ, QUESTIONS, pct, staggered_calls  # noqa: E402
from pyai.audio.g711 import ulaw_encode  # noqa: E402
from pyai.telephony.twilio_signature import sign  # noqa: E402

RATE = 8000
FRAME = 160  # 20 ms of µ-law
SILENCE = base64.b64encode(b"\xff" * FRAME).decode()
NUMBER = "+14155550123"


def ulaw_clip(text: str) -> tuple[bytes, float, float]:
    """µ-law speech and (first, last) second of the voice in it (above -40 dBFS)."""
    pcm = np.frombuffer(speech_pcm16(text, rate=RATE), dtype=np.int16)
    loud = np.nonzero(np.abs(pcm) > 32768 * 10 ** (-40 / 20))[0]
    return ulaw_encode(pcm), loud[0] / RATE, loud[-1] / RATE


async def one_call(srv: Server, twilio: TwilioDouble, turns: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {
        "greeting": [],
        "voice_to_voice": [],
        "barge_in: agent audio stops": [],
        "barge_in: → clear": [],
    }
    clips = [ulaw_clip(q) for q in QUESTIONS]
    sid = twilio.add_call()
    form = {"CallSid": sid, "AccountSid": twilio.account_sid, "From": "+12125550100", "To": NUMBER}
    url = f"{srv.url}/v1/telephony/twilio/voice"
    answer = httpx.post(url, data=form, headers={"X-Twilio-Signature": sign(twilio.auth_token, url, form)}, timeout=30)
    stream = ElementTree.fromstring(answer.text).find("./Connect/Stream")
    assert stream is not None, answer.text
    media: list[float] = []  # arrival times of agent audio frames
    clears: list[float] = []
    async with connect(stream.attrib["url"]) as ws:

        async def reader() -> None:
            async for message in ws:
                event = json.loads(message)["event"]
                (media if event == "media" else clears if event == "clear" else []).append(time.monotonic())

        task = asyncio.create_task(reader())

        async def send(payload: str) -> None:
            await ws.send(json.dumps({"event": "media", "streamSid": "MZb", "media": {"payload": payload}}))
            await asyncio.sleep(0.02)

        async def say(clip: bytes, first: float, last: float) -> tuple[float, float]:
            start = end = 0.0
            for j in range(0, len(clip), FRAME):
                at, now = j / RATE, time.monotonic()
                start = start or (now if at + 0.02 > first else 0.0)
                end = end or (now if at + 0.02 > last else 0.0)
                await send(base64.b64encode(clip[j : j + FRAME]).decode())
            return start, end or time.monotonic()

        async def quiet_until(done: object, limit: float = 30) -> None:
            deadline = time.monotonic() + limit
            while not done() and time.monotonic() < deadline:  # type: ignore[operator]
                await send(SILENCE)

        t0 = time.monotonic()
        start = {"streamSid": "MZb", "callSid": sid, "customParameters": {"token": stream[0].attrib["value"]}}
        await ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZb", "start": start}))
        await quiet_until(lambda: bool(media))
        out["greeting"].append(media[0] - t0)
        await quiet_until(lambda: media and time.monotonic() - media[-1] > 0.6)  # the greeting has played
        for i in range(turns):
            clip, first, last = clips[i % len(clips)]
            heard = len(media)
            _, spoken_end = await say(clip, first, last)
            await quiet_until(lambda heard=heard: len(media) > heard + 5)
            answer_start = next((t for t in media[heard:] if t > spoken_end), None)
            if answer_start is not None:
                out["voice_to_voice"].append(answer_start - spoken_end)
            await asyncio.sleep(0.3)  # barge in just after the answer begins
            cleared = len(clears)
            barge_start, _ = await say(clips[0][0][: len(clips[0][0]) // 2], clips[0][1], 1e9)
            await quiet_until(lambda cleared=cleared: len(clears) > cleared, 5)
            if len(clears) > cleared:
                out["barge_in: → clear"].append(max(0.0, clears[cleared] - barge_start))
                sent = [t for t in media if barge_start <= t <= clears[cleared]]
                out["barge_in: agent audio stops"].append(max(sent, default=barge_start) - barge_start)
            await quiet_until(lambda: media and time.monotonic() - media[-1] > 0.6)  # let the turn settle
        await ws.send(json.dumps({"event": "stop", "streamSid": "MZb", "stop": {"callSid": sid}}))
        await asyncio.wait_for(task, 30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--calls", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, TwilioDouble() as twilio:
        srv = Server(Path(tmp), {"PYAI_RATE_LIMIT_RPS": "1000", "PYAI_RATE_LIMIT_BURST": "1000"})
        key = srv.create_key(scopes="telephony:manage,omni:session,hear:*")
        creds = ["--account-sid", twilio.account_sid, "--auth-token", twilio.auth_token, "--api-base", twilio.url]
        srv.cli("telephony", "carrier", "set", key["org_id"], "twilio", *creds)
        srv.start()
        try:
            c = httpx.Client(base_url=srv.url, headers=srv.headers(key["api_key"]), timeout=60)
            kb = c.post("/v1/knowledge-bases", json={"name": "FAQ"}).json()["id"]
            c.post(f"/v1/knowledge-bases/{kb}/documents", files={"file": ("faq.md", FAQ.encode())})
            agent = c.post("/v1/agents", json={"name": "Store", "knowledge_base_id": kb}).json()["agent_id"]
            c.post("/v1/telephony/numbers", json={"phone_number": NUMBER, "agent_id": agent}).raise_for_status()
            results = asyncio.run(staggered_calls(args.calls, lambda: one_call(srv, twilio, args.turns)))
        finally:
            srv.stop()
    print(f"# {date.today()}, {platform.machine()}, Twilio bridge (µ-law 8 kHz), embedded brain, ")
    print(f"{args.calls} call(s) at once, {args.turns} turns each\n")
    print("| measure | n | p50 ms | p95 ms |\n| --- | ---: | ---: | ---: |")
    for name, values in results.items():
        if values:
            print(f"| {name} | {len(values)} | {pct(values, 50) * 1000:.0f} | {pct(values, 95) * 1000:.0f} |")


if __name__ == "__main__":
    main()
