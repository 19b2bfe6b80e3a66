"""Backups and upgrades (docs/backup.md): ``pyai export`` / ``pyai import`` across SQLite and
PostgreSQL, the archive's integrity checks, and upgrading a database of the previous release, with
its data, through ``pyai migrate`` — each checked through a real server's HTTP API."""

from __future__ import annotations

import asyncio
import io
import json
import math
import tarfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from pyai.gateway import keys
from pyai.gateway.pricing import price_cents
from pyai.ops.backup import BackupError, code_heads, export_archive, import_archive
from pyai.settings import Settings
from pyai.store.migrate import upgrade
from tests.conftest import BACKENDS
from tests.media import flite_wav
from tests.server import Server, create_pg_database, drop_pg_database

SECRET = "backup-test-secret-0123456789abcdef0123456789"
#: The schema of the previous release: every migration branch as it stood before Trace (0007),
#: Recap (0008), Telephony (0009) and the phone columns of Omni calls (0010) were added.
PREVIOUS_RELEASE = ("0002", "0003", "0004", "0005", "0006")
FAQ = "# Opening hours\n\nWe open at nine on Saturday and close at five.\n\n# Refunds\n\nRefunds take five days.\n"
SPOKEN = "The quick brown fox jumps over the lazy dog."


def _database(tmp: Path, backend: str) -> tuple[str, dict[str, str]]:
    """The SQLAlchemy URL of a fresh database and the env a ``pyai`` process needs to use it."""
    if backend == "postgres":
        url = create_pg_database()
        return url, {"PYAI_SECRET_KEY": SECRET, "PYAI_DATABASE_URL": url}
    tmp.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{(tmp / 'pyai.db').resolve()}", {"PYAI_SECRET_KEY": SECRET}


def _drop(url: str) -> None:
    if url.startswith("postgresql"):
        drop_pg_database(url)


def _execute(url: str, statements: list[tuple[str, dict]]) -> list[list[tuple]]:
    async def run() -> list[list[tuple]]:
        engine = create_async_engine(url)
        out = []
        try:
            async with engine.begin() as conn:
                for sql, params in statements:
                    result = await conn.execute(sa.text(sql), params)
                    out.append([tuple(r) for r in result] if result.returns_rows else [])
        finally:
            await engine.dispose()
        return out

    return asyncio.run(run())


def _insert(table: str, row: dict) -> tuple[str, dict]:
    cols = ", ".join(f'"{c}"' for c in row)
    return f"INSERT INTO {table} ({cols}) VALUES ({', '.join(':' + c for c in row)})", row


