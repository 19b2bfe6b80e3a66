"""Every ``/v1/omni`` session leaves a record: :class:`CallRecorder`, fed by the session adapter.

The adapter creates one recorder per session once the session is configured and tells it what
happens, without ever waiting for it:

- :meth:`CallRecorder.stamp` then :meth:`CallRecorder.on_event` for each server event it sends
  (``stamp`` adds ``call_id`` and ``duration_ms`` to ``call.ended`` before it goes out);
- :meth:`CallRecorder.on_caller_audio` for each frame of caller audio it accepted, and
  :meth:`CallRecorder.on_agent_audio` for each frame of agent audio it sent;
- :meth:`CallRecorder.on_tool_result` for a client tool's outcome (no event carries it);
- :meth:`CallRecorder.start` right after the session opened, :meth:`CallRecorder.fail` when the
  session fails, and :meth:`CallRecorder.finish` once the session is over, however it ended.

No method raises: a recorder that fails logs it and the call goes on (at worst without its record
or recording).

**Record.** ``start`` writes an ``in_progress`` row and then rewrites its ``updated_at`` (and the
turns so far) every :data:`HEARTBEAT_S`; ``finish`` completes it: status, end reason, duration,
the turns as heard (an interrupted agent turn keeps only the words played before the cut; a turn
thought of but never voiced is not part of the transcript), the tool calls (name, kind, status,
latency — never arguments or results), the summary (:mod:`pyai.omni.call_summary`), and the
post-call extraction job (:mod:`pyai.omni.call_extraction`) when the agent asks for one. A record
whose heartbeat stopped more than :data:`STALE_AFTER_MS` ago belongs to a session that died with
its server; :func:`reap_stale` ends it as ``failed`` (``server_error``).

**Recording** (``recordings_enabled``): stereo PCM16 WAV at the session's rate, caller left, agent
right, as the caller heard it — the adapter stops sending agent audio at an interruption, so the
cut-offs are in it. Times are the session's clock (``time.monotonic()`` since it opened): each
chunk goes at its wall-clock position (a caller frame *ends* when it arrives, an agent frame
*starts* when it is sent), or right after the channel's previous chunk when that is later or less
than :data:`JITTER_MS` earlier (network and timer jitter must not cut gaps into speech). Each
channel is written as it comes to its own temporary file (a gap is a hole, read back as zeros),
and the two are interleaved into the WAV ten seconds at a time at the end, so an hour-long call
(~350 MB at 24 kHz) never sits in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.omni.call_extraction import enqueue_extraction
from pyai.omni.call_summary import summarize
from pyai.omni.llm_summary import llm_summary
from pyai.store.ids import new_id, now_ms
from pyai.store.omni_models import Agent, OmniCall
from pyai.store.tenancy import owned

log = logging.getLogger("pyai.omni.calls")

LIVE, COMPLETED, FAILED = "in_progress", "completed", "failed"
#: How often a live session rewrites its record's ``updated_at`` (and the turns so far).
HEARTBEAT_S = 30.0
#: A live record not rewritten for this long has no session left on any replica.
STALE_AFTER_MS = 5 * 60_000
STALE_ERROR = "The session stopped without completing its record (its server stopped or lost the database)."
FAILED_ERROR = "The agent failed; the call was closed."
#: A chunk arriving up to this much later than its channel's end still follows on without a gap.
JITTER_MS = 100
#: WAV sizes are 32-bit: recording stops at the last stereo frame that fits.
MAX_WAV_FRAMES = (2**32 - 1 - 44) // 4
#: Bounds on what one record keeps (a pathological session cannot grow a row without end).
MAX_TURNS = 5000
MAX_TOOL_CALLS = 2000


def recording_key(call_id: str) -> str:
    return f"omni/calls/{call_id}/recording.wav"


class _Track:
    """One channel of the recording: raw PCM16 in a temporary file, placed on the session clock."""

    def __init__(self, path: Path, rate: int) -> None:
        self.path = path
        self.file = open(path, "wb", buffering=1 << 16)  # noqa: SIM115 - closed by close()
        self.end = 0  # samples: where the channel's last chunk ended
        self.slack = rate * JITTER_MS // 1000

    def place(self, pcm: bytes, at: int) -> None:
        """``pcm`` starting at sample ``at`` of the session, or at the channel's end when that is later
        or within the jitter allowance."""
        pos = self.end if at <= self.end + self.slack else at
        n = min(len(pcm) // 2, MAX_WAV_FRAMES - pos)
        if n <= 0:
            return
        if pos != self.end:
            self.file.seek(pos * 2)  # a hole: reads back as silence
        self.file.write(pcm if n * 2 == len(pcm) else pcm[: n * 2])
        self.end = pos + n

    def close(self) -> None:
        self.file.close()


def _write_wav(left: _Track, right: _Track, rate: int, out: Path) -> int:
    """Interleave two closed tracks into a stereo WAV at ``out``; returns its frames."""
    total = max(left.end, right.end)
    block = rate * 10
    with wave.open(str(out), "wb") as w, open(left.path, "rb") as lf, open(right.path, "rb") as rf:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.setnframes(total)
        for start in range(0, total, block):
            n = min(block, total - start)
            frames = np.zeros((n, 2), dtype="<i2")
            for channel, f in enumerate((lf, rf)):
                data = np.frombuffer(f.read(n * 2), dtype="<i2")
                frames[: len(data), channel] = data
            w.writeframes(frames.tobytes())
    return total


class CallRecorder:
    """The record (and, when enabled, the recording) of one Omni session."""

    def __init__(
        self,
        services: Any,
        org_id: str,
        *,
        session_label: str | None,
        agent_id: str | None,
        rate: int,
        started: float,
        recording: bool = False,
    ) -> None:
        self.services, self.org_id = services, org_id
        self.call_id = new_id("call")
        self.label, self.agent_id, self.rate = session_label, agent_id, rate
        self.started = started  # time.monotonic() when the session opened: t = 0 of turns and recording
        self.started_at = now_ms() - int((time.monotonic() - started) * 1000)
        self.turns: list[dict] = []
        self.tools: list[dict] = []
        self.end_reason: str | None = None
        self.ended_ms: int | None = None
        self.goals: list[str] = []
        self.brain_model: str | None = None  # the profile's: it writes the summary too
        self.extraction: tuple[dict, str] | None = None  # the agent's (schema, webhook URL)
        self.phone: dict | None = None  # a phone call's numbers and carrier call id
        #: Post-call work queued in the transaction that completes the record (Trace scoring,
        #: Recap): ``hook(session, status)``; one that fails is logged and skipped, the record stays.
        self.after_call: list[Callable[[AsyncSession, str], Awaitable[None]]] = []
        self._failure: str | None = None
        self._caller_started: dict[Any, int] = {}
        self._agent: dict[Any, dict] = {}  # agent turns not yet ended, by turn_id
        self._pending_tools: dict[Any, dict] = {}
        self._stop = asyncio.Event()
        self._live: asyncio.Task | None = None
        self._finished = False
        self._dir: Path | None = None
        self._tracks: tuple[_Track, _Track] | None = None
        if recording:
            try:
                tmp = services.settings.data_dir / "tmp"
                tmp.mkdir(parents=True, exist_ok=True)
                self._dir = Path(tempfile.mkdtemp(prefix=f"{self.call_id}-", dir=tmp))
                self._tracks = (_Track(self._dir / "caller.pcm", rate), _Track(self._dir / "agent.pcm", rate))
            except Exception:
                log.exception("call %s: cannot record (no temporary space)", self.call_id)

    # ---- what the adapter reports (never raises) ---------------------------------------------------
    def stamp(self, event: dict) -> None:
        """Before an event is sent: ``call.ended`` gets ``call_id`` and ``duration_ms``."""
        if event.get("type") == "call.ended":
            if self.ended_ms is None:
                self.ended_ms = self._ms()
            event["call_id"] = self.call_id
            event["duration_ms"] = self.ended_ms

    def clock_ms(self) -> int:
        """The session's clock (ms since it opened): the recording's timeline."""
        return self._ms()

    def on_event(self, event: dict, made_ms: int | None = None) -> None:
        """A server event that was sent. ``made_ms``: when the conversation made it (the clock before
        the event waited its turn to be sent): the caller's speech is timed from then, so a send
        held up behind other traffic does not move the caller's turn off their audio in the
        recording (their audio is placed as it arrives)."""
        if self._finished:
            return
        try:
            self._on_event(event, self._ms() if made_ms is None else made_ms)
        except Exception:
            log.exception("call %s: event %r not recorded", self.call_id, event.get("type"))

    def on_caller_audio(self, pcm16: bytes) -> None:
        """Caller audio received (PCM16 at the session's rate): it ended as it arrived."""
        if self._tracks is not None:
            self._record(0, pcm16, self._samples_now() - len(pcm16) // 2)

    def on_agent_audio(self, pcm16: bytes) -> None:
        """Agent audio sent (PCM16 at the session's rate): it starts playing now."""
        if self._tracks is not None:
            self._record(1, pcm16, self._samples_now())

    def on_tool_result(self, tool_call_id: Any, status: Any) -> None:
        """A tool call's outcome: from its ``tool_result`` event, or from the adapter for a client
        tool (the app answered it, or it timed out: no event is sent for those)."""
        try:
            entry = self._pending_tools.pop(tool_call_id, None)
        except TypeError:  # not an id at all
            return
        if entry is not None:
            entry["status"] = status
            entry["latency_ms"] = self._ms() - entry["at_ms"]

    def fail(self, message: str) -> None:
        """The session failed (a server error): the record ends ``failed``."""
        self._failure = message

    # ---- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the record (``in_progress``) and keep its heartbeat, in the background: the session's
        first words never wait for the database."""
        self._live = asyncio.create_task(self._keep_alive())

    async def finish(self) -> None:
        """Complete the record, store the recording and queue the extraction; idempotent."""
        if self._finished:
            return
        self._finished = True
        try:
            await self._finish()
        except Exception:
            log.exception("call %s: its record could not be completed", self.call_id)
        finally:
            self._discard_tracks()

    # ---- internals --------------------------------------------------------------------------------
    def _ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def _samples_now(self) -> int:
        return int((time.monotonic() - self.started) * self.rate)

    def _record(self, channel: int, pcm16: bytes, at: int) -> None:
        try:
            assert self._tracks is not None
            self._tracks[channel].place(pcm16, at)
        except Exception:
            log.exception("call %s: recording stopped", self.call_id)
            self._discard_tracks()

    def _discard_tracks(self) -> None:
        tracks, self._tracks = self._tracks, None
        for track in tracks or ():
            with contextlib.suppress(Exception):
                track.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _on_event(self, event: dict, made: int) -> None:
        kind, now = event.get("type"), self._ms()
        if kind == "caller.speech_started":
            self._caller_started[event.get("utterance_id")] = made
        elif kind == "caller.final":
            start = self._caller_started.pop(event.get("utterance_id"), made)
            text = str(event.get("text") or "").strip()
            if text:
                self._add_turn(
                    {"speaker": "caller", "text": text, "start_ms": start, "end_ms": made, "interrupted": False}
                )
        elif kind == "agent.text":
            self._agent_turn(event.get("turn_id"))["sentences"].append(str(event.get("text") or ""))
        elif kind == "agent.audio_start":
            self._agent_turn(event.get("turn_id"))["start_ms"] = now
        elif kind == "agent.audio_end":
            self._end_agent_turn(event.get("turn_id"), now)
        elif kind == "interruption":
            self._end_agent_turn(event.get("turn_id"), now, heard=str(event.get("heard_text") or ""))
        elif kind == "tool_call":
            entry = {
                "tool_call_id": event.get("call_id"),
                "name": event.get("name"),
                "kind": event.get("kind"),
                "status": None,
                "latency_ms": None,
                "at_ms": now,
            }
            if len(self.tools) < MAX_TOOL_CALLS:
                self.tools.append(entry)
                self._pending_tools[entry["tool_call_id"]] = entry
        elif kind == "tool_result":
            self.on_tool_result(event.get("call_id"), event.get("status"))
        elif kind == "call.ended":
            self.end_reason = event.get("reason")

    def _agent_turn(self, turn_id: Any) -> dict:
        return self._agent.setdefault(turn_id, {"sentences": [], "start_ms": None})

    def _end_agent_turn(self, turn_id: Any, now: int, heard: str | None = None) -> None:
        """An agent turn ended (``heard``: interrupted, and what was played of it). A turn whose audio
        never started was not heard and is left out."""
        turn = self._agent.pop(turn_id, None)
        if turn is None or turn["start_ms"] is None:
            return
        text = heard if heard is not None else " ".join(s for s in turn["sentences"] if s)
        self._add_turn(
            {
                "speaker": "agent",
                "text": text.strip(),
                "start_ms": turn["start_ms"],
                "end_ms": now,
                "interrupted": heard is not None,
            }
        )

    def _add_turn(self, turn: dict) -> None:
        if len(self.turns) < MAX_TURNS:
            self.turns.append(turn)

    def _snapshot(self) -> tuple[list[dict], list[dict]]:
        """The turns (in order of their start) and tool calls so far, as copies for the database."""
        turns = sorted(self.turns, key=lambda t: t["start_ms"])
        return [dict(t) for t in turns], [dict(t) for t in self.tools]

    async def _keep_alive(self) -> None:
        try:
            await self._load_agent()
            async with self.services.db.session() as s:
                s.add(self._row(status=LIVE, turns=[], tools=[], updated_at=now_ms()))
                await s.commit()
        except Exception:
            log.exception("call %s: its record could not be opened", self.call_id)
        while True:
            try:
                await asyncio.wait_for(self._stop.wait(), HEARTBEAT_S)
                return
            except TimeoutError:
                pass
            try:
                turns, tools = self._snapshot()
                async with self.services.db.session() as s:
                    await s.execute(
                        update(OmniCall)
                        .where(OmniCall.id == self.call_id, OmniCall.status == LIVE)
                        .values(updated_at=now_ms(), turns=turns, tools=tools)
                    )
                    await s.commit()
            except Exception as e:
                log.warning("call %s: heartbeat failed: %s", self.call_id, e)

    async def _load_agent(self) -> None:
        """The agent profile's goals and extraction settings, as they are when the call starts."""
        if not self.agent_id:
            return
        async with self.services.db.session() as s:
            agent = await s.scalar(owned(Agent, self.org_id).where(Agent.id == self.agent_id))
        if agent is None:
            return
        self.goals = list(agent.goals or [])
        self.brain_model = agent.brain_model
        if agent.extraction_schema and agent.extraction_webhook_url:
            self.extraction = (agent.extraction_schema, agent.extraction_webhook_url)

    def _row(self, **values: Any) -> OmniCall:
        return OmniCall(
            id=self.call_id,
            org_id=self.org_id,
            agent_id=self.agent_id,
            session_label=self.label,
            rate=self.rate,
            phone=self.phone,
            started_at=self.started_at,
            created_at=self.started_at,
            **values,
        )

    async def _finish(self) -> None:
        self._stop.set()
        if self._live is not None:
            with contextlib.suppress(Exception):
                await self._live
        duration = self.ended_ms if self.ended_ms is not None else self._ms()
        for turn_id, turn in list(self._agent.items()):  # cut off by the end of the session
            self._end_agent_turn(
                turn_id, duration, heard=" ".join(turn["sentences"]) if turn["start_ms"] is not None else None
            )
        if self._failure is not None:
            status, reason, error = FAILED, "server_error", self._failure
        elif self.end_reason == "server_error":
            status, reason, error = FAILED, "server_error", FAILED_ERROR
        else:  # a socket dropped without an ``end`` frame is the caller hanging up
            status, reason, error = COMPLETED, self.end_reason or "caller_hangup", None
        turns, tools = self._snapshot()
        recording = await self._save_recording()
        facts = {"status": status, "end_reason": reason, "duration_ms": duration}
        try:
            summary = summarize(facts, turns, tools, self.goals)
            summary = await llm_summary(self.services, summary, turns, self.goals, self.brain_model)
        except Exception:
            log.exception("call %s: no summary", self.call_id)
            summary = None
        extracting = status == COMPLETED and self.extraction is not None
        values = {
            **facts,
            "error": error,
            "ended_at": self.started_at + duration,
            "turns": turns,
            "tools": tools,
            "recording_key": recording,
            "summary": summary,
            "extraction": {"status": "pending"} if extracting else None,
            "updated_at": now_ms(),
        }
        async with self.services.db.session() as s:
            res = await s.execute(update(OmniCall).where(OmniCall.id == self.call_id).values(**values))
            if res.rowcount == 0:  # the opening write never landed
                s.add(self._row(**values))
            for hook in self.after_call:
                try:
                    async with s.begin_nested():
                        await hook(s, status)
                except Exception:
                    log.exception("call %s: post-call work not queued", self.call_id)
            if extracting:
                assert self.extraction is not None
                schema, url = self.extraction
                await enqueue_extraction(
                    self.services, self.org_id, self.call_id, self.agent_id, schema, url, session=s
                )
            await s.commit()

    async def _save_recording(self) -> str | None:
        """The stereo WAV into the blob store; its key, or None (recording off, empty or failed)."""
        tracks, self._tracks = self._tracks, None  # no more audio: the session is over
        if tracks is None or self._dir is None:
            return None
        try:
            for track in tracks:
                track.close()
            if not max(t.end for t in tracks):
                return None
            out = self._dir / "recording.wav"
            await asyncio.to_thread(_write_wav, tracks[0], tracks[1], self.rate, out)
            key = recording_key(self.call_id)
            await asyncio.to_thread(self.services.blobs.put_file, key, out)
            return key
        except Exception:
            log.exception("call %s: the recording could not be stored", self.call_id)
            return None


async def reap_stale(services: Any, org_id: str | None = None) -> int:
    """End the ``in_progress`` records (of ``org_id``, or all) whose heartbeat stopped more than
    :data:`STALE_AFTER_MS` ago: ``failed``, ``server_error``, ended at their last heartbeat, with a
    summary of the turns they had saved. Cheap when there are none (one indexed read)."""
    stale = and_(OmniCall.status == LIVE, OmniCall.updated_at < now_ms() - STALE_AFTER_MS)
    query = select(OmniCall).where(stale)
    if org_id is not None:
        query = query.where(OmniCall.org_id == org_id)
    reaped = 0
    async with services.db.session() as s:
        for call in (await s.scalars(query.limit(100))).all():
            duration = max(0, call.updated_at - call.started_at)
            facts = {"status": FAILED, "end_reason": "server_error", "duration_ms": duration}
            goals: list[str] = []
            if call.agent_id:
                agent = await s.scalar(owned(Agent, call.org_id).where(Agent.id == call.agent_id))
                goals = list(agent.goals or []) if agent is not None else []
            res = await s.execute(
                update(OmniCall)
                .where(OmniCall.id == call.id, stale)
                .values(
                    **facts,
                    error=STALE_ERROR,
                    ended_at=call.updated_at,
                    summary=summarize(facts, call.turns or [], call.tools or [], goals),
                )
                .execution_options(synchronize_session=False)
            )
            reaped += res.rowcount
        await s.commit()
    if reaped:
        log.info("ended %d omni call record(s) left in progress by a stopped session", reaped)
    return reaped
