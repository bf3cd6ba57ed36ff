"""Who holds a lease: `host:pid:tag` names one sender of one machine, and tells whether it is gone."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path


def new_owner() -> str:
    """A lease owner for one run of the campaign loop in this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def pid_of(owner: str) -> int | None:
    """The process id of an owner of this machine; None for another machine's (or a malformed) owner."""
    parts = owner.split(":")
    if len(parts) >= 3 and parts[0] == socket.gethostname() and parts[1].isdigit():
        return int(parts[1])
    return None


def gone(owner: str) -> bool:
    """A sender of this machine whose process no longer exists (kill -9, a crash)."""
    pid = pid_of(owner)
    return pid is not None and not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A process that has died but that its parent has not reaped yet (a shell's killed background job):
    it answers signal 0 like a live one. Linux tells it in /proc; elsewhere it counts as alive."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] == "Z"  # the state follows the (command name)
