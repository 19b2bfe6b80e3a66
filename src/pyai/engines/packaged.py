"""Model files that ship inside installed packages, found without importing the package and
checked by sha256 before use.

Nothing is downloaded at run time: each model comes from a pinned package that setup installs.
Some of those packages are installed only for their data (``pipecat-ai`` with ``--no-deps``,
because its own dependency pins conflict with ours), so importing them would fail; the file is
located through ``importlib.util.find_spec`` of the top-level package, which reads no code.
A wrong hash means a different or damaged model whose behaviour our tests never measured.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path


class ModelFileError(RuntimeError):
    """A packaged model file is missing or is not the file we measured; the message says how to fix it."""


@dataclass(frozen=True)
class PackagedFile:
    package: str  # top-level import name, e.g. "pipecat"
    path: str  # inside the package, e.g. "audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
    sha256: str
    install: str  # the pip requirement that provides it, e.g. "pipecat-ai==1.14.0"

    def locate(self) -> Path:
        """The verified file; :class:`ModelFileError` if absent or altered."""
        return _verified(self)


@functools.cache
def _verified(spec: PackagedFile) -> Path:
    found = importlib.util.find_spec(spec.package)
    roots = list(found.submodule_search_locations or []) if found else []
    hint = f"run scripts/setup.sh (it installs {spec.install})"
    for root in roots:
        candidate = Path(root) / spec.path
        if candidate.is_file():
            digest = hashlib.sha256(candidate.read_bytes()).hexdigest()
            if digest != spec.sha256:
                raise ModelFileError(f"{candidate}: sha256 {digest} is not the expected {spec.sha256}; {hint}")
            return candidate
    raise ModelFileError(f"model file {spec.package}/{spec.path} is not installed; {hint}")
