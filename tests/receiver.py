"""A local HTTP endpoint for tests that need the server to call out (webhooks, tool calls, remote
engines, knowledge endpoints): a handler class served on a free loopback port in a thread."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A handler that does not print a line per request."""

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` on ``http://127.0.0.1:<free port>`` until the block ends; yields that base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def recording_handler() -> type[QuietHandler]:
    """A webhook receiver class keeping every POST as ``(headers, raw body)`` in its ``received``
    (a fresh class, so each test module has its own list)."""

    class Recording(QuietHandler):
        received: list[tuple[dict, bytes]] = []

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"]))
            self.received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

    return Recording