# ---- upgrade from the previous release ------------------------------------------------------------
def _old_release_rows(url: str, now: int) -> str:
    """Representative rows written with raw SQL against the previous release's schema; returns the
    plaintext API key of the old org."""
    token = keys.mint(SECRET.encode(), keys.KeyClaims("key_oldrelease1", "org_oldrelease", "live", None))
    j = json.dumps
    rows = [
        _insert(
            "orgs", {"id": "org_oldrelease", "name": "legacy", "status": "active", "plan": "payg", "created_at": now}
        ),
        _insert(
            "projects", {"id": "proj_oldrelease", "org_id": "org_oldrelease", "name": "default", "created_at": now}
        ),
        _insert(
            "api_keys",
            {
                "id": "key_oldrelease1",
                "org_id": "org_oldrelease",
                "project_id": "proj_oldrelease",
                "env": "live",
                "key_hash": keys.hash_key(token),
                "scopes": j(["*"]),
                "status": "active",
                "label": "from 0.0",
                "created_at": now,
            },
        ),
        _insert("credit_grants", {"org_id": "org_oldrelease", "cents": 1000, "reason": "grant", "created_at": now}),
        _insert(
            "usage_events",
            {
                "org_id": "org_oldrelease",
                "project_id": "proj_oldrelease",
                "key_id": "key_oldrelease1",
                "env": "live",
                "product": "hear",
                "meter": "hear.batch.minutes",
                "seconds": 600.0,
                "period": time.strftime("%Y-%m", time.gmtime(now / 1000)),
                "day": time.strftime("%Y-%m-%d", time.gmtime(now / 1000)),
                "source": "job:job_oldrelease",
                "created_at": now,
            },
        ),
        _insert(
            "jobs",
            {
                "id": "job_oldrelease",
                "org_id": "org_oldrelease",
                "kind": "transcription",
                "status": "completed",
                "payload": j({"options": {"model": "pyai-hear", "output_formats": ["json"]}, "audio_url": None}),
                "result": j({"result": {"text": "hello from the old release", "speakers": 1, "segments": []}}),
                "attempts": 1,
                "max_attempts": 3,
                "run_after": now,
                "created_at": now,
                "updated_at": now,
            },
        ),
        _insert(
            "agents",
            {
                "id": "agent_oldrelease",
                "org_id": "org_oldrelease",
                "name": "Old receptionist",
                "greeting": "Hello, old friend.",
                "brain_model": "pyai-brain",
                "barge_sensitivity": "medium",
                "ack_mode": "off",
                "recordings_enabled": False,
                "metadata": j({"tier": "gold"}),
                "keyterms": j(["Zyntrax"]),
                "goals": j(["book a table"]),
                "tools": j([]),
                "created_at": now,
                "updated_at": now,
            },
        ),
        _insert(
            "omni_calls",
            {
                "id": "call_oldrelease",
                "org_id": "org_oldrelease",
                "agent_id": "agent_oldrelease",
                "status": "completed",
                "end_reason": "client_closed",
                "rate": 16000,
                "started_at": now - 5000,
                "ended_at": now,
                "duration_ms": 5000,
                "turns": j([{"role": "user", "text": "is it open"}, {"role": "agent", "text": "until five"}]),
                "tools": j([]),
                "summary": j({"text": "asked about hours"}),
                "created_at": now - 5000,
                "updated_at": now,
            },
        ),
        _insert(
            "knowledge_bases",
            {"id": "kb_oldrelease", "org_id": "org_oldrelease", "name": "FAQ", "created_at": now},
        ),
        _insert(
            "kb_documents",
            {
                "id": "doc_oldrelease",
                "kb_id": "kb_oldrelease",
                "org_id": "org_oldrelease",
                "filename": "faq.md",
                "content_type": "text/markdown",
                "bytes": 40,
                "chunks": 1,
                "created_at": now,
            },
        ),
        _insert(
            "kb_chunks",
            {
                "kb_id": "kb_oldrelease",
                "org_id": "org_oldrelease",
                "document_id": "doc_oldrelease",
                "ordinal": 0,
                "content": "We open at nine on Saturday.",
            },
        ),
    ]
    if url.startswith("sqlite"):
        rows.append(
            (
                "INSERT INTO kb_chunks_fts(rowid, content, kb_id, org_id) "
                "SELECT id, content, kb_id, org_id FROM kb_chunks",
                {},
            )
        )
    _execute(url, rows)
    return token


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_previous_release_keeps_data(tmp_path: Path, backend: str) -> None:
    url, env = _database(tmp_path, backend)
    srv = Server(tmp_path, env)
    try:
        for revision in PREVIOUS_RELEASE:
            upgrade(url, revision)
        version = "SELECT version_num FROM alembic_version ORDER BY version_num"
        assert [r[0] for r in _execute(url, [(version, {})])[0]] == list(PREVIOUS_RELEASE)
        now = int(time.time() * 1000)
        token = _old_release_rows(url, now)

        assert "latest revision" in srv.cli("migrate").stdout  # the real CLI
        assert [r[0] for r in _execute(url, [(version, {})])[0]] == code_heads(url)
        srv.start()
        assert srv.admin_key is None  # the old org is there: no first-start bootstrap
        c = httpx.Client(base_url=srv.url, headers=srv.headers(token), timeout=30)

        me = c.get("/v1/me").json()
        assert (me["key_id"], me["org_id"], me["plan"]) == ("key_oldrelease1", "org_oldrelease", "payg")
        assert me["credit"]["available_cents"] == math.floor(1000 - price_cents("hear.batch.minutes", 600.0))

        agents = c.get("/v1/agents").json()["data"]
        assert [a["agent_id"] for a in agents] == ["agent_oldrelease"]
        agent = c.get("/v1/agents/agent_oldrelease").json()
        assert (agent["greeting"], agent["metadata"], agent["keyterms"]) == (
            "Hello, old friend.",
            {"tier": "gold"},
            ["Zyntrax"],
        )
        assert agent["created_at"] == now // 1000

        job = c.get("/v1/transcription/jobs/job_oldrelease").json()
        assert job["status"] == "completed" and job["result"]["text"] == "hello from the old release"

        call = c.get("/v1/omni/calls/call_oldrelease").json()
        assert call["status"] == "completed" and call["duration_s"] == 5.0
        assert [t["text"] for t in call["transcript"]["turns"]] == ["is it open", "until five"]
        assert call["phone"] is None  # the column 0010 added
        assert c.get("/v1/omni/calls/call_oldrelease/summary").status_code == 200

        hits = c.get("/v1/knowledge-bases/kb_oldrelease/search", params={"q": "when do you open on saturday"}).json()
        assert hits["data"] and "nine" in hits["data"][0]["content"]

        # the upgraded database takes new writes, including on the new tables and integer keys
        assert c.post("/v1/agents", json={"name": "New agent"}).status_code == 201
        doc = c.post("/v1/knowledge-bases/kb_oldrelease/documents", files={"file": ("faq.md", FAQ.encode())})
        assert doc.status_code == 201, doc.text
        hits = c.get("/v1/knowledge-bases/kb_oldrelease/search", params={"q": "how long do refunds take"}).json()
        assert "five days" in hits["data"][0]["content"]
        assert c.get("/v1/trace/interactions").json()["data"] == []  # tables the new migrations made answer
    finally:
        srv.stop()
        _drop(url)


