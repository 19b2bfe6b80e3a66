"""``pyai export`` / ``pyai import``: the whole server as one portable tar archive (docs/backup.md).

The archive holds one JSON-lines file per table of the SQLAlchemy metadata (in foreign-key
order), every blob file, and ``manifest.json`` last: format version, app version, the Alembic
revisions of the database, when it was made, each table's row count and columns, and the sha256
of every other member. Values are plain JSON (bytes as base64, datetimes as ISO 8601, JSON
columns as they are), so an archive written from SQLite imports into PostgreSQL and the other
way round; the dialect-specific full-text index of ``kb_chunks`` is rebuilt by the importer.

Export reads every table inside one transaction (a snapshot: ``REPEATABLE READ`` on PostgreSQL,
one read transaction on SQLite's WAL), streaming rows in batches to temporary files, then copies
the blobs (written before the rows that point at them, so a row's blob is there). Import refuses
anything but an empty database at the archive's revisions, checks every sha256 while it reads,
inserts in one transaction and moves the blobs in only after that committed.

The server secret is not in the archive (sealed secrets, API keys and signed links hang off it);
the manifest carries an HMAC fingerprint of it so the importer can warn when the secret differs.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from pyai.settings import SECRET_FILE, Settings
from pyai.store.db import Database
from pyai.store.migrate import alembic_config
from pyai.store.schema import metadata

FORMAT = "pyai-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH_ROWS = 1000
_CHUNK = 1 << 20
_FINGERPRINT_INFO = b"pyai export: server secret fingerprint v1"
_SAFE_KEY = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./")


class BackupError(Exception):
    """A refusal or a damaged archive; the message says what to do."""


@dataclass
class Summary:
    path: Path
    tables: dict[str, int] = field(default_factory=dict)
    blobs: int = 0
    blob_bytes: int = 0
    revision: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# ---- values ---------------------------------------------------------------------------------------
def _encoder(col: sa.Column) -> Callable[[Any], Any] | None:
    t = col.type
    if isinstance(t, sa.JSON | sa.Float | sa.Boolean | sa.Integer | sa.String):
        return None
    if isinstance(t, sa.LargeBinary):
        return lambda v: base64.b64encode(v).decode("ascii")
    if isinstance(t, sa.DateTime | sa.Date | sa.Time):
        return lambda v: v.isoformat()
    if isinstance(t, sa.Interval):
        return lambda v: v.total_seconds()
    if isinstance(t, sa.Numeric | sa.Uuid):
        return str
    return None


def _decoder(col: sa.Column) -> Callable[[Any], Any] | None:
    t = col.type
    if isinstance(t, sa.JSON | sa.Float | sa.Boolean | sa.Integer | sa.String):
        return None
    if isinstance(t, sa.LargeBinary):
        return base64.b64decode
    if isinstance(t, sa.DateTime):
        return dt.datetime.fromisoformat
    if isinstance(t, sa.Date):
        return dt.date.fromisoformat
    if isinstance(t, sa.Time):
        return dt.time.fromisoformat
    if isinstance(t, sa.Interval):
        return lambda v: dt.timedelta(seconds=v)
    if isinstance(t, sa.Numeric):
        return Decimal
    if isinstance(t, sa.Uuid):
        return uuid.UUID
    return None


def _codecs(table: sa.Table, make: Callable) -> list[tuple[str, Callable | None]]:
    return [(c.name, make(c)) for c in table.columns]


def _insertable(table: sa.Table) -> sa.Table:
    """A copy of ``table`` whose nullable JSON columns store ``None`` as SQL NULL (not JSON ``null``),
    so a NULL read by the exporter is a NULL again after import."""
    copy = table.to_metadata(sa.MetaData())
    for col in copy.columns:
        if isinstance(col.type, sa.JSON) and col.nullable:
            col.type = sa.JSON(none_as_null=True)
    return copy


# ---- helpers ---------------------------------------------------------------------------------------
def app_version() -> str:
    try:
        return version("pyai-server")
    except PackageNotFoundError:
        return "unknown"


def code_heads(database_url: str) -> list[str]:
    return sorted(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def _known_revisions(database_url: str) -> set[str]:
    return {r.revision for r in ScriptDirectory.from_config(alembic_config(database_url)).walk_revisions()}


async def _db_revision(conn: AsyncConnection) -> list[str]:
    def read(sync_conn) -> list[str]:  # noqa: ANN001
        if not sa.inspect(sync_conn).has_table("alembic_version"):
            return []
        return sorted(r[0] for r in sync_conn.execute(sa.text("SELECT version_num FROM alembic_version")))

    return await conn.run_sync(read)


def secret_fingerprint(secret: bytes) -> str:
    """Names a server secret without revealing it (an HMAC of a fixed label)."""
    return hmac.new(secret, _FINGERPRINT_INFO, hashlib.sha256).hexdigest()[:32]


def _existing_secret(settings: Settings) -> bytes | None:
    """The secret this data dir would use, without generating one (``settings.secret`` would)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / SECRET_FILE
    return path.read_text().strip().encode() if path.is_file() else None


