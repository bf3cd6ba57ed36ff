"""A capture SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives and can refuse on purpose.

Used by `newsletter demo` and by the tests; a refusal rule maps a recipient to an SMTP reply code.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

REPLIES = {
    421: "421 4.7.0 Try again later, closing connection",
    450: "450 4.2.1 Mailbox busy, try again later",
    451: "451 4.3.0 Local error in processing",
    550: "550 5.1.1 No such user here",
    553: "553 5.1.3 Mailbox name not allowed",
    552: "552 5.2.2 Mailbox full",
    554: "554 5.7.1 Message rejected",
    530: "530 5.7.0 Authentication required",
}


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    data: bytes
    mail_options: tuple[str, ...] = ()

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class CaptureHandler:
    """Records accepted messages, with faults on demand: `refuse` rejects a recipient at RCPT with a code,
    `refuse_data` rejects its message at DATA, `drop_data` closes the connection in the middle of DATA, and
    `data_delay` holds every DATA reply for that many seconds (a slow server), and `no_8bitmime` leaves
    8BITMIME out of the EHLO answer (an old server), `no_smtputf8` SMTPUTF8 (a server that takes ASCII addresses
    only); `refuse_sender` rejects every MAIL FROM with a code (a relay that wants a login, or not this sender)."""

    messages: list[Received] = field(default_factory=list)
    refuse: dict[str, int] = field(default_factory=dict)
    refuse_data: dict[str, int] = field(default_factory=dict)
    drop_data: set[str] = field(default_factory=set)
    data_delay: float = 0.0
    no_8bitmime: bool = False
    no_smtputf8: bool = False
    refuse_sender: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [
            r
            for r in responses
            if not (self.no_8bitmime and r.endswith("8BITMIME")) and not (self.no_smtputf8 and r.endswith("SMTPUTF8"))
        ]

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.refuse_sender is not None:
            return REPLIES.get(self.refuse_sender, f"{self.refuse_sender} refused by test rule")
        envelope.mail_from, envelope.mail_options = address, list(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        code = self.refuse.get(address.lower())
        if code is not None:
            return REPLIES.get(code, f"{code} refused by test rule")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        recipient = envelope.rcpt_tos[0].lower() if envelope.rcpt_tos else ""
        if recipient in self.drop_data:
            assert server.transport is not None
            server.transport.close()
            return "421 4.4.2 Connection dropped"
        if recipient in self.refuse_data:
            code = self.refuse_data[recipient]
            return REPLIES.get(code, f"{code} refused by test rule")
        content: Any = envelope.original_content or envelope.content
        with self.lock:
            self.messages.append(
                Received(
                    str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(content), tuple(envelope.mail_options)
                )
            )
        return "250 2.0.0 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CaptureServer:
    """`with CaptureServer() as server:` runs aiosmtpd on 127.0.0.1:server.port in a thread.

    Extra keyword arguments go to aiosmtpd's SMTP (tls_context, require_starttls, auth_required,
    authenticator, …)."""

    def __init__(
        self,
        port: int | None = None,
        handler: CaptureHandler | None = None,
        ssl_context: Any = None,
        **smtp: Any,
    ) -> None:
        self.handler = handler or CaptureHandler()
        self.port = port or free_port()
        # ssl_context: TLS from the first byte (implicit TLS, port 465 style); tls_context in **smtp: STARTTLS.
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ssl_context=ssl_context, **smtp
        )

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def __enter__(self) -> CaptureServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
