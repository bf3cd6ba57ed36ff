"""The aiosmtplib Mailer: one reused connection, reconnect on drop, every reply reduced to (code, text)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl

import aiosmtplib

from newsletter.config import SmtpSettings
from newsletter.deliver.mailer import CONNECTION_LOST, is_transient
from newsletter.errors import DeliveryError, SmtpUnreachable
from newsletter.mime import seven_bit
from newsletter.models import Outgoing, SendResult

AUTHENTICATION_REQUIRED = 530  # RFC 4954: the server wants a login before it takes mail from us
# MAIL FROM replies about this message, not about us: too big for the server's SIZE (552), parameters it does
# not take (555, such as SMTPUTF8 for this one address). Any other refusal there is the sender's.
THIS_MESSAGE = (552, 555)
POLICY = re.compile(r"5\.7\.\d{1,3}\b")


class SmtpMailer:
    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    async def open(self) -> None:
        """Connect (and log in); a refused connection is a DeliveryError that names the server."""
        s = self.settings
        if s.username and s.tls == "none" and not s.allow_plain_auth:
            raise DeliveryError(
                f"SMTP server {self.where}: refusing to send the password of '{s.username}' over a plain "
                "connection; set 'smtp.tls' to starttls or implicit, or 'smtp.allow_plain_auth = true' for a "
                "trusted local relay"
            )
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            use_tls=s.tls == "implicit",
            start_tls=s.tls == "starttls",
            tls_context=ssl.create_default_context(cafile=s.ca_file or None) if s.tls != "none" else None,
        )
        try:
            await client.connect()
            if s.username:
                await client.login(s.username, s.password)
            if client.is_ehlo_or_helo_needed:  # the extensions (8BITMIME) must be known before the first send
                await client.ehlo()
        except aiosmtplib.SMTPAuthenticationError as exc:
            kind = SmtpUnreachable if _passes(exc) else DeliveryError  # 454: a temporary failure
            raise kind(f"SMTP server {self.where} refused the login for '{s.username}': {exc.code}") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            kind = SmtpUnreachable if _passes(exc) else DeliveryError
            raise kind(f"cannot connect to SMTP server {self.where}: {_reason(exc)}") from None
        self._client = client

    async def send(self, outgoing: Outgoing) -> SendResult:
        if self._client is None or not self._client.is_connected:
            try:
                await self.open()
            except DeliveryError as exc:
                return _failure(outgoing, CONNECTION_LOST, str(exc))
        client = self._client
        assert client is not None
        data, options, encoding = outgoing.data, [], "ascii"
        if not (outgoing.recipient.isascii() and outgoing.sender.isascii()):
            # A local part that is not ASCII (the domain went as IDNA already) needs the server's SMTPUTF8.
            if not client.supports_extension("smtputf8"):
                reply = "5.6.7 the SMTP server does not take non-ASCII addresses (no SMTPUTF8): held for send --resend"
                return SendResult(outgoing.recipient, ok=False, code=553, reply=reply, transient=True, held=True)
            options, encoding = ["SMTPUTF8"], "utf-8"
        if not data.isascii():  # 8bit bodies: announced as such, or converted for a server without 8BITMIME
            if client.supports_extension("8bitmime"):
                options.append("BODY=8BITMIME")
            else:
                data = seven_bit(data)
        if client.supports_extension("size"):
            # The message is CRLF throughout already: its length is the size on the wire. (sendmail() would
            # rewrite every line ending of a copy just to count them, on top of the copy DATA makes.)
            options.insert(0, f"size={len(data)}")
        try:
            # One recipient: MAIL, RCPT, DATA are sendmail() without its passes over the message.
            try:
                await client.mail(outgoing.sender, options=options, encoding=encoding)
            except aiosmtplib.SMTPResponseException as exc:
                await self._reset()
                if exc.code in THIS_MESSAGE:
                    return _failure(outgoing, exc.code, exc.message)
                return _refused_sender(outgoing, exc)
            await client.rcpt(outgoing.recipient, encoding=encoding)
            reply = await _data(client, data)
        except aiosmtplib.SMTPResponseException as exc:  # RCPT or DATA refused
            await self._reset()
            if exc.code == AUTHENTICATION_REQUIRED:
                return _refused_sender(outgoing, exc)
            return _failure(outgoing, exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._drop()
            return _failure(outgoing, CONNECTION_LOST, _reason(exc))
        return SendResult(outgoing.recipient, ok=True, code=250, reply=reply)

    async def _reset(self) -> None:
        """After a refused message, RSET so the connection can carry the next one; drop it if that fails."""
        if self._client is None:
            return
        try:
            await self._client.rset()
        except (aiosmtplib.SMTPException, OSError):
            await self._drop()

    async def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None

    async def close(self) -> None:
        if self._client is not None and self._client.is_connected:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._client.close()
        self._client = None


async def _data(client: aiosmtplib.SMTP, data: bytes) -> str:
    """DATA, then the message dot-stuffed, then the final dot; the server's reply text.

    aiosmtplib's data() runs two regular expressions over every message (line endings, leading dots):
    half a millisecond per digest, more than composing it. A composed message is CRLF throughout already,
    which two counts confirm, so the leading dots are all that is left, and bytes.replace does them. The
    message is written outside the library's command lock: the pool lends a connection to one send at a
    time. A timeout or a lost connection is raised, and the caller drops the connection, so a late reply
    never pairs with the next command."""
    if data.count(b"\n") != data.count(b"\r\n") or data.count(b"\r") != data.count(b"\r\n"):
        data = LINE_ENDINGS.sub(b"\r\n", data)  # not ours (a seven_bit copy is CRLF too): the library's rule
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    start = await client.execute_command(b"DATA")
    if start.code != 354:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    protocol = client.protocol
    assert protocol is not None  # the 354 came over it, and nothing was awaited since
    protocol.write(stuffed + b".\r\n")
    response = await protocol.read_response(timeout=client.timeout)
    if response.code != 250:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    return response.message


# Lone CR or LF, and CRLF, as aiosmtplib's DATA normalises them.
LINE_ENDINGS = re.compile(rb"\r\n|\n|\r(?!\n)")


def _refused_sender(outgoing: Outgoing, exc: aiosmtplib.SMTPResponseException) -> SendResult:
    reply = exc.message.strip()
    return SendResult(outgoing.recipient, ok=False, code=exc.code, reply=reply, transient=True, refused_sender=True)


def _failure(outgoing: Outgoing, code: int, reply: str) -> SendResult:
    reply = reply.strip()
    if code == 555 or (code >= 500 and POLICY.match(reply)):
        # RFC 3463 X.7.X (security or policy): our relay or a filter refused this message, which says nothing
        # about whether the address takes mail; nor does 555 (a parameter the server does not take). Not a
        # bounce: held for `send --resend` once it is fixed.
        return SendResult(outgoing.recipient, ok=False, code=code, reply=reply, transient=True, held=True)
    return SendResult(outgoing.recipient, ok=False, code=code, reply=reply, transient=is_transient(code))


def _passes(exc: BaseException) -> bool:
    """Whether a failure to open a session may pass by itself (the server down or busy: a 4xx reply, no
    connection), unlike a TLS handshake that fails or a refused login, which are the settings'. aiosmtplib
    wraps a TLS failure in a connection error: the causes are looked at too."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return False
        cause = cause.__cause__
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return 400 <= exc.code < 500
    # Not reached at all (refused, reset, timed out, dropped before the greeting): aiosmtplib's connect,
    # timeout and disconnect errors are OSErrors too.
    return isinstance(exc, OSError)


