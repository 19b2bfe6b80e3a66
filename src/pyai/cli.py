"""``pyai``: serve, worker, keys, orgs, credit, migrate, doctor, export, import.

Scripts and tests rely on these flags and on ``--json`` output, so they are kept stable.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import os
import signal
import sys
from pathlib import Path

from pyai.gateway import identity, scopes
from pyai.settings import Settings
from pyai.store.db import Database
from pyai.store.migrate import upgrade


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return Settings(**overrides)


async def _with_session(settings: Settings, fn):  # noqa: ANN001, ANN202 - async callback
    db = Database(settings.resolved_database_url)
    try:
        async with db.session() as s:
            result = await fn(s)
            await s.commit()
            return result
    finally:
        await db.dispose()


def _check_engines(settings: Settings) -> None:
    """Refuse to start on an STT setting that cannot work, with the reason: an unknown engine, a
    Whisper model that is missing, damaged or cannot be fetched (resolving it here also fills
    faster-whisper's cache once), or a local pocketsphinx model it cannot load (it would kill
    the server later)."""
    from pyai.engines.stt.model_dir import ModelDirError, verified_model_config
    from pyai.engines.stt.registry import check_engine_name
    from pyai.engines.stt.whisper_models import WhisperModelError, resolve

    try:
        check_engine_name(settings)
    except ValueError as e:
        raise SystemExit(f"error: PYAI_STT_ENGINE: {e}") from None
    if settings.stt_engine == "whisper":
        try:
            resolve(settings.stt_model_name)
        except WhisperModelError as e:
            raise SystemExit(f"error: PYAI_STT_MODEL: {e}") from None
    if settings.stt_model_dir is None:
        return
    try:
        verified_model_config(settings.stt_model_dir)
    except ModelDirError as e:
        raise SystemExit(f"error: PYAI_STT_MODEL_DIR: {e}") from None


def _migrate(settings: Settings) -> None:
    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)


async def _bootstrap(settings: Settings) -> identity.IssuedKey | None:
    """On an empty database create the first org + project and an admin live key.

    Replicas started together on one empty database all get here: the first org's id is derived
    from the shared server secret, so only one insert can win and the others find it taken.
    """
    from sqlalchemy.exc import IntegrityError

    first_org = "org_" + hmac.new(settings.secret, b"pyai first org", "sha256").hexdigest()[:16]

    async def run(s):  # noqa: ANN001, ANN202
        if await identity.org_count(s):
            return None
        org, project = await identity.create_org(s, "default", plan="self-hosted", org_id=first_org)
        return await identity.issue_key(
            s, settings.secret, org_id=org.id, project_id=project.id, env="live", scopes=["*"], label="admin"
        )

    try:
        return await _with_session(settings, run)
    except IntegrityError:
        return None  # another replica created it a moment ago


def cmd_serve(args: argparse.Namespace) -> int:
    from pyai.app import create_app
    from pyai.logging_setup import configure
    from pyai.ops import drain

    settings = _settings(args)
    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    configure(settings.log_level, settings.log_format)
    _check_engines(settings)
    _migrate(settings)
    first = asyncio.run(_bootstrap(settings))
    if first:
        print("Created org", first.org_id, "with an admin key (shown once, store it now):", flush=True)
        print(f"  PYAI_API_KEY={first.api_key}", flush=True)
    drain.run(  # uvicorn, draining realtime sessions on SIGTERM first (docs/operations.md)
        create_app(settings),
        settings.drain_timeout_seconds,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's own lines go through our handler: same format, secrets masked
        access_log=False,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        timeout_graceful_shutdown=5,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from pyai import app as _registers_job_handlers  # noqa: F401 - importing routers registers handlers
    from pyai.jobs.worker import Worker
    from pyai.logging_setup import configure
    from pyai.ops import tracing
    from pyai.services import Services

    settings = _settings(args)
    configure(settings.log_level, settings.log_format)
    _check_engines(settings)
    _migrate(settings)
    if args.metrics_port:  # this process's own counters and histograms, no auth: keep it private (docs/operations.md)
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr=args.metrics_host)

    async def run() -> None:
        tracing.setup(settings, "worker")
        services = Services.build(settings)
        worker = Worker(services.jobs, services, settings.job_poll_seconds, concurrency=args.concurrency)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        worker.start()
        await stop.wait()
        await worker.stop()
        await services.close()

    asyncio.run(run())
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _migrate(settings)
    try:
        granted = scopes.parse(args.scopes)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    async def run(s):  # noqa: ANN001, ANN202
        if args.org:
            project = await identity.default_project(s, args.org)
            if project is None:
                raise SystemExit(f"error: no org {args.org}")
            org_id, project_id = args.org, project.id
        else:
            org, project = await identity.create_org(
                s, args.name or "org", plan=args.plan or settings.default_plan, monthly_units=args.monthly_units
            )
            org_id, project_id = org.id, project.id
        if args.credit_cents:
            await identity.grant_credit(s, org_id, args.credit_cents, reason="cli grant")
        return await identity.issue_key(
            s,
            settings.secret,
            org_id=org_id,
            project_id=project_id,
            env=args.env,
            scopes=granted,
            expires_in=args.expires_in,
            budget_cents=args.budget_cents,
            daily_unit_cap=args.daily_cap
            if args.daily_cap is not None
            else (settings.sandbox_daily_unit_cap if args.env == "test" else None),
            label=args.label,
            allowed_origins=[o.strip() for o in args.origins.split(",") if o.strip()] if args.origins else None,
        )

    key = asyncio.run(_with_session(settings, run))
    print(json.dumps(key.as_dict()) if args.json else key.api_key)
    return 0


def _simple(settings: Settings, fn, ok: str, missing: str) -> int:  # noqa: ANN001
    _migrate(settings)
    if asyncio.run(_with_session(settings, fn)):
        print(ok)
        return 0
    print(missing, file=sys.stderr)
    return 1


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    return _simple(
        _settings(args),
        lambda s: identity.revoke_key(s, args.key_id),
        f"revoked {args.key_id}",
        f"error: no active key {args.key_id}",
    )


def cmd_orgs_suspend(args: argparse.Namespace) -> int:
    return _simple(
        _settings(args),
        lambda s: identity.set_org_status(s, args.org_id, "suspended"),
        f"suspended {args.org_id}",
        f"error: no org {args.org_id}",
    )


def cmd_orgs_activate(args: argparse.Namespace) -> int:
    return _simple(
        _settings(args),
        lambda s: identity.set_org_status(s, args.org_id, "active"),
        f"activated {args.org_id}",
        f"error: no org {args.org_id}",
    )


def cmd_orgs_default_voice(args: argparse.Namespace) -> int:
    from pyai.gateway.errors import ProblemError
    from pyai.speak.library import set_default_voice

    async def assign(s):  # noqa: ANN001, ANN202
        try:
            return (await set_default_voice(s, args.org_id, args.voice_id)).voice_id
        except LookupError:
            raise SystemExit(f"error: no org {args.org_id}") from None
        except ProblemError as e:
            raise SystemExit(f"error: {e.detail}") from None

    settings = _settings(args)
    _migrate(settings)
    voice_id = asyncio.run(_with_session(settings, assign))
    print(f"default voice of {args.org_id} is {voice_id}")
    return 0


def cmd_credit_grant(args: argparse.Namespace) -> int:
    async def grant(s):  # noqa: ANN001, ANN202
        try:
            await identity.grant_credit(s, args.org_id, args.cents, reason="cli grant")
            return True
        except LookupError:
            return False

    return _simple(
        _settings(args), grant, f"granted {args.cents} cents to {args.org_id}", f"error: no org {args.org_id}"
    )


def cmd_telephony_carrier_set(args: argparse.Namespace) -> int:
    """Set an org's carrier (its secrets sealed at rest); the config is checked by the adapter."""
    from pyai.store.ids import now_ms
    from pyai.store.models import Org
    from pyai.store.sealed import SecretBox
    from pyai.store.telephony_models import TelephonyCarrier
    from pyai.telephony.carriers import carrier_from_config
    from pyai.telephony.carriers.base import CarrierError
    from pyai.telephony.numbers import sealed_config

    settings = _settings(args)
    _migrate(settings)
    if args.kind == "twilio":
        config = {"account_sid": args.account_sid, "auth_token": args.auth_token}
        if args.api_base:
            config["api_base"] = args.api_base
    else:
        given = [n.strip() for n in (args.numbers or "").split(",") if n.strip()]
        config = {"numbers": [n for n in given if "-" not in n], "ranges": [n for n in given if "-" in n]}
    try:
        carrier_from_config(args.kind, config)
    except (CarrierError, ValueError) as e:
        print(f"invalid carrier config: {getattr(e, 'message', e)}", file=sys.stderr)
        return 2
    sealed = sealed_config(SecretBox(settings.secret), config)

    async def store(s):  # noqa: ANN001, ANN202
        if await s.get(Org, args.org) is None:
            return False
        row = await s.get(TelephonyCarrier, args.org) or TelephonyCarrier(org_id=args.org)
        row.kind, row.config, row.updated_at = args.kind, sealed, now_ms()
        s.add(row)
        return True

    return _simple(settings, store, f"org {args.org}: carrier {args.kind} set", f"no org {args.org}")


