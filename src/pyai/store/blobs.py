"""Local blob store with HMAC-signed, expiring URLs served by the server itself.

Recordings, previews, srt/vtt files and offloaded results live here; clients reach them through
``/v1/files/<key>?exp=…&sig=…`` links that need no API key but cannot be forged or reused after
they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import time
from pathlib import Path
from urllib.parse import quote

_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./")


class BlobStore:
    def __init__(self, root: Path, secret: bytes) -> None:
        self.root = root.resolve()
        self.secret = secret

    def _path(self, key: str) -> Path:
        if not key or not set(key) <= _SAFE or ".." in key or key.startswith("/"):
            raise ValueError(f"invalid blob key {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        """Write atomically (tmp + rename) so a crash never leaves half a file behind."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def put_file(self, key: str, source: Path) -> None:
        """Move a finished local file in (a big blob, such as a call recording, never passes through
        memory); atomic like ``put``. ``source`` is gone afterwards."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        shutil.move(source, tmp)  # a rename when both are on one filesystem
        tmp.replace(path)

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def file_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def _sig(self, key: str, exp: int) -> str:
        return hmac.new(self.secret, f"blob:{key}:{exp}".encode(), hashlib.sha256).hexdigest()[:32]

    def signed_path(self, key: str, ttl_seconds: int = 24 * 3600) -> str:
        exp = int(time.time()) + ttl_seconds
        return f"/v1/files/{quote(key)}?exp={exp}&sig={self._sig(key, exp)}"

    def verify(self, key: str, exp: int, sig: str) -> bool:
        return exp >= time.time() and hmac.compare_digest(sig, self._sig(key, exp))
