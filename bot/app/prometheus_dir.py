"""Where the HTTP processes of `shipbot serve --workers N` keep their Prometheus counters.

prometheus_client picks how it keeps values when it is first imported: in files under
``PROMETHEUS_MULTIPROC_DIR`` if that variable is set, else in memory. So `serve` settles the
variable here, before anything imports prometheus_client: its own fresh directory with several
HTTP processes, none with one (a value already in the environment is dropped). This module
imports nothing of prometheus_client.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for it


@contextlib.contextmanager
def metrics_dir(workers: int) -> Iterator[str | None]:
    """With several HTTP processes, a fresh directory (in $TMPDIR) where each keeps its
    counters for every scrape to sum (prometheus_client's multiprocess mode), set in
    ``PROMETHEUS_MULTIPROC_DIR`` for the processes to inherit and removed at exit. One process
    keeps them in memory: None, and the variable is dropped."""
    os.environ.pop(MULTIPROC_VARIABLE, None)
    if workers <= 1:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="shipbot-prometheus-") as directory:
        os.environ[MULTIPROC_VARIABLE] = directory
        yield directory