def cmd_trace_verify(args: argparse.Namespace) -> int:
    """Recompute every org's (or one org's) scorecard hash chain; name the first altered record."""
    from pyai.trace.chain import verify_chains

    settings = _settings(args)
    _migrate(settings)
    results = asyncio.run(_with_session(settings, lambda s: verify_chains(s, args.org)))
    broken = 0
    for org_id, count, problem in results:
        if problem is None:
            print(f"org {org_id}: {count} scorecards, chain intact")
        else:
            broken += 1
            print(f"org {org_id}: {problem}", file=sys.stderr)
    if not results:
        print("no scorecards" + (f" for org {args.org}" if args.org else ""))
    return 1 if broken else 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _migrate(settings)
    print("database is at the latest revision")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the whole server (tables + blobs) to a portable tar archive (docs/backup.md)."""
    from pyai.ops.backup import BackupError, export_archive

    settings = _settings(args)
    try:
        summary = asyncio.run(export_archive(settings, Path(args.out)))
    except BackupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(
        f"exported {summary.rows} rows from {len(summary.tables)} tables and {summary.blobs} blobs "
        f"({summary.blob_bytes} bytes) at revision {','.join(summary.revision)} to {summary.path}"
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Load an export into an empty database at the same migration revision (docs/backup.md)."""
    from pyai.ops.backup import BackupError, import_archive

    settings = _settings(args)
    _migrate(settings)
    try:
        summary = asyncio.run(import_archive(settings, Path(args.archive)))
    except BackupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"imported {summary.rows} rows into {len(summary.tables)} tables and {summary.blobs} blobs from {args.archive}"
    )
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from pyai.doctor import run_checks

    settings = _settings(args)
    failures = 0
    for check in run_checks(settings):
        mark = "ok  " if check.ok else "FAIL"
        print(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok:
            failures += 1
            print(f"       fix: {check.fix}")
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyai", description="PyAI Server")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=os.environ.get("PYAI_DATA_DIR"))
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the API server")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(fn=cmd_serve)

    worker = sub.add_parser("worker", parents=[common], help="run background job workers")
    worker.add_argument("--concurrency", type=int, default=1)
    worker.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port (no auth)")
    worker.add_argument("--metrics-host", default="127.0.0.1", help="address for --metrics-port (default 127.0.0.1)")
    worker.set_defaults(fn=cmd_worker)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_cmd", required=True)
    create = keys.add_parser("create", parents=[common], help="create a key (and an org without --org)")
    create.add_argument("--org")
    create.add_argument("--name", help="name of the new org (without --org)")
    create.add_argument("--plan", help="plan of the new org (default PYAI_DEFAULT_PLAN)")
    create.add_argument("--env", choices=["live", "test"], default="live")
    create.add_argument("--scopes", default="*")
    create.add_argument("--credit-cents", type=int, default=0)
    create.add_argument("--budget-cents", type=int, default=None)
    create.add_argument("--daily-cap", type=int, default=None, help="daily unit cap (test keys)")
    create.add_argument("--expires-in", type=int, default=None, metavar="SECONDS")
    create.add_argument("--monthly-units", type=int, default=None, help="hard monthly unit cap of the new org")
    create.add_argument("--origins", help="comma-separated browser origins allowed to use this key")
    create.add_argument("--label")
    create.add_argument("--json", action="store_true")
    create.set_defaults(fn=cmd_keys_create)
    revoke = keys.add_parser("revoke", parents=[common])
    revoke.add_argument("key_id")
    revoke.set_defaults(fn=cmd_keys_revoke)

    orgs = sub.add_parser("orgs", help="manage orgs").add_subparsers(dest="orgs_cmd", required=True)
    suspend = orgs.add_parser("suspend", parents=[common])
    suspend.add_argument("org_id")
    suspend.set_defaults(fn=cmd_orgs_suspend)
    activate = orgs.add_parser("activate", parents=[common])
    activate.add_argument("org_id")
    activate.set_defaults(fn=cmd_orgs_activate)
    default_voice = orgs.add_parser(
        "default-voice", parents=[common], help="voice used when a speech request omits `voice`"
    )
    default_voice.add_argument("org_id")
    default_voice.add_argument("voice_id", help="stock id, OpenAI preset name, or the org's clone/design id")
    default_voice.set_defaults(fn=cmd_orgs_default_voice)

    credit = sub.add_parser("credit", help="prepaid credit").add_subparsers(dest="credit_cmd", required=True)
    telephony = sub.add_parser("telephony", help="phone numbers and carriers").add_subparsers(
        dest="telephony_cmd", required=True
    )
    carrier = telephony.add_parser("carrier", help="an org's carrier").add_subparsers(dest="carrier_cmd", required=True)
    carrier_set = carrier.add_parser("set", parents=[common], help="set an org's carrier (twilio or local_sip)")
    carrier_set.add_argument("org")
    carrier_set.add_argument("kind", choices=["twilio", "local_sip"])
    carrier_set.add_argument("--account-sid", help="twilio: the account SID (AC…)")
    carrier_set.add_argument("--auth-token", help="twilio: the auth token (stored sealed)")
    carrier_set.add_argument("--api-base", help="twilio: the REST base URL (default https://api.twilio.com)")
    carrier_set.add_argument("--numbers", help="local_sip: the numbers of your trunk, e.g. +14155550100-+14155550199")
    carrier_set.set_defaults(fn=cmd_telephony_carrier_set)

    trace = sub.add_parser("trace", help="Trace compliance records").add_subparsers(dest="trace_cmd", required=True)
    verify = trace.add_parser("verify", parents=[common], help="check the scorecards' hash chain")
    verify.add_argument("--org", help="only this org (default: every org)")
    verify.set_defaults(fn=cmd_trace_verify)

    grant = credit.add_parser("grant", parents=[common])
    grant.add_argument("org_id")
    grant.add_argument("cents", type=int)
    grant.set_defaults(fn=cmd_credit_grant)

    sub.add_parser("migrate", parents=[common], help="apply database migrations").set_defaults(fn=cmd_migrate)
    sub.add_parser("doctor", parents=[common], help="check the installation").set_defaults(fn=cmd_doctor)
    export = sub.add_parser("export", parents=[common], help="write every table and blob to a tar archive")
    export.add_argument("--out", required=True, metavar="FILE.tar")
    export.set_defaults(fn=cmd_export)
    load = sub.add_parser("import", parents=[common], help="load an export into an empty database")
    load.add_argument("--in", dest="archive", required=True, metavar="FILE.tar")
    load.set_defaults(fn=cmd_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