# ---- export / import round trip ----------------------------------------------------------------------
#: Each hop exports the previous server and imports into a fresh database of the next kind.
CHAIN = ["sqlite", "postgres", "sqlite"] if "postgres" in BACKENDS else ["sqlite", "sqlite"]


def _reads(srv: Server, c: httpx.Client, ids: dict[str, str]) -> dict:
    """The API reads compared before and after the round trip."""
    job = c.get(f"/v1/transcription/jobs/{ids['job']}").json()
    srt_url = job["result"]["formats"]["srt"]
    parts = urlsplit(srt_url)
    srt = httpx.get(f"{srv.url}{parts.path}?{parts.query}", timeout=10)  # the same signed link, on this server
    job["result"]["formats"] = {k: urlsplit(v).path for k, v in job["result"]["formats"].items()}
    return {
        "me": c.get("/v1/me").json(),
        "agents": c.get("/v1/agents").json(),
        "agent": c.get(f"/v1/agents/{ids['agent']}").json(),
        "jobs": c.get("/v1/transcription/jobs").json(),
        "job": job,
        "srt": (srt.status_code, srt.text),
        "kb": c.get(f"/v1/knowledge-bases/{ids['kb']}").json(),
        # scores are the engine's (BM25 on SQLite, ts_rank_cd on PostgreSQL): compare the passages
        "search": [
            (h["content"], h["document_id"])
            for h in c.get(f"/v1/knowledge-bases/{ids['kb']}/search", params={"q": "how long do refunds take"}).json()[
                "data"
            ]
        ],
    }


def _check_archive(archive: Path, source: Server, url: str) -> None:
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        names = tar.getnames()
    assert manifest["format_version"] == 1 and manifest["alembic_revision"] == code_heads(url)
    assert manifest["source_dialect"] == ("postgresql" if url.startswith("postgresql") else "sqlite")
    counts = {t["name"]: t["rows"] for t in manifest["tables"]}
    assert counts == {name: source.query(f"SELECT COUNT(*) FROM {name}")[0][0] for name in counts}
    assert (counts["agents"], counts["jobs"], counts["api_keys"]) == (1, 1, 1)
    assert names[-1] == "manifest.json" and set(manifest["members"]) == set(names[:-1])
    assert any(n.endswith("/transcript.srt") for n in names)
    order = [t["name"] for t in manifest["tables"]]
    assert order.index("orgs") < order.index("projects") < order.index("api_keys")


