"""SRT and WebVTT renderings of transcript segments."""

from __future__ import annotations


def _stamp(seconds: float, sep: str) -> str:
    ms = max(0, int(round(seconds * 1000)))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _label(seg: dict) -> str:
    return f"[{seg['speaker']}] " if seg.get("speaker") else ""


def to_srt(segments: list[dict]) -> str:
    blocks = [
        f"{i}\n{_stamp(s['start'], ',')} --> {_stamp(s['end'], ',')}\n{_label(s)}{s['text']}\n"
        for i, s in enumerate(segments, 1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: list[dict]) -> str:
    blocks = [
        f"{_stamp(s['start'], '.')} --> {_stamp(s['end'], '.')}\n"
        + (f"<v {s['speaker']}>" if s.get("speaker") else "")
        + f"{s['text']}\n"
        for s in segments
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)