def _blob_keys(root: Path) -> Iterator[str]:
    """Every stored blob, sorted; skips in-flight temporary files (``.name.pid.tmp``) and any
    dot-named entry (an import's staging directory)."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            if not name.startswith("."):
                yield (rel / name).as_posix() if rel.parts else name


def _valid_blob_key(key: str) -> bool:
    """The blob store's own rule (``BlobStore._path``) plus no dot-named segment."""
    return (
        bool(key)
        and set(key) <= _SAFE_KEY
        and ".." not in key
        and not key.startswith("/")
        and not any(part.startswith(".") or not part for part in key.split("/"))
    )


class _HashingReader:
    """A read-only file wrapper that hashes what passes through (for ``TarFile.addfile``)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha = raw, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha.update(data)
        return data


def _add_file(tar: tarfile.TarFile, name: str, fh: IO[bytes], size: int, mtime: float) -> str:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    reader = _HashingReader(fh)
    tar.addfile(info, reader)
    return reader.sha.hexdigest()


# ---- export ----------------------------------------------------------------------------------------
def _export_engine(url: str):  # noqa: ANN202 - AsyncEngine
    """An engine whose transactions are snapshots: REPEATABLE READ on PostgreSQL; on SQLite an
    explicit BEGIN (the driver would otherwise run each SELECT in its own implicit transaction)."""
    if not url.startswith("sqlite"):
        return create_async_engine(url, isolation_level="REPEATABLE READ")
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn) -> None:  # noqa: ANN001
        conn.exec_driver_sql("BEGIN")

    return engine


async def _dump_table(conn: AsyncConnection, table: sa.Table, dest: Path) -> tuple[int, str]:
    codecs = _codecs(table, _encoder)
    order = list(table.primary_key.columns) or list(table.columns)
    stmt = sa.select(table).order_by(*order).execution_options(yield_per=BATCH_ROWS)
    sha, count = hashlib.sha256(), 0
    with dest.open("wb") as out:
        result = await conn.stream(stmt)
        async for batch in result.partitions(BATCH_ROWS):
            lines = []
            for row in batch:
                record = {}
                for (name, enc), value in zip(codecs, row, strict=True):
                    record[name] = enc(value) if enc is not None and value is not None else value
                lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            data = "".join(lines).encode()
            sha.update(data)
            out.write(data)
            count += len(batch)
    return count, sha.hexdigest()


async def export_archive(settings: Settings, out: Path) -> Summary:
    """Write the whole server (every table, every blob) to the tar archive ``out``."""
    url = settings.resolved_database_url
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = Summary(path=out)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": app_version(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source_dialect": "sqlite" if url.startswith("sqlite") else "postgresql",
    }
    with tempfile.TemporaryDirectory(prefix=".pyai-export-", dir=out.parent) as staging:
        staged: list[tuple[str, Path, str]] = []
        tables: list[dict[str, Any]] = []
        engine = _export_engine(url)
        try:
            async with engine.connect() as conn, conn.begin():
                revision = await _db_revision(conn)
                if not revision:
                    raise BackupError("the database has no schema yet (run `pyai migrate`); nothing to export")
                heads = code_heads(url)
                if revision != heads:
                    raise BackupError(
                        f"the database is at migration revision {','.join(revision)} but this release's schema "
                        f"is {','.join(heads)}: run `pyai migrate` first, or export with the release that "
                        "matches the database"
                    )
                for table in metadata.sorted_tables:
                    member = f"tables/{table.name}.jsonl"
                    path = Path(staging) / f"{table.name}.jsonl"
                    rows, digest = await _dump_table(conn, table, path)
                    staged.append((member, path, digest))
                    tables.append(
                        {
                            "name": table.name,
                            "member": member,
                            "rows": rows,
                            "sha256": digest,
                            "columns": [c.name for c in table.columns],
                        }
                    )
                    summary.tables[table.name] = rows
        finally:
            await engine.dispose()
        summary.revision = revision
        manifest["alembic_revision"] = revision
        manifest["tables"] = tables
        secret = _existing_secret(settings)
        manifest["secret_fingerprint"] = secret_fingerprint(secret) if secret else None

        members: dict[str, str] = {}
        tmp_out = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            with tarfile.open(tmp_out, "w", format=tarfile.PAX_FORMAT) as tar:
                for member, path, digest in staged:
                    with path.open("rb") as fh:
                        st = os.fstat(fh.fileno())
                        if _add_file(tar, member, fh, st.st_size, time.time()) != digest:
                            raise BackupError(f"staged {member} changed while archiving")
                    members[member] = digest
                root = settings.blob_dir
                for key in _blob_keys(root):
                    try:  # blobs are replaced by rename, so an open file is a stable snapshot
                        fh = (root / key).open("rb")
                    except FileNotFoundError:  # deleted since the listing
                        continue
                    with fh:
                        st = os.fstat(fh.fileno())
                        members[f"blobs/{key}"] = _add_file(tar, f"blobs/{key}", fh, st.st_size, st.st_mtime)
                    summary.blobs += 1
                    summary.blob_bytes += st.st_size
                manifest["blobs"] = {"count": summary.blobs, "bytes": summary.blob_bytes}
                manifest["members"] = members
                data = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
                _add_file(tar, MANIFEST, io.BytesIO(data), len(data), time.time())
            tmp_out.replace(out)
        except BaseException:
            tmp_out.unlink(missing_ok=True)
            raise
    return summary


# ---- import ----------------------------------------------------------------------------------------
def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        fh = tar.extractfile(MANIFEST)
    except KeyError:
        raise BackupError(f"not a pyai export: no {MANIFEST} in the archive") from None
    try:
        manifest = json.loads(fh.read())
    except ValueError as e:
        raise BackupError(f"{MANIFEST} is not valid JSON: {e}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"not a pyai export (format {manifest.get('format')!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"archive format version {manifest.get('format_version')} is not supported by this release "
            f"(it reads version {FORMAT_VERSION}); import it with a matching pyai release"
        )
    return manifest


def _check_archive(tar: tarfile.TarFile, manifest: dict[str, Any]) -> dict[str, sa.Table]:
    """Every member is a regular file the manifest names, and every table is one this schema has."""
    members = manifest.get("members") or {}
    for info in tar.getmembers():
        if info.name == MANIFEST:
            continue
        if not info.isfile():
            raise BackupError(f"archive member {info.name!r} is not a regular file")
        if info.name not in members:
            raise BackupError(f"archive member {info.name!r} is not listed in the manifest")
    present = {i.name for i in tar.getmembers()}
    missing = sorted(set(members) - present)
    if missing:
        raise BackupError(f"the archive is incomplete: {len(missing)} member(s) missing, e.g. {missing[0]}")
    for name in members:
        if name.startswith("blobs/"):
            if not _valid_blob_key(name.removeprefix("blobs/")):
                raise BackupError(f"archive member {name!r} is not a valid blob key")
        elif not name.startswith("tables/"):
            raise BackupError(f"unexpected archive member {name!r}")
    ours = {t.name: t for t in metadata.sorted_tables}
    listed = {t["name"] for t in manifest["tables"]}
    if listed != set(ours):
        raise BackupError(
            "the archive's tables do not match this release's schema "
            f"(only in archive: {sorted(listed - set(ours))}, only here: {sorted(set(ours) - listed)})"
        )
    for entry in manifest["tables"]:
        cols = [c.name for c in ours[entry["name"]].columns]
        if sorted(entry["columns"]) != sorted(cols):
            raise BackupError(f"table {entry['name']}: the archive's columns differ from this release's schema")
    return ours


def _revision_problem(archive: list[str], database: list[str], database_url: str) -> str | None:
    if sorted(archive) == sorted(database):
        return None
    if not database:
        return "the database has no schema; run `pyai migrate` first"
    known = _known_revisions(database_url)
    if set(archive) <= known:
        return (
            f"the archive was written at migration revision {','.join(archive)} but this database is at "
            f"{','.join(database)}. Import it with the pyai release that wrote it (`pyai migrate` then "
            "`pyai import` on that release), then install this release and run `pyai migrate` to upgrade"
        )
    return (
        f"the archive was written at migration revision {','.join(archive)}, which this release does not know "
        f"(the database is at {','.join(database)}): upgrade pyai to the release that wrote the archive, "
        "run `pyai migrate`, then `pyai import`"
    )


async def _nonempty_tables(conn: AsyncConnection) -> list[str]:
    full = []
    for table in metadata.sorted_tables:
        if (await conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1))).first():
            full.append(table.name)
    return full


def _lines(fh: IO[bytes], sha: Any) -> Iterator[bytes]:  # noqa: ANN401 - hashlib object
    for line in fh:
        sha.update(line)
        yield line


async def _load_table(conn: AsyncConnection, tar: tarfile.TarFile, table: sa.Table, entry: dict[str, Any]) -> int:
    member = entry["member"]
    target = _insertable(table)
    codecs = _codecs(table, _decoder)
    sha, count, batch = hashlib.sha256(), 0, []
    fh = tar.extractfile(member)
    for lineno, line in enumerate(_lines(fh, sha), 1):
        try:
            record = json.loads(line)
        except ValueError as e:
            raise BackupError(f"{member} line {lineno}: not JSON ({e})") from None
        row = {}
        for name, dec in codecs:
            value = record.get(name)
            row[name] = dec(value) if dec is not None and value is not None else value
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            await conn.execute(target.insert(), batch)
            count, batch = count + len(batch), []
    if batch:
        await conn.execute(target.insert(), batch)
        count += len(batch)
    if sha.hexdigest() != entry["sha256"]:
        raise BackupError(f"{member}: sha256 mismatch, the archive is damaged")
    if count != entry["rows"]:
        raise BackupError(f"{member}: {count} rows, the manifest says {entry['rows']}")
    return count


async def _after_load(conn: AsyncConnection) -> None:
    """Rebuild what is derived per dialect: SQLite's FTS index of knowledge chunks, PostgreSQL's
    sequences behind integer keys (the rows came with their ids)."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        fts = await conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'kb_chunks_fts'"))
        if fts.first():
            await conn.execute(sa.text("DELETE FROM kb_chunks_fts"))
            await conn.execute(
                sa.text(
                    "INSERT INTO kb_chunks_fts(rowid, content, kb_id, org_id) "
                    "SELECT id, content, kb_id, org_id FROM kb_chunks"
                )
            )
    elif dialect == "postgresql":
        for table in metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            if len(pk) != 1 or not isinstance(pk[0].type, sa.Integer):
                continue
            seq = (
                await conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": pk[0].name})
            ).scalar()
            if seq:
                col, name = pk[0].name, table.name
                await conn.execute(
                    sa.text(
                        f'SELECT setval(:seq, COALESCE((SELECT MAX("{col}") FROM "{name}"), 1), '
                        f'(SELECT MAX("{col}") FROM "{name}") IS NOT NULL)'
                    ),
                    {"seq": seq},
                )