def test_export_import_round_trip_across_databases(tmp_path: Path) -> None:
    """SQLite → PostgreSQL → SQLite (SQLite → SQLite without PostgreSQL): each server's API reads,
    and its signed subtitle link, answer the same after the move."""
    dbs = [_database(tmp_path / f"s{i}", backend) for i, backend in enumerate(CHAIN)]
    servers = [Server(tmp_path / f"s{i}", env) for i, (_, env) in enumerate(dbs)]
    try:
        first = servers[0].start()
        token = first.admin_key  # printed at first start
        c = httpx.Client(base_url=first.url, headers=first.headers(token), timeout=60)
        agent = c.post("/v1/agents", json={"name": "Backup agent", "greeting": "Hi", "metadata": {"tier": "gold"}})
        kb = c.post("/v1/knowledge-bases", json={"name": "FAQ"}).json()["id"]
        doc = c.post(f"/v1/knowledge-bases/{kb}/documents", files={"file": ("faq.md", FAQ.encode())})
        assert agent.status_code == 201 and doc.status_code == 201, (agent.text, doc.text)
        job = c.post(
            "/v1/transcription/jobs", files={"audio": ("a.wav", flite_wav(SPOKEN))}, data={"output_formats": "json,srt"}
        ).json()
        ids = {"agent": agent.json()["agent_id"], "kb": kb, "job": job["job_id"]}
        deadline = time.time() + 60
        while c.get(f"/v1/transcription/jobs/{ids['job']}").json()["status"] != "completed":
            assert time.time() < deadline, "transcription job did not complete"
            time.sleep(0.3)
        before = _reads(first, c, ids)
        assert before["srt"][0] == 200 and "fox" in before["srt"][1]
        assert before["search"] and "five days" in before["search"][0][0]

        for hop, (src, dest) in enumerate(zip(servers, servers[1:], strict=False)):
            archive = tmp_path / f"hop{hop}.tar"
            assert "exported" in src.cli("export", "--out", str(archive)).stdout  # while it serves: a snapshot
            _check_archive(archive, src, dbs[hop][0])
            src.stop()
            res = dest.cli("import", "--in", str(archive))
            assert "imported" in res.stdout and "warning" not in res.stderr, res.stderr
            dest.start()
            assert dest.admin_key is None
            c = httpx.Client(base_url=dest.url, headers=dest.headers(token), timeout=30)
            assert _reads(dest, c, ids) == before
            # new rows get integer keys after the imported ones (PostgreSQL's sequences were reset)
            chunks = dest.query("SELECT MAX(id) FROM kb_chunks")[0][0]
            more = c.post(
                f"/v1/knowledge-bases/{ids['kb']}/documents",
                files={"file": (f"more{hop}.md", b"# Parking\n\nParking is free after six.\n")},
            )
            assert more.status_code == 201, more.text
            doc_id = more.json()["id"]
            assert dest.query(f"SELECT MIN(id) FROM kb_chunks WHERE document_id = '{doc_id}'")[0][0] > chunks
            before = _reads(dest, c, ids)
    finally:
        for srv in servers:
            srv.stop()
        for url, _ in dbs:
            _drop(url)


# ---- refusals ------------------------------------------------------------------------------------------
def _rewrite(src: Path, dest: Path, edit) -> None:  # noqa: ANN001 - (name, bytes) -> bytes
    with tarfile.open(src) as tin, tarfile.open(dest, "w") as tout:
        for info in tin.getmembers():
            data = edit(info.name, tin.extractfile(info).read())
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


def test_import_refuses_damage_another_revision_and_data(tmp_path: Path) -> None:
    env = {"PYAI_SECRET_KEY": SECRET}
    src = Server(tmp_path / "src", env)
    src.create_key(credit_cents=10)
    archive = tmp_path / "ok.tar"
    src.cli("export", "--out", str(archive))

    def importing(name: str, path: Path, secret: str | None = SECRET) -> str:
        """``import_archive`` in this process (``pyai import`` is run below): the error or the warnings."""
        settings = Settings(data_dir=tmp_path / name, secret_key=secret)
        settings.ensure_dirs()
        upgrade(settings.resolved_database_url)
        try:
            return " ".join(asyncio.run(import_archive(settings, path)).warnings)
        except BackupError as e:
            return f"error: {e}"

    damaged = tmp_path / "damaged.tar"
    _rewrite(
        archive, damaged, lambda n, d: d.replace(b'"cents":10', b'"cents":99') if n.endswith("grants.jsonl") else d
    )
    assert importing("dest", damaged) == "error: tables/credit_grants.jsonl: sha256 mismatch, the archive is damaged"
    assert not any((tmp_path / "dest" / "blobs").iterdir())  # all or nothing: no staging left behind

    def older(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), "alembic_revision": list(PREVIOUS_RELEASE)}).encode()

    old = tmp_path / "old.tar"
    _rewrite(archive, old, older)
    refused = importing("dest", old)
    assert "0002,0003,0004,0005,0006" in refused and "pyai migrate" in refused

    assert "no server secret yet" in importing("nosecret", archive, secret=None)
    assert "server secret here differs" in importing("othersecret", archive, secret="another-secret")

    dest = Server(tmp_path / "dest", env)
    assert "imported" in dest.cli("import", "--in", str(archive)).stdout  # the damaged attempt left no rows
    assert dest.query("SELECT cents FROM credit_grants") == [(10,)]
    again = dest.cli("import", "--in", str(archive), check=False)
    assert again.returncode == 1 and "the database is not empty (rows in orgs" in again.stderr

    stale = Settings(data_dir=tmp_path / "stale", secret_key=SECRET)  # export reads only a current schema
    stale.ensure_dirs()
    for revision in PREVIOUS_RELEASE:
        upgrade(stale.resolved_database_url, revision)
    with pytest.raises(BackupError, match="run `pyai migrate` first"):
        asyncio.run(export_archive(stale, tmp_path / "stale.tar"))
    assert not (tmp_path / "stale.tar").exists()
