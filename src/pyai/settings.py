"""Runtime configuration.

Every knob is a ``PYAI_*`` environment variable with a safe default, so ``pyai serve`` on a
fresh machine needs no configuration at all (SQLite + local blobs under ``./data``), while a
scaled-out deployment only sets ``PYAI_DATABASE_URL`` and ``PYAI_REDIS_URL``.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE = "secret.key"


class Settings(BaseSettings):
    """All server settings; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="PYAI_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = Field(default=None, description="SQLAlchemy async URL; default sqlite under data_dir")
    redis_url: str | None = None
    secret_key: str | None = Field(default=None, repr=False)
    public_base_url: str | None = Field(
        default=None, description="Base URL used in signed links; default: the request's own"
    )
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "info"
    # text: one line per event for people; json: one JSON object per line (request_id, org_id,
    # call_id, trace ids) for a log pipeline. Keys and tokens are masked either way (logging_setup.py).
    log_format: str = Field(default="text", pattern="^(text|json)$")
    # OpenTelemetry tracing (ops/tracing.py), off by default. On: spans go by OTLP over HTTP/protobuf
    # to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318); the standard OTEL_* variables
    # (headers, OTEL_BSP_* batching, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER) apply.
    otel_enabled: bool = False
    test_mode: bool = Field(default=False, description="Test suites only: lets outbound URLs reach loopback")

    # Gateway limits (per key).
    rate_limit_rps: int = 50
    rate_limit_burst: int = 100
    realtime_concurrency: int = 10
    # Live sessions (Hear streams, Omni/realtime calls, phone calls) this replica takes at once, 0: no
    # cap. Past what its CPU decodes in real time every caller lags (docs/benchmarks.md measures it);
    # a capped replica refuses the next with 1013 server_busy (486 on SIP) so it goes elsewhere.
    replica_sessions: int = Field(default=0, ge=0)
    # /v1/realtime sessions end after this long with session_expired, as OpenAI's do (60 min)
    realtime_max_session_seconds: float = Field(default=3600.0, gt=0)
    lease_ttl_seconds: float = 30.0
    key_cache_seconds: float = 2.0

    # Billing.
    free_monthly_grant_cents: int = 0
    default_plan: str = "payg"

    # Sandbox keys.
    sandbox_enabled: bool = True
    sandbox_key_ttl_seconds: int = 7 * 24 * 3600
    sandbox_daily_unit_cap: int = 3600
    sandbox_mints_per_hour: int = 10

    # Request bodies (refused with 413 while they arrive; see api/body_limits.py).
    max_upload_bytes: int = 25 * 1024 * 1024
    max_json_bytes: int = 1024 * 1024  # every non-upload body; the contract's largest is ~400 kB
    # Decoded audio length: compressed audio can expand ~1000x (an hour of silence is a 0.5 MB FLAC),
    # so decoding stops at these. Batch holds a full 25 MB upload of 128 kbit/s MP3; jobs take longer files.
    max_batch_audio_seconds: float = Field(default=1800.0, gt=0)
    max_job_audio_seconds: float = Field(default=2 * 3600.0, gt=0)

    # Engines.
    stt_engine: str = "whisper"  # whisper | pocketsphinx | openai (engines/stt/registry.py)
    # whisper: a model name (tiny.en = bundled) or a local CTranslate2 directory; openai: the remote model
    stt_model: str | None = None
    stt_threads: int | None = Field(default=None, ge=1)  # Whisper's CPU threads; default: one per core
    stt_processes: int | None = None  # pocketsphinx whole-utterance decode processes; default: one per core
    stt_model_dir: Path | None = None  # a local pocketsphinx model (see engines/stt/model_dir.py)
    # PYAI_STT_ENGINE=openai: an OpenAI-compatible /audio/transcriptions (engines/stt/openai_compatible.py)
    stt_base_url: str | None = None
    stt_api_key: str | None = None
    stt_timeout_seconds: float = 60.0
    # Omni's brain: an OpenAI-compatible chat-completions endpoint (``…/v1``; omni/llm_brain.py);
    # unset = the embedded brain (intents and knowledge, no LLM). An agent's brain_model overrides llm_model.
    llm_base_url: str | None = None
    llm_api_key: str | None = Field(default=None, repr=False)
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = Field(default=20.0, gt=0)  # per request: connect, and each wait for more tokens

    # Speak: queued/running voice designs allowed per org, and on the whole server (all orgs).
    design_queue_limit: int = Field(default=16, ge=1)
    design_queue_global_limit: int = Field(default=64, ge=1)

    # Asterisk AudioSocket listener (realtime/audiosocket_bridge.py): phone calls from your PBX reach
    # the agents of your local_sip numbers. Off unless a port is set; no auth of its own: keep it private.
    audiosocket_port: int | None = Field(default=None, ge=1, le=65535)
    audiosocket_host: str = "127.0.0.1"
    # SIP over UDP (realtime/sip_bridge.py): a PBX or trunk places calls to your local_sip numbers
    # directly (INVITE sip:+14155550123@host), G.711 RTP on an ephemeral port per call. Off unless a
    # port is set; no registration or digest auth: keep it on the PBX's private network.
    sip_port: int | None = Field(default=None, ge=1, le=65535)
    sip_host: str = "127.0.0.1"
    sip_advertised_host: str | None = None  # the address put in Contact/SDP; default sip_host

    # Browser playground (api/playground.py): GET /playground, a page for talking to an Omni agent.
    playground_enabled: bool = True  # false: every /playground route is a 404
    # An API key with omni:session that the page may use without pasting one (POST /playground/session
    # mints its session tokens); unset: visitors paste their own key. Anyone who can open the page can use it.
    playground_key: str | None = Field(default=None, repr=False)

    # Operations (docs/operations.md): GET /healthz, /readyz (no auth) and /metrics (Prometheus).
    # /metrics is a 404 unless a token is set (scrapers send ``Authorization: Bearer <token>``) or it is
    # opened without one (only where the port is reachable from a private network alone).
    metrics_token: str | None = Field(default=None, repr=False)
    metrics_open: bool = False
    # On SIGTERM: stop admitting realtime sessions, /readyz 503, let open sessions finish for up to
    # this long, then shut down (what is left of it goes to in-flight HTTP requests; 0: stop at once).
    drain_timeout_seconds: float = Field(default=30.0, ge=0)

    # Durable jobs.
    worker_in_process: bool = True
    job_lease_seconds: float = 60.0
    job_poll_seconds: float = 0.5

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'pyai.db').resolve()}"

    @property
    def stt_model_name(self) -> str:
        """``PYAI_STT_MODEL``, defaulting per engine: the bundled Whisper tiny.en, or ``whisper-1`` upstream."""
        if self.stt_model:
            return self.stt_model
        return "whisper-1" if self.stt_engine == "openai" else "tiny.en"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @cached_property
    def secret(self) -> bytes:
        """The server secret: from the environment, else generated once and kept in the data dir.

        Keys, signed URLs and webhook signatures all hang off it, so it must survive restarts;
        it is never logged (``repr=False``).
        """
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            try:
                tmp.rename(path) if not path.exists() else tmp.unlink()
            except FileExistsError:  # another process won the race; use its secret
                tmp.unlink(missing_ok=True)
        return path.read_text().strip().encode()

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.blob_dir.mkdir(parents=True, exist_ok=True)
