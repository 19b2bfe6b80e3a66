"""Reading other servers' verbose_json: word timings are used when given, estimated when not."""

from __future__ import annotations

import pytest

from pyai.engines.stt.openai_compatible import parse_verbose_json


def test_words_with_timings_are_kept() -> None:
    t = parse_verbose_json(
        {
            "text": "hello there",
            "language": "english",
            "words": [{"word": " hello", "start": 0.1, "end": 0.4}, {"word": "there", "start": 1.2, "end": 1.5}],
        },
        2.0,
    )
    assert t.text == "hello there" and [w.start for w in t.words] == [0.1, 1.2]
    assert [s.text for s in t.segments] == ["hello", "there"]  # a 0.8 s pause starts a segment
    assert t.duration == 2.0 and t.language == "english"


def test_segments_without_words_are_spread_over_the_segment() -> None:
    t = parse_verbose_json(
        {
            "text": "a b c d",
            "segments": [{"start": 1.0, "end": 2.0, "text": " a b"}, {"start": 3.0, "end": 3.5, "text": "c d"}],
        },
        4.0,
    )
    assert [(w.word, w.start, w.end) for w in t.words] == [
        ("a", 1.0, 1.5),
        ("b", 1.5, 2.0),
        ("c", 3.0, 3.25),
        ("d", 3.25, 3.5),
    ]


@pytest.mark.parametrize(("body", "words"), [({"text": "just text"}, 2), ({"text": ""}, 0), ({}, 0)])
def test_plain_text_or_nothing(body: dict, words: int) -> None:
    t = parse_verbose_json(body, 3.0)
    assert len(t.words) == words and (not words or t.words[-1].end == 3.0)
