#!/usr/bin/env bash
# Install everything PyAI Server needs on a fresh Debian machine: system packages (speech engines,
# FFmpeg tools) and a project virtualenv with the pinned Python dependencies. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# pocketsphinx-testdata and asterisk-core-sounds-en(-g722): human recordings with transcripts (tests/corpus.py)
# espeak-ng: the phonemiser of the Piper voice (run as a program, see engines/tts/piper.py);
# festival + festvox-us-slt-hts: the HTS voice of the female stock voices (engines/tts/festival.py)
# chromium: the headless browser of the playground's test (tests/test_playground.py, /usr/bin/chromium)
APT_PACKAGES=(flite espeak-ng festival festvox-us-slt-hts alsa-utils redis-server pocketsphinx-testdata asterisk-core-sounds-en asterisk-core-sounds-en-g722 chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  rm -f .venv/.installed-* && touch "$stamp"
fi

# Model files shipped in packages whose own dependency pins conflict with ours: installed without
# their dependencies, never imported; the engines find the file and check its sha256 at load.
#   pipecat-ai: smart-turn v3.2 (end of turn), pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx
MODEL_PACKAGES=(pipecat-ai==1.14.0)
for requirement in "${MODEL_PACKAGES[@]}"; do
  installed=$(.venv/bin/python -c "import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass" "${requirement%%==*}")
  if [ "$installed" != "${requirement##*==}" ]; then
    .venv/bin/python -m pip install -q --no-deps "$requirement"
  fi
done
