"""The non-recursive JSON depth scan and the parser it guards."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from pyai.safe_json import MAX_DEPTH, InvalidJSON, loads, nesting_depth


def true_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(true_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(true_depth, value), default=0)
    return 0


def random_doc(rng: random.Random, depth: int = 0) -> Any:
    """Containers, and strings full of brackets, quotes, backslashes and non-ASCII."""
    kind = rng.choice(["list", "dict", "str", "num"] if depth < 8 else ["str", "num"])
    if kind == "list":
        return [random_doc(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == "dict":
        keys = [rng.choice(['k"[', "{", "\\", "ü"]) + str(i) for i in range(rng.randint(0, 3))]
        return {key: random_doc(rng, depth + 1) for key in keys}
    if kind == "str":
        return "".join(rng.choice('[]{}"\\\n aé≛\U0001f600') for _ in range(rng.randint(0, 6)))
    return rng.random()


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ('"[[["', 0),
        ("[]", 1),
        ('{"a": [1, {"b": []}]}', 4),
        (r'["\"", "[", "\\", [["\\\""]]]', 3),
        (r'"\\"[[', 2),  # the string ends at the quote after the escaped backslash
        ('"unterminated [[', 2),  # broken JSON may be over-counted, never under-counted
        ("[" * 100_000, 100_000),
    ],
)
def test_nesting_depth(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


def test_depth_matches_the_parsed_document() -> None:
    rng = random.Random(7)
    for _ in range(500):
        doc = random_doc(rng)
        for text in (json.dumps(doc), json.dumps(doc, ensure_ascii=False, indent=1)):
            assert nesting_depth(text) == true_depth(doc), text


def test_loads_accepts_the_limit_and_refuses_past_it() -> None:
    assert true_depth(loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)) == MAX_DEPTH
    with pytest.raises(InvalidJSON, match=f"{MAX_DEPTH + 1} levels deep; the limit is {MAX_DEPTH}"):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


def test_loads_refuses_a_megabyte_of_brackets_quickly() -> None:
    started = time.perf_counter()
    for text in ("[" * (1 << 20), '{"a":' * (1 << 18)):
        with pytest.raises(InvalidJSON, match="the limit is"):
            loads(text.encode())
    assert time.perf_counter() - started < 2


def test_loads_decodes_bytes_as_json_loads_does() -> None:
    doc = ['≛ ["{', {"k": ["ü"]}]  # U+225B is the bytes [ and " in UTF-16
    for encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"):
        assert loads(json.dumps(doc, ensure_ascii=False).encode(encoding)) == doc
    with pytest.raises(InvalidJSON, match="levels deep"):
        loads(("[" * 65 + "]" * 65).encode("utf-16"))


@pytest.mark.parametrize("bad", [b"", b"{not json", b"\xff\xff", b"1" * 5000, b"[1,]"])
def test_loads_turns_every_failure_into_invalid_json(bad: bytes) -> None:
    with pytest.raises(InvalidJSON, match="is not valid JSON"):
        loads(bad)