def _stage_blob(tar: tarfile.TarFile, member: str, expected: str, staging: Path) -> Path:
    dest = staging / member.removeprefix("blobs/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256()
    with tar.extractfile(member) as src, dest.open("wb") as out:
        while chunk := src.read(_CHUNK):
            sha.update(chunk)
            out.write(chunk)
    if sha.hexdigest() != expected:
        raise BackupError(f"{member}: sha256 mismatch, the archive is damaged")
    return dest


async def import_archive(settings: Settings, archive: Path) -> Summary:
    """Load an export into this server's (empty, migrated) database and blob directory."""
    url = settings.resolved_database_url
    summary = Summary(path=archive)
    try:
        tar = tarfile.open(archive, "r:")
    except (OSError, tarfile.TarError) as e:
        raise BackupError(f"cannot read {archive}: {e}") from None
    with tar:
        manifest = read_manifest(tar)
        tables = _check_archive(tar, manifest)
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                problem = _revision_problem(manifest["alembic_revision"], await _db_revision(conn), url)
                if problem:
                    raise BackupError(problem)
                full = await _nonempty_tables(conn)
                await conn.rollback()
            if full:
                raise BackupError(
                    f"the database is not empty (rows in {', '.join(full)}); import only into a fresh database "
                    "(a new data dir, or a new PostgreSQL database after `pyai migrate`)"
                )
            root = settings.blob_dir
            root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".import-", dir=root))
            staged: list[tuple[str, Path]] = []
            try:
                async with db.engine.begin() as conn:
                    for entry in manifest["tables"]:
                        summary.tables[entry["name"]] = await _load_table(conn, tar, tables[entry["name"]], entry)
                    await _after_load(conn)
                    for member, digest in manifest["members"].items():
                        if member.startswith("blobs/"):
                            path = _stage_blob(tar, member, digest, staging)
                            staged.append((member.removeprefix("blobs/"), path))
                            summary.blob_bytes += path.stat().st_size
                # committed: move the blobs in (renames within one filesystem)
                for key, path in staged:
                    dest = root / key
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    path.replace(dest)
                summary.blobs = len(staged)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        finally:
            await db.dispose()
    summary.revision = manifest["alembic_revision"]
    summary.warnings = _secret_warnings(settings, manifest.get("secret_fingerprint"))
    return summary


def _secret_warnings(settings: Settings, fingerprint: str | None) -> list[str]:
    if not fingerprint:
        return []
    secret = _existing_secret(settings)
    if secret is None:
        return [
            "this data dir has no server secret yet: copy the old server's secret.key into it, or set "
            "PYAI_SECRET_KEY to the old value, before starting the server (API keys, sealed secrets and "
            "signed links need it)"
        ]
    if secret_fingerprint(secret) != fingerprint:
        return [
            "the server secret here differs from the one the archive was written with: imported API keys, "
            "sealed tool/carrier secrets and signed links will not work until PYAI_SECRET_KEY (or "
            "data_dir/secret.key) is the old server's secret"
        ]
    return []
