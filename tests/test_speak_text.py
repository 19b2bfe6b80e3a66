"""What Speak says, over real HTTP: SSML pauses, rates and tags (never read aloud), refused input,
input hygiene, and normalised numbers and addresses, checked by ear with the server's own STT."""

from __future__ import annotations

import re

import httpx
import pytest

from pyai.speak.parts import MAX_TOKEN_CHARS
from pyai.text.spoken import to_spoken
from pyai.text.wer import normalise_words, wer
from tests.contract import assert_problem
from tests.media import decode
from tests.server import Server

LINE = "Thank you for calling, your order has shipped."
#: Festival's HTS voice: the same text always gives the same audio, so lengths compare exactly.
VOICE = "stock_emma_en_us"
#: A flite voice: it announces each sentence's length before speaking it (one sentence carries exact units).
FLITE_VOICE = "stock_callum_en_scotland"
#: Whisper tiny.en on the HTS voice: a clean sentence is heard with at most one word in four wrong.
MAX_WER = 0.25


@pytest.fixture(scope="module")
def client(sqlite_server: Server) -> httpx.Client:
    key = sqlite_server.create_key(scopes="voice:*,hear:*")["api_key"]
    return httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=120)


def speak(client: httpx.Client, text: str, voice: str = VOICE) -> httpx.Response:
    return client.post("/v1/audio/speech", json={"input": text, "voice": voice, "response_format": "wav", "seed": 1})


def seconds(resp: httpx.Response) -> float:
    assert resp.status_code == 200, resp.text
    samples, rate, _ = decode(resp.content)
    return samples.shape[1] / rate


def heard(client: httpx.Client, resp: httpx.Response) -> str:
    """What the server's STT hears in a speech response, with a spoken "dot" (which Whisper writes
    as "." inside an address, "example .com") put back as the word."""
    text = client.post("/v1/audio/transcriptions", files={"file": ("speech.wav", resp.content)}).json()["text"]
    return re.sub(r"\s*\.(?=\w)", " dot ", text)


def test_a_break_is_its_length_of_silence(client: httpx.Client) -> None:
    plain = seconds(speak(client, "<speak>Thank you for calling. Goodbye.</speak>"))
    paused = seconds(speak(client, '<speak>Thank you for calling.<break time="1s"/>Goodbye.</speak>'))
    assert paused - plain == pytest.approx(1.0, abs=0.02)


def test_a_prosody_rate_keeps_the_exact_units_of_one_sentence(client: httpx.Client) -> None:
    normal = speak(client, LINE, FLITE_VOICE)
    fast = speak(client, f'<speak><prosody rate="x-fast">{LINE}</prosody></speak>', FLITE_VOICE)
    assert float(fast.headers["x-pyai-units"]) == pytest.approx(seconds(fast), abs=0.01)
    assert seconds(fast) < 0.8 * seconds(normal)


def test_tags_are_never_spoken(client: httpx.Client) -> None:
    ssml = (
        '<speak version="1.1" xml:lang="en-US"><p>Your table is ready.</p><break time="500ms"/>'
        "<p><s>Please <emphasis>come in</emphasis> now.</s></p></speak>"
    )
    text = heard(client, speak(client, ssml))
    assert wer("Your table is ready. Please come in now.", text) <= MAX_WER, text
    assert not {"speak", "break", "emphasis", "version", "xml"} & set(normalise_words(text)), text


@pytest.mark.parametrize(
    ("ssml", "named"),
    [
        ('<speak>Hello <voice name="x">there</voice></speak>', "SSML line 1: <voice> is not supported"),
        ("<speak>\nHello <break time='soon'/></speak>", "SSML line 2: <break> time='soon'"),
        ("<speak>Hello <break time='1s'></speak>", "not well-formed: mismatched tag"),
    ],
)
def test_bad_ssml_is_a_400_naming_the_problem(client: httpx.Client, ssml: str, named: str) -> None:
    problem = assert_problem(speak(client, ssml), 400, "invalid_request")
    assert problem["param"] == "input" and "input" in problem["detail"] and named in problem["detail"]


@pytest.mark.parametrize("text", ["😀🎉👍", "<speak><break time='2s'/></speak>", "你好"])
def test_nothing_to_say_is_a_400(client: httpx.Client, text: str) -> None:
    problem = assert_problem(speak(client, text), 400, "invalid_request")
    assert problem["param"] == "input" and "nothing in it can be spoken" in problem["detail"]


def test_text_after_a_nul_is_still_spoken(client: httpx.Client) -> None:
    before = seconds(speak(client, "Thank you for calling."))
    resp = speak(client, "Thank you for calling.\x00 Your order has shipped today.")
    assert seconds(resp) > before + 1.0
    assert wer("Thank you for calling. Your order has shipped today.", heard(client, resp)) <= MAX_WER


def test_an_endless_token_is_capped(client: httpx.Client) -> None:
    """A 3,000-character blob is cut to its first ``MAX_TOKEN_CHARS`` characters: seconds, not minutes."""
    blob = "Zm9v" * 750
    capped = seconds(speak(client, blob))
    assert capped == pytest.approx(seconds(speak(client, blob[:MAX_TOKEN_CHARS])), abs=0.01)
    assert capped < 30


def test_numbers_and_addresses_are_said_as_words(client: httpx.Client) -> None:
    text = "Call +1 (415) 555-0123 or email jane@example.com."
    hypothesis = heard(client, speak(client, text))
    spoken = to_spoken(text)
    assert (
        spoken == "Call plus one; four one five; five five five; zero one two three or email jane, at example dot com."
    )
    assert wer(spoken, hypothesis) <= MAX_WER, hypothesis
    words = " ".join(normalise_words(hypothesis))
    assert "zero one two three" in words and "example dot com" in words, hypothesis