_SSL_TEXT = re.compile(r"\]\s*(.*?)\s*\(_ssl\.c:\d+\)")


def _reason(exc: BaseException) -> str:
    """The root cause in a few words ('Connection refused', 'TLS failed: certificate verify failed: …'),
    not the wrapper's restatement of host and port."""
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return "timed out"
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    if isinstance(root, ssl.SSLError):
        # An SSLError is an OSError whose errno (1) would read "Operation not permitted".
        found = _SSL_TEXT.search(str(root))
        why = found.group(1) if found else (root.reason or type(root).__name__)
        hint = " (does the server speak TLS on this port? see 'smtp.tls')" if "WRONG_VERSION" in str(root) else ""
        return f"TLS failed: {why}{hint}"
    if isinstance(root, aiosmtplib.SMTPException) and "AUTH extension is not supported" in str(root):
        # aiosmtplib's text suggests STARTTLS whatever the connection: say what is known.
        return (
            "the server offers no login (SMTP AUTH) here: leave 'smtp.username' empty for a relay that needs "
            "none, or set 'smtp.tls' for one that offers it over TLS only"
        )
    if isinstance(root, aiosmtplib.SMTPException) and "STARTTLS extension not supported" in str(root):
        return "TLS failed: the server does not offer STARTTLS (see 'smtp.tls')"
    if isinstance(root, socket.gaierror):  # its errno is the resolver's, which os.strerror calls 'Unknown error'
        return f"host not found ({root.strerror})"
    if isinstance(root, OSError) and root.errno is not None:
        return os.strerror(root.errno)
    text = str(root).strip() or type(root).__name__
    return text.splitlines()[0]


class SmtpPool:
    """`pool_size` reused connections; a send borrows an idle one, so concurrency never exceeds the pool."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._all = [SmtpMailer(settings) for _ in range(settings.pool_size)]
        self._idle: asyncio.Queue[SmtpMailer] = asyncio.Queue()

    async def open(self) -> None:
        """Connect the first connection now, so a server that is down fails the run before anything is
        claimed; the others connect on their first message."""
        await self._all[0].open()
        for connection in self._all:
            self._idle.put_nowait(connection)

    async def send(self, outgoing: Outgoing) -> SendResult:
        connection = await self._idle.get()
        try:
            return await connection.send(outgoing)
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self._all))
