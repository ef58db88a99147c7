"""One sender per campaign: an exclusive ``flock`` on a lock file beside the database.

``flock`` rather than a pid file because the kernel releases it when the holder dies, however it
dies (SIGKILL, power cut of a container), so a crash never leaves a stale lock to clean up by
hand. The file is never deleted: deleting it could let two processes lock two different files.
The holder writes its pid into it, only so that the refusal can say who holds it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from pathlib import Path
from types import TracebackType

from postduif.errors import SendError


def lock_path(database: Path, campaign: str) -> Path:
    """``<database>.send-<campaign>.lock``; a name with odd characters gets a hash suffix."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", campaign)
    if safe != campaign:
        safe += "-" + hashlib.sha256(campaign.encode()).hexdigest()[:12]
    return database.with_name(f"{database.name}.send-{safe}.lock")


class CampaignLock:
    """Held for the whole of a delivery; raises :class:`SendError` if another process has it."""

    def __init__(self, database: Path, campaign: str) -> None:
        self.path = lock_path(database, campaign)
        self.campaign = campaign
        self._fd: int | None = None

    def __enter__(self) -> CampaignLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise SendError(f"campaign {self.campaign} is being sent by another process "
                            f"(pid {holder})", hint="wait for it to finish, or stop it first"
                            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
