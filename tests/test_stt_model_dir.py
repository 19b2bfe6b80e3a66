"""``PYAI_STT_MODEL_DIR``: Hear runs on a pocketsphinx model stored on local disk instead of the
bundled one (with ``PYAI_STT_ENGINE=pocketsphinx``; the other engines use it for partials).

The local model here is the bundled acoustic model with a language model and dictionary
written by the test and limited to a few words, so the transcript itself proves which model
decoded it: the bundled model hears "rear center"; the local one can only answer in its words.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from pyai.engines.stt.model_dir import ModelDirError, model_config
from pyai.text.wer import wer
from tests.server import PYAI, Server, bare_env
from tests.speech_samples import ALSA
from tests.stt_models import ARCTIC, ARCTIC_TEXT, VOCABULARY, pronunciations, write_model


def test_local_model_decodes(tmp_path: Path) -> None:
    env = {"PYAI_STT_ENGINE": "pocketsphinx", "PYAI_STT_MODEL_DIR": str(write_model(tmp_path / "model"))}
    srv = Server(tmp_path / "data", env).start()
    try:
        key = srv.create_key(scopes="hear:*")["api_key"]

        def text_of(path: Path) -> str:
            resp = httpx.post(
                srv.url + "/v1/audio/transcriptions",
                headers=srv.headers(key),
                files={"file": (path.name, path.read_bytes())},
                timeout=120,
            )
            assert resp.status_code == 200, resp.text
            return resp.json()["text"].lower()

        assert wer(ARCTIC_TEXT, text_of(ARCTIC)) <= 0.1
        heard = text_of(ALSA / "Rear_Center.wav")
        assert heard and set(heard.split()) <= set(VOCABULARY), heard
    finally:
        srv.stop()


def test_unloadable_model_stops_serve_with_the_reason(tmp_path: Path) -> None:
    model = write_model(tmp_path / "model")
    (model / "small.dict").unlink()
    run = subprocess.run(
        [*PYAI, "serve", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=bare_env(PYAI_STT_ENGINE="pocketsphinx", PYAI_STT_MODEL_DIR=str(model)),
        timeout=120,
    )
    assert run.returncode == 1 and "PYAI_STT_MODEL_DIR" in run.stderr and "no dictionary" in run.stderr

    (model / "small.dict").write_text(pronunciations(VOCABULARY))
    (model / "acoustic").unlink()
    (model / "acoustic").mkdir()
    (model / "acoustic" / "mdef").write_text("not a model definition\n")  # pocketsphinx exit()s on this
    doctor = subprocess.run(
        [*PYAI, "doctor", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=bare_env(PYAI_STT_ENGINE="pocketsphinx", PYAI_STT_MODEL_DIR=str(model)),
        timeout=120,
    )
    assert "[FAIL] stt: pocketsphinx" in doctor.stdout and "cannot load it" in doctor.stdout, doctor.stdout


def test_model_dir_layout_is_checked(tmp_path: Path) -> None:
    model = write_model(tmp_path / "model")
    (model / "small-phone.lm.bin").write_bytes(b"")  # phone-loop LMs are not word LMs: ignored
    assert model_config(model) == {
        "hmm": str(model / "acoustic"),
        "lm": str(model / "small.arpa"),
        "dict": str(model / "small.dict"),
    }
    (model / "other.lm.bin").write_bytes(b"")
    with pytest.raises(ModelDirError, match="more than one language model"):
        model_config(model)
    with pytest.raises(ModelDirError, match="not a directory"):
        model_config(tmp_path / "missing")
