"""The embedded PostgreSQL brought back when it dies under ``kaigo serve``.

An external server has its own supervisor (systemd, the container runtime); the embedded one had none:
after it died, the API answered 503 until someone restarted it by hand. :class:`Supervisor`, a thread
of ``kaigo serve``, checks every second that the postmaster still runs and otherwise starts it again on
the same data directory and socket (PostgreSQL's crash recovery replays the WAL: nothing committed is
lost), waiting 1, 2, 4 … up to 30 s between failed attempts. The workers' pools replace their dead
connections by themselves (persistence/db.py). Its state — ``running`` or ``restarting``, and the
number of restarts — is a small JSON file that ``/readyz`` reads (KAIGO_EMBEDDED_STATE).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # /readyz reads the state: production never loads the embedded binaries
    from .embedded import EmbeddedServer

__all__ = ["Supervisor", "read_state"]

log = logging.getLogger("kaigo.embedded")

MAX_BACKOFF: Final = 30.0


class Supervisor:
    """Restarts the embedded server on ``data_dir`` whenever its postmaster is gone, until :meth:`stop`."""

    def __init__(
        self,
        server: EmbeddedServer,
        data_dir: Path,
        state_file: Path,
        *,
        settings: Mapping[str, str] | None = None,
        every: float = 1.0,
        starter: Callable[..., EmbeddedServer] | None = None,
    ) -> None:
        from .embedded import start

        self.server, self.data_dir, self.state_file = server, data_dir, state_file
        self.settings, self.every, self.starter = settings, every, starter or start
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="embedded-postgres-supervisor", daemon=True)

    def start(self) -> None:
        self._write("running")
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (before the server itself is stopped: it must not be brought back then)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=120)  # a restart under way finishes first
        self.state_file.unlink(missing_ok=True)

    def _watch(self) -> None:
        from .embedded import postmaster_alive

        while not self._stopping.wait(self.every):
            if postmaster_alive(self.server):
                continue
            log.warning("the embedded PostgreSQL is gone; starting it again")
            self._write("restarting")
            self._restart()

    def _restart(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                self.server = self.starter(self.data_dir, log=log, settings=self.settings)
            except Exception as exc:  # a start that fails (disk full, a port of a leftover …): try again
                log.error("the embedded PostgreSQL did not start (%s); next try in %.0f s", exc, backoff)
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            self.restarts += 1
            log.warning("the embedded PostgreSQL runs again (restart %d)", self.restarts)
            self._write("running")
            return

    def _write(self, state: str) -> None:
        record = {"state": state, "restarts": self.restarts, "at": dt.datetime.now(dt.UTC).isoformat()}
        tmp = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(record))
            tmp.replace(self.state_file)
        except OSError as exc:
            log.warning("embedded PostgreSQL state not written: %s", exc)


def read_state(path: Path) -> dict[str, Any] | None:
    """The supervisor's last state, or None (no supervisor, or the file unreadable)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
