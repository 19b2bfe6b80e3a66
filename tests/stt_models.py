"""A small local STT model for tests: the bundled acoustic model with a few-word LM and dictionary.

Its transcripts can only use ``VOCABULARY``, so a transcript shows which model produced it: the
bundled model hears ALSA's "rear center"; this one cannot.
"""

from __future__ import annotations

from pathlib import Path

from pocketsphinx import get_model_path

from tests.speech_samples import HUMAN_RECORDINGS

BUNDLED = Path(get_model_path()) / "en-us"
ARCTIC, ARCTIC_TEXT = HUMAN_RECORDINGS[0]
VOCABULARY = sorted(set(ARCTIC_TEXT.split()) | {"front", "left", "right"})


def pronunciations(words: list[str]) -> str:
    wanted = set(words)
    lines = (BUNDLED / "cmudict-en-us.dict").read_text().splitlines()
    return "\n".join(line for line in lines if line.split(" ", 1)[0].split("(")[0] in wanted) + "\n"


def _unigram_arpa(words: list[str]) -> str:
    entries = ["<s>", "</s>", *words]
    body = "\n".join(f"-1.0000 {w} 0.0000" if w != "</s>" else f"-1.0000 {w}" for w in entries)
    return f"\\data\\\nngram 1={len(entries)}\n\n\\1-grams:\n{body}\n\n\\end\\\n"


def write_model(root: Path) -> Path:
    root.mkdir()
    (root / "acoustic").symlink_to(BUNDLED / "en-us", target_is_directory=True)
    (root / "small.dict").write_text(pronunciations(VOCABULARY))
    (root / "small.arpa").write_text(_unigram_arpa(VOCABULARY))
    return root
