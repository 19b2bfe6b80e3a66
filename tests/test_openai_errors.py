"""Errors as the official ``openai`` SDK shows them: the reason and the field, not just "Error code: 400".

The SDK reads only ``error.message``; Problem bodies carry that member as an RFC 7807 extension
while staying the contract's Problem, which each test checks on the raw body too.
"""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from tests.contract import assert_error, assert_problem
from tests.server import Server

NOT_AUDIO = b"this is plainly not audio at all, just some text" * 20


@pytest.fixture(scope="module")
def client(sqlite_server: Server) -> openai.OpenAI:
    key = sqlite_server.create_key(scopes="voice:*,hear:*")["api_key"]
    return openai.OpenAI(api_key=key, base_url=sqlite_server.url + "/v1", max_retries=0)


def raised(call: Callable[[], object], kind: type[openai.APIStatusError]) -> openai.APIStatusError:
    with pytest.raises(kind) as caught:
        call()
    return caught.value


def assert_sdk_problem(err: openai.APIStatusError, code: str, param: str, reason: str) -> None:
    """The exception names the field and the reason; the body is still the contract's Problem."""
    assert reason in err.message and f"{param}:" in err.message, err.message
    assert str(err) == err.message
    assert (err.type, err.code, err.param) == ("invalid_request_error", code, param)
    body = assert_problem(err.response, 400, code)
    assert body["title"] and body["status"] == 400 and body["param"] == param
    assert body["error"]["message"] == body["detail"]


def test_unknown_voice(client: openai.OpenAI) -> None:
    err = raised(
        lambda: client.audio.speech.create(model="tts-1", voice="nobody", input="Hello there."),
        openai.BadRequestError,
    )
    assert_sdk_problem(err, "unknown_voice", "voice", "unknown voice 'nobody'")


def test_over_long_input(client: openai.OpenAI) -> None:
    err = raised(
        lambda: client.audio.speech.create(model="tts-1", voice="alloy", input="x" * 4097),
        openai.BadRequestError,
    )
    assert_sdk_problem(err, "invalid_request", "input", "at most 4096 characters")


def test_non_audio_upload(client: openai.OpenAI) -> None:
    err = raised(
        lambda: client.audio.transcriptions.create(model="whisper-1", file=("notes.wav", NOT_AUDIO)),
        openai.BadRequestError,
    )
    assert_sdk_problem(err, "invalid_audio", "file", "not a recognised audio format")


def test_bad_response_format(client: openai.OpenAI) -> None:
    err = raised(
        lambda: client.audio.transcriptions.create(
            model="whisper-1",
            file=("speech.wav", NOT_AUDIO),
            response_format="docx",  # type: ignore[arg-type]
        ),
        openai.BadRequestError,
    )
    assert_sdk_problem(err, "invalid_request", "response_format", "must be one of")


def test_wrong_key(sqlite_server: Server) -> None:
    wrong = openai.OpenAI(api_key="sk-not-a-pyai-key", base_url=sqlite_server.url + "/v1", max_retries=0)
    err = raised(
        lambda: wrong.audio.speech.create(model="tts-1", voice="alloy", input="Hello there."),
        openai.AuthenticationError,
    )
    body = assert_error(err.response, 401, "unauthorized")
    assert body["error"]["message"] in err.message and err.message != "Error code: 401"
    assert (err.type, err.code) == ("authentication_error", "unauthorized")
