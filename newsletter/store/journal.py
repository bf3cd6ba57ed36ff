"""The send journal: every outcome the SMTP server acknowledged, kept in a local file at once.

Each is appended the moment the reply arrives, so that a kill -9 or a lost database between the reply and the
ledger's batched commit repeats only the messages truly in flight. The next send or worker applies the journals of
senders that are gone, then removes them.

One file per campaign run (`<state>/journal/<database>/<tag>.journal`, private), first line the lease
owner, then one JSON line per outcome. Each line is one write() to an O_APPEND file, so it survives the
process being killed at once; a thread fdatasyncs what was written (group commit: one sync covers every
line written since the last, so a slow disk does not slow the senders down) for power loss, at most every
SYNC_EVERY seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from newsletter import owners
from newsletter.errors import StoreError
from newsletter.models import Outcome

log = logging.getLogger(__name__)

# Journals this process has open (a scheduler runs one campaign after another in the same process, and
# a failed one leaves its journal to be applied by the next).
_OPEN: set[Path] = set()
_OPEN_LOCK = threading.Lock()

# A sync per reply (400 a second) made the sending thread hand the GIL to the syncer and back each time,
# and each sync waited on the disk behind the ledger's commits: 2,000 digests took 5.1 s, not 4.5 s. At
# most one sync per 50 ms costs nothing measurable, and a power loss repeats at most that much sending.
SYNC_EVERY = 0.05


class JournalTarget(Protocol):
    """Where a journal's outcomes are recorded (the delivery ledger)."""

    def apply_journal(self, owner: str, outcomes: Sequence[Outcome]) -> int: ...


def folder(state_dir: str | os.PathLike[str], database_identity: str) -> Path:
    """The journals of one database (a digest of its identity: the URL holds a password)."""
    key = hashlib.sha256(database_identity.encode()).hexdigest()[:16]
    return Path(state_dir) / "journal" / key


class Journal:
    def __init__(self, directory: Path, owner: str) -> None:
        self.directory = directory
        self.owner = owner
        self.path = directory / f"{uuid.uuid4().hex}.journal"
        self._fd: int | None = None
        self._dirty = threading.Event()
        self._closing = threading.Event()
        self._syncer: threading.Thread | None = None

    def append(self, outcome: Outcome) -> None:
        """Keep one acknowledged outcome; StoreError if the journal cannot be written."""
        line = json.dumps(
            {
                "id": outcome.delivery_id,
                "ok": outcome.ok,
                "code": outcome.code,
                "reply": outcome.reply,
                "message_id": outcome.message_id,
                "transient": outcome.transient,
                "retry_at": outcome.retry_at.isoformat() if outcome.retry_at else None,
            },
            ensure_ascii=False,
        )
        self.open()
        assert self._fd is not None
        try:
            _write_all(self._fd, (line + "\n").encode())
        except OSError as exc:
            raise StoreError(f"cannot write the send journal {self.path}: {exc.strerror}") from None
        self._dirty.set()

    def open(self) -> None:
        """Make the journal (once), before this sender claims rows: a sender of this machine that dies holding
        rows has left one, so a missing journal means it lies in another folder (another `paths.state`),
        never that there was nothing to record."""
        if self._fd is not None:
            return
        try:
            self._open()
        except OSError as exc:
            raise StoreError(f"cannot write the send journal {self.path}: {exc.strerror}") from None

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _OPEN_LOCK:  # before the file exists: a recovery in another thread must never take it
            _OPEN.add(self.path)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._fd = fd
        _write_all(fd, (json.dumps({"owner": self.owner}) + "\n").encode())
        os.fsync(fd)
        _sync_directory(self.directory)  # the file's name survives a power loss too
        self._syncer = threading.Thread(target=self._sync, name="journal-sync", daemon=True)
        self._syncer.start()

    def _sync(self) -> None:
        while True:
            self._dirty.wait()
            self._dirty.clear()
            fd = self._fd
            if fd is None:
                return
            try:
                os.fdatasync(fd)
            except OSError as exc:
                log.warning("cannot sync the send journal %s: %s", self.path, exc.strerror)
            if self._closing.wait(SYNC_EVERY):
                return

    def close(self, recorded: bool) -> None:
        """Stop writing; with `recorded` (every outcome is in the ledger) the journal is removed, else it
        is synced and kept for the next send to apply."""
        if self._fd is None:
            return
        self._closing.set()
        self._dirty.set()
        if self._syncer is not None:
            self._syncer.join()
        fd, self._fd = self._fd, None
        try:
            if not recorded:
                os.fsync(fd)
        except OSError as exc:  # written all the same: only a power loss now could cost a line
            log.warning("cannot sync the send journal %s: %s", self.path, exc.strerror)
        finally:
            os.close(fd)
            with _OPEN_LOCK:
                _OPEN.discard(self.path)
        if recorded:
            self.path.unlink(missing_ok=True)

    def recover(self, ledger: JournalTarget) -> dict[str, int]:
        """Apply the journals of this database's senders that are gone (and of this process's earlier
        runs), then remove them; by owner, how many outcomes that recorded."""
        applied: dict[str, int] = {}
        if not self.directory.is_dir():
            return applied
        for path in sorted(self.directory.glob("*.journal")):
            with _OPEN_LOCK:
                if path in _OPEN:
                    continue
            owner, outcomes = _read(path)
            if owner is None:
                continue
            if not (owners.gone(owner) or owners.pid_of(owner) == os.getpid()):
                continue
            applied[owner] = applied.get(owner, 0) + (ledger.apply_journal(owner, outcomes) if outcomes else 0)
            path.unlink(missing_ok=True)
        return applied


def _read(path: Path) -> tuple[str | None, list[Outcome]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None, []  # another starting sender applied it first
    lines = iter(text.splitlines())
    try:
        owner = json.loads(next(lines))["owner"]
    except (StopIteration, ValueError, KeyError, TypeError):
        return None, []
    return str(owner), list(_outcomes(lines, path))


def _outcomes(lines: Iterator[str], path: Path) -> Iterator[Outcome]:
    for number, line in enumerate(lines, start=2):
        try:
            entry = json.loads(line)
            yield Outcome(
                delivery_id=int(entry["id"]),
                ok=bool(entry["ok"]),
                code=int(entry["code"]),
                reply=str(entry["reply"]),
                message_id=entry["message_id"],
                transient=bool(entry["transient"]),
                retry_at=datetime.fromisoformat(entry["retry_at"]) if entry["retry_at"] else None,
            )
        except (ValueError, KeyError, TypeError):
            # Only a line cut short by a power loss can be torn: the message it names is sent again.
            log.warning("%s line %d: unreadable, skipped", path, number)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
