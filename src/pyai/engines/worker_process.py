"""Engine worker processes that end with the server that started them.

The pocketsphinx decoders run in ``ProcessPoolExecutor`` workers (spawned). When the server
exits without shutting its pools down — ``kill -9``, a crash, or an exit before the executors'
management threads have stopped them — those workers were re-parented to init and lived on,
idle, ~180 MB each (a test run left a dozen behind). Each worker therefore watches its parent
and exits once it is gone.
"""

from __future__ import annotations

import os
import threading
import time

POLL_SECONDS = 1.0


def exit_with_parent(parent: int) -> None:
    """Call in a worker's initializer with the pid of the process that created the pool (passed
    in ``initargs``, not read here: a server stopped while its workers were still starting has
    already re-parented them to init by the time they run this). A daemon thread then ends the
    worker once that parent is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(POLL_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
