"""The IMAP mailbox of returned mail: each message handed over, then moved, never deleted.

Read with the stdlib's imaplib: every message in `inbox.folder` is handed over, then moved to
`inbox.processed_folder` (never deleted); one that could not be handled stays for the next poll."""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TypeVar

from newsletter.config import InboxSettings
from newsletter.errors import InboxError


@dataclass(frozen=True)
class PollResult:
    read: int
    moved: int


def _quote(folder: str) -> str:
    """An IMAP quoted string (folder names may hold spaces)."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


_T = TypeVar("_T")


def _check(answer: tuple[str, list[_T]], what: str) -> list[_T]:
    status, data = answer
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise imaplib.IMAP4.error(f"{what}: {status} {detail}".strip())
    return data


class Inbox:
    def __init__(self, settings: InboxSettings) -> None:
        self.settings = settings

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    @contextmanager
    def _session(self) -> Iterator[imaplib.IMAP4]:
        s = self.settings
        if s.tls == "none" and not s.allow_plain_auth:
            raise InboxError(
                f"IMAP server {self.where}: refusing to send the password of '{s.username}' over a plain "
                "connection; set 'inbox.tls' to starttls or implicit, or 'inbox.allow_plain_auth = true' for a "
                "trusted local server"
            )
        context = ssl.create_default_context(cafile=s.ca_file or None)
        step = "connect"
        client: imaplib.IMAP4 | None = None
        try:
            if s.tls == "implicit":
                client = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=context, timeout=s.timeout)
            else:
                client = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
                if s.tls == "starttls":
                    step = "STARTTLS"
                    client.starttls(ssl_context=context)
            step = f"login as '{s.username}'"
            client.login(s.username, s.password)
            step = "read the folder"
            yield client
        except ssl.SSLError as exc:
            raise InboxError(f"IMAP server {self.where}: TLS failed ({exc.reason or exc})") from None
        except imaplib.IMAP4.error as exc:
            raise InboxError(f"IMAP server {self.where}: {step} failed: {_text(exc)}") from None
        except OSError as exc:  # TimeoutError included
            raise InboxError(f"cannot reach IMAP server {self.where}: {exc.strerror or 'timed out'}") from None
        finally:
            if client is not None:
                with suppress(imaplib.IMAP4.error, OSError):
                    client.logout()

    def poll(self, handle: Callable[[str, bytes], None]) -> PollResult:
        """Hand every message of the folder to `handle`, then move it; an exception from `handle` stops
        the poll and leaves that message (and the rest) where they are."""
        s = self.settings
        read = moved = 0
        with self._session() as client:
            client.create(_quote(s.processed_folder))  # answers NO when it exists: fine
            _check(client.select(_quote(s.folder)), f"SELECT {s.folder}")
            found = _check(client.uid("SEARCH", "ALL"), "SEARCH")
            uids = [u.decode() for u in found[0].split()] if found and isinstance(found[0], bytes) else []
            # Asked after login: servers announce MOVE (RFC 6851) only to a logged-in client.
            capabilities = _check(client.capability(), "CAPABILITY")
            can_move = b"MOVE" in bytes(capabilities[0] or b"").upper().split()
            for uid in uids:
                data = _check(client.uid("FETCH", uid, "(BODY.PEEK[])"), f"FETCH {uid}")
                raw = next((d[1] for d in data if isinstance(d, tuple) and len(d) == 2), None)
                if not isinstance(raw, bytes):
                    continue  # vanished meanwhile (another client moved it)
                read += 1
                handle(f"imap {s.folder} uid {uid}", raw)
                self._move(client, uid, can_move)
                moved += 1
            if not can_move and moved:
                client.expunge()
        return PollResult(read, moved)

    def _move(self, client: imaplib.IMAP4, uid: str, can_move: bool) -> None:
        target = _quote(self.settings.processed_folder)
        if can_move:  # RFC 6851: atomic
            _check(client.uid("MOVE", uid, target), f"MOVE {uid}")
            return
        _check(client.uid("COPY", uid, target), f"COPY {uid}")
        _check(client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), f"STORE {uid}")


def _text(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return re.sub(r"\s+", " ", text).strip()
