"""Batch transcription over real HTTP: content, formats, the OpenAI SDK, bad input, billing."""

from __future__ import annotations

import httpx
import openai
import pytest

from pyai.text.wer import normalise_words, wer
from tests.contract import assert_error, assert_problem
from tests.media import CONTAINERS, convert, flite_wav
from tests.server import Server

SENTENCE = "The quick brown fox jumps over the lazy dog."
URL = "/v1/audio/transcriptions"


def transcribe(srv: Server, key: str, data: bytes, filename: str = "a.wav", **fields: str) -> httpx.Response:
    return httpx.post(
        srv.url + URL, headers=srv.headers(key), files={"file": (filename, data)}, data=fields, timeout=120
    )


@pytest.fixture(scope="module")
def hear_key(sqlite_server: Server) -> str:
    return sqlite_server.create_key(scopes="hear:*")["api_key"]


@pytest.mark.parametrize("ext", sorted(CONTAINERS))
def test_every_container_transcribes(sqlite_server: Server, hear_key: str, ext: str) -> None:
    data = convert(flite_wav(SENTENCE), ext, rate=44100 if ext in ("mp3", "flac") else None)
    resp = transcribe(sqlite_server, hear_key, data, f"speech.{ext}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == "pyai-hear"
    assert wer(SENTENCE, body["text"]) <= 0.2, body["text"]
    assert float(resp.headers["x-pyai-units"]) > 2.0


def test_verbose_json_has_segments_and_words(sqlite_server: Server, hear_key: str) -> None:
    resp = transcribe(
        sqlite_server, hear_key, flite_wav(SENTENCE), response_format="verbose_json", temperature="0", seed="7"
    )
    body = resp.json()
    assert body["language"] == "english" and body["duration"] == pytest.approx(2.4, abs=1.2)
    assert body["segments"] and body["words"]
    starts = [w["start"] for w in body["words"]]
    assert starts == sorted(starts) and all(w["end"] >= w["start"] for w in body["words"])
    assert body["words"][-1]["end"] <= body["duration"] + 0.05
    seg = body["segments"][0]
    assert {"id", "start", "end", "text", "seek", "tokens", "avg_logprob"} <= set(seg)


def test_text_format_and_numerals(sqlite_server: Server, hear_key: str) -> None:
    resp = transcribe(
        sqlite_server, hear_key, flite_wav("one two three four five"), response_format="text", numerals="true"
    )
    assert resp.headers["content-type"].startswith("text/plain")
    assert "12345" in resp.text.replace(" ", ""), resp.text
    spoken = transcribe(sqlite_server, hear_key, flite_wav("one two three four five")).json()["text"]
    assert "one" in spoken.lower()


def test_openai_sdk_unchanged(sqlite_server: Server, hear_key: str, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "speech.mp3"
    path.write_bytes(convert(flite_wav(SENTENCE), "mp3"))
    client = openai.OpenAI(api_key=hear_key, base_url=sqlite_server.url + "/v1")
    with path.open("rb") as f:
        result = client.audio.transcriptions.create(model="pyai-hear", file=f)
    assert "fox" in result.text.lower()
    with path.open("rb") as f:
        verbose = client.audio.transcriptions.create(
            model="whisper-1", file=f, response_format="verbose_json", timestamp_granularities=["word"]
        )
    assert verbose.duration > 1 and verbose.words and verbose.words[0].start >= 0
    with path.open("rb") as f:
        text = client.audio.transcriptions.create(model="pyai-hear", file=f, response_format="text")
    assert "dog" in text.lower()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_audio"),
        (b"this is plainly not audio at all, just some text" * 20, "invalid_audio"),
    ],
)
def test_bad_audio_is_400_naming_file(sqlite_server: Server, hear_key: str, data: bytes, code: str) -> None:
    body = assert_problem(transcribe(sqlite_server, hear_key, data), 400, code)
    assert body["param"] == "file" and "file" in body["detail"]


