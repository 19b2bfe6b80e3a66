"""Sentences cut from text that arrives in pieces: each chunk as soon as it is complete, and the
same chunks ``split_sentences`` makes of the whole text, however the text was cut up."""

from __future__ import annotations

import random

import pytest

from pyai.engines.tts.sentences import MAX_CHUNK, SentenceStream, split_sentences

TEXTS = [
    "Hello there! Dr. Smith can see you at 3.5 p.m. on Tuesday. Is that okay?",
    "Bring a photo ID, e.g. a passport; i.e. something official.\nThanks, Mr. Jones.",
    "We compare plan A vs. plan B: the first costs $3.50 and the second 4.25 dollars...",
    "It works, approx. 90% of the time. Visit St. Louis or Mt. Hood. Call ext. 42 now.",
    " ".join(["this clause has no end at all but goes on and on, and on"] * 8) + ".",  # long: cut at clauses
    " ".join(["word"] * 120),  # long with no punctuation: cut at spaces
]


def streamed(text: str, cuts: list[int]) -> tuple[list[str], list[list[str]]]:
    stream, out, per_piece = SentenceStream(), [], []
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    for piece in pieces:
        per_piece.append(stream.feed(piece))
        out += per_piece[-1]
    return out + stream.flush(), per_piece


@pytest.mark.parametrize("text", TEXTS)
def test_any_cutting_gives_the_chunks_of_the_whole_text(text: str) -> None:
    rng = random.Random(text)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, min(40, len(text) - 1))))
        assert streamed(text, cuts)[0] == split_sentences(text)
    assert streamed(text, list(range(1, len(text))))[0] == split_sentences(text)  # character by character


def test_abbreviations_and_decimals_do_not_end_sentences() -> None:
    assert split_sentences("Dr. Smith said e.g. 3.5 is fine. Ask Mrs. Lee, i.e. the manager.") == [
        "Dr. Smith said e.g. 3.5 is fine.",
        "Ask Mrs. Lee, i.e. the manager.",
    ]


def test_a_sentence_comes_as_soon_as_its_end_is_seen() -> None:
    stream = SentenceStream()
    assert stream.feed("The price is 3.") == []  # "3." may yet be "3.5"
    assert stream.feed("5 euros. Call Dr.") == ["The price is 3.5 euros."]
    assert stream.feed(" Smith") == []  # "Dr." is no end
    assert stream.feed(" today! And") == ["Call Dr. Smith today!"]
    assert stream.flush() == ["And"]
    assert stream.flush() == []


def test_a_long_sentence_gives_its_first_chunk_before_it_ends() -> None:
    stream = SentenceStream()
    clause = "a clause that keeps going without any full stop in it, "
    chunks = []
    while not chunks:
        chunks = stream.feed(clause)
    assert len(chunks) == 1 and len(chunks[0]) <= MAX_CHUNK and chunks[0].endswith(",")
