"""Load a pocketsphinx model from a local directory instead of the one bundled in the wheel.

Nothing may download weights at run time, so a bigger acoustic model, a domain language model
or a custom pronunciation dictionary is dropped into a directory and named by
``PYAI_STT_MODEL_DIR``. The layout is the one CMU Sphinx model archives unpack to:

- the acoustic model: a folder holding ``mdef`` (the directory itself or one level below it);
- the language model: one ``*.lm.bin``, ``*.lm`` / ``*.arpa`` (ARPA text) or ``*.lm.dmp`` file;
- the dictionary: one ``*.dict`` file.

Phone-loop LMs (``*-phone.lm*``) are ignored. The model must take 16 kHz audio, which is what
every Hear path feeds the engine. pocketsphinx ends the whole process on a corrupt model file,
so ``pyai serve``/``worker``/``doctor`` load a configured model in a child process first.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

LM_SUFFIXES = (".lm.bin", ".lm", ".arpa", ".lm.dmp", ".lm.DMP")


class ModelDirError(ValueError):
    """The directory does not hold a usable model; the message says what is missing."""


def _one(found: list[Path], what: str, root: Path) -> Path:
    if not found:
        raise ModelDirError(f"{root}: no {what} found")
    if len(found) > 1:
        names = ", ".join(p.name for p in sorted(found))
        raise ModelDirError(f"{root}: more than one {what} ({names}); keep exactly one")
    return found[0]


def model_config(root: Path) -> dict[str, str]:
    """The ``Decoder`` settings (``hmm``, ``lm``, ``dict``) for the model stored under ``root``."""
    if not root.is_dir():
        raise ModelDirError(f"{root} is not a directory")
    acoustic = [p.parent for p in (root / "mdef", *root.glob("*/mdef")) if p.is_file()]
    files = [p for p in root.iterdir() if p.is_file()]
    lms = [p for p in files if p.name.endswith(LM_SUFFIXES) and "-phone." not in p.name]
    dicts = [p for p in files if p.suffix == ".dict"]
    return {
        "hmm": str(_one(acoustic, "acoustic model (a folder with mdef)", root)),
        "lm": str(_one(lms, "language model (*.lm.bin, *.lm, *.arpa, *.lm.dmp)", root)),
        "dict": str(_one(dicts, "dictionary (*.dict)", root)),
    }


_TRIAL_LOAD = "import json, sys; from pocketsphinx import Decoder; Decoder(**json.loads(sys.argv[1]))"


def verified_model_config(root: Path) -> dict[str, str]:
    """``model_config`` after a trial load in a child process; ModelDirError quotes pocketsphinx."""
    config = model_config(root)
    trial = subprocess.run(
        [sys.executable, "-c", _TRIAL_LOAD, json.dumps(config)], capture_output=True, text=True, timeout=300
    )
    if trial.returncode != 0:
        lines = trial.stderr.strip().splitlines()
        reason = next(
            (line for line in reversed(lines) if "FATAL" in line or "ERROR" in line),
            lines[-1] if lines else f"exit status {trial.returncode}",
        )
        raise ModelDirError(f"{root}: pocketsphinx cannot load it: {reason}")
    return config