def video_without_audio() -> bytes:
    """A real MP4 container holding only a video stream: a recognised container, no audio."""
    import io

    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def test_container_without_audio_is_unsupported(sqlite_server: Server, hear_key: str) -> None:
    body = assert_problem(
        transcribe(sqlite_server, hear_key, video_without_audio(), "clip.mp4"), 400, "unsupported_audio"
    )
    assert body["param"] == "file" and "no audio stream" in body["detail"]


def test_truncated_file_is_handled(sqlite_server: Server, hear_key: str) -> None:
    mp3 = convert(flite_wav(SENTENCE), "mp3")
    resp = transcribe(sqlite_server, hear_key, mp3[: len(mp3) // 2], "cut.mp3")
    # Half an MP3 still holds half the speech: either that part is transcribed or a clear 400.
    assert resp.status_code in (200, 400), resp.text
    if resp.status_code == 400:
        assert resp.json()["param"] == "file"
    wav = flite_wav(SENTENCE)
    header_only = wav[:44]
    assert transcribe(sqlite_server, hear_key, header_only).status_code == 400


def test_missing_file_wrong_type_and_oversize(sqlite_server: Server, hear_key: str) -> None:
    resp = httpx.post(
        sqlite_server.url + URL,
        headers=sqlite_server.headers(hear_key),
        data={"model": "pyai-hear"},
        files={"other": ("x.wav", b"abc")},
    )
    assert assert_problem(resp, 400, "invalid_request")["param"] == "file"
    resp = httpx.post(sqlite_server.url + URL, headers=sqlite_server.headers(hear_key), json={"file": "x"})
    assert assert_problem(resp, 400, "unsupported_media_type")["param"] == "Content-Type"
    resp = transcribe(sqlite_server, hear_key, flite_wav(SENTENCE), response_format="srt")
    assert assert_problem(resp, 400, "invalid_request")["param"] == "response_format"
    resp = transcribe(sqlite_server, hear_key, flite_wav(SENTENCE), model="nope")
    assert assert_problem(resp, 400, "invalid_request")["param"] == "model"


def test_oversized_upload_rejected(tmp_path) -> None:  # noqa: ANN001
    srv = Server(tmp_path, {"PYAI_MAX_UPLOAD_BYTES": "50000"}).start()
    try:
        key = srv.create_key()["api_key"]
        body = assert_problem(transcribe(srv, key, flite_wav(SENTENCE)), 413, "payload_too_large")
        assert body["param"] == "file" and "50000-byte" in body["detail"]
    finally:
        srv.stop()


def test_scope_and_auth_come_before_body(sqlite_server: Server) -> None:
    speak_only = sqlite_server.create_key(scopes="voice:*")["api_key"]
    body = assert_error(transcribe(sqlite_server, speak_only, flite_wav(SENTENCE)), 403, "forbidden")
    assert "hear:transcribe" in body["error"]["message"]
    assert_error(httpx.post(sqlite_server.url + URL, content=b"junk"), 401, "unauthorized")
    wildcard = sqlite_server.create_key(scopes="hear:*")["api_key"]
    assert transcribe(sqlite_server, wildcard, flite_wav(SENTENCE)).status_code == 200


def test_human_recordings(sqlite_server: Server, hear_key: str) -> None:
    """Real people, not TTS: the CMU ARCTIC sentence is recognised word for word, and the set as a
    whole within a WER ceiling (measured 0.037 with Whisper tiny.en; pocketsphinx got 0.22; see
    docs/benchmarks.md)."""
    from tests.speech_samples import HUMAN_RECORDINGS

    path, reference = HUMAN_RECORDINGS[0]
    text = transcribe(sqlite_server, hear_key, path.read_bytes()).json()["text"]
    assert wer(reference, text) <= 0.1, text
    errors = words_total = 0.0
    for p, ref in HUMAN_RECORDINGS:
        n = len(normalise_words(ref))
        errors += wer(ref, transcribe(sqlite_server, hear_key, p.read_bytes()).json()["text"]) * n
        words_total += n
    assert errors / words_total <= 0.1
