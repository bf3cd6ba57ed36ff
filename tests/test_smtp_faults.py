"""Delivery against a misbehaving SMTP server (aiosmtpd with injected faults, a raw 421 server, STARTTLS, AUTH)."""

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import aiosmtplib
import pytest

from newsletter import pipeline
from newsletter.capture import CaptureServer
from newsletter.deliver.mailer import CONNECTION_LOST
from newsletter.deliver.smtp import SmtpMailer
from newsletter.errors import DeliveryError
from newsletter.models import DeliveryState, Outgoing, Status, SubscriberChanges
from newsletter.readers import subscriptions
from tests.conftest import base_settings
from tests.factories import ISSUE, make_paper

READERS = ["ada@example.com", "bob@example.com", "cy@example.com"]


@pytest.fixture
def app(tmp_path, sqlite_template, smtp_server):
    path = tmp_path / "faults.db"
    shutil.copy(sqlite_template, path)
    settings = base_settings(
        database={"url": f"sqlite:///{path}"},
        smtp={"host": "127.0.0.1", "port": smtp_server.port, "retry_base": 0.001, "retry_wait": 0, "timeout": 2},
    )
    ctx = pipeline.Context.open(settings)
    ctx.papers.upsert([make_paper(title="Circuits in transformer language models", abstract="interpretability")])
    for email in READERS:
        subscriptions.add(settings, ctx.subscribers, email, SubscriberChanges(topics=("transformer circuits",)))
    yield ctx
    ctx.close()


def send(ctx, **smtp):
    ctx = pipeline.Context(ctx.settings.replace(smtp=smtp), ctx.db) if smtp else ctx
    return pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=ISSUE, show_progress=False))


def state(ctx, email):
    return ctx.deliveries.get(ctx.subscribers.get(email).id, ISSUE)


@pytest.mark.parametrize(("code", "transient"), [(450, True), (451, True), (550, False), (553, False)])
def test_rcpt_replies(app, smtp_server, code, transient) -> None:
    smtp_server.handler.refuse["bob@example.com"] = code
    summary = send(app)
    assert summary.sent == 2
    assert state(app, "bob@example.com").state is (
        DeliveryState.FAILED_TRANSIENT if transient else DeliveryState.FAILED_PERMANENT
    )
    assert (app.subscribers.get("bob@example.com").status is Status.BOUNCED) is not transient


def test_552_at_data_is_transient(app, smtp_server) -> None:
    smtp_server.handler.refuse_data["bob@example.com"] = 552
    assert send(app).failed_transient == 1
    assert state(app, "bob@example.com").last_code == 552
    del smtp_server.handler.refuse_data["bob@example.com"]
    assert send(app).sent == 1


def test_connection_dropped_mid_data_is_retried_on_a_new_connection(app, smtp_server) -> None:
    smtp_server.handler.drop_data.add("ada@example.com")
    summary = send(app, pool_size=1)
    assert summary.sent == 2 and summary.failed_transient == 1
    assert sorted(m.recipients[0] for m in smtp_server.messages) == READERS[1:]
    smtp_server.handler.drop_data.clear()
    assert send(app).sent == 1


def test_server_slower_than_the_timeout(app, smtp_server) -> None:
    smtp_server.handler.data_delay = 1.5
    with pytest.raises(DeliveryError, match="connection lost 3 times in a row"):
        send(app, timeout=0.5, pool_size=3)
    assert {state(app, e).state for e in READERS} == {DeliveryState.FAILED_TRANSIENT}
    assert state(app, "ada@example.com").last_reply == "timed out"
    smtp_server.handler.data_delay = 0
    late = len(smtp_server.messages)  # what the slow server accepted after the client gave up
    assert send(app).sent == 3
    assert len(smtp_server.messages) == late + 3
    # A repeat after a timeout carries the same Message-ID, so the reader's client shows it once.
    ids = {}
    for m in smtp_server.messages:
        ids.setdefault(m.recipients[0], set()).add(m.message["Message-ID"])
    assert all(len(v) == 1 for v in ids.values())


def test_421_at_connect_changes_nothing(app) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def greet_and_close() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(b"421 4.3.2 Service not available, closing channel\r\n")
            conn.close()

    threading.Thread(target=greet_and_close, daemon=True).start()
    try:
        with pytest.raises(DeliveryError, match=f"cannot connect to SMTP server 127.0.0.1:{port}"):
            send(app, port=port)
    finally:
        server.close()
    assert app.deliveries.status() == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1, and a server TLS context holding it."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def test_a_host_that_does_not_resolve_is_said_so(app) -> None:
    # The resolver's error is not an errno: os.strerror called it "Unknown error -2".
    with pytest.raises(DeliveryError, match=r"no-such-host\.invalid:25: host not found \(.+\)$"):
        send(app, host="no-such-host.invalid", port=25)
    assert app.deliveries.status() == []


def test_starttls_with_a_verified_certificate(app, certificate) -> None:
    cert, context = certificate
    with CaptureServer(tls_context=context, require_starttls=True) as tls_server:
        summary = send(app, port=tls_server.port, tls="starttls", ca_file=str(cert))
        assert summary.sent == 3 and len(tls_server.messages) == 3


def test_implicit_tls(app, certificate) -> None:
    cert, context = certificate
    with CaptureServer(ssl_context=context) as tls_server:
        summary = send(app, port=tls_server.port, tls="implicit", ca_file=str(cert))
        assert summary.sent == 3 and len(tls_server.messages) == 3


def test_starttls_refuses_an_unverified_certificate(app, certificate) -> None:
    _, context = certificate
    with CaptureServer(tls_context=context, require_starttls=True) as tls_server, pytest.raises(DeliveryError):
        send(app, port=tls_server.port, tls="starttls")  # the system CAs do not know the test certificate
    assert app.deliveries.status() == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_auth_required(app) -> None:
    from aiosmtpd.smtp import AuthResult

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = auth_data.login == b"mailer" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)

    with CaptureServer(auth_required=True, auth_require_tls=False, authenticator=authenticator) as server:
        with pytest.raises(DeliveryError, match="refused the login for 'mailer'"):
            send(app, port=server.port, username="mailer", password="wrong", allow_plain_auth=True)
        assert send(app, port=server.port, username="mailer", password="s3cret", allow_plain_auth=True).sent == 3


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_no_password_over_a_plain_connection_unless_allowed(app) -> None:
    with CaptureServer(auth_required=True, auth_require_tls=False) as server:
        with pytest.raises(DeliveryError, match=r"over a plain connection; .*'smtp.allow_plain_auth = true'") as info:
            send(app, port=server.port, username="mailer", password="s3cret")
        assert "s3cret" not in str(info.value) and "\n" not in str(info.value)
        assert server.messages == [] and app.deliveries.status() == []


def test_implicit_tls_failures_say_tls_failed_and_why(app, certificate) -> None:
    _, context = certificate
    untrusted = "TLS failed: certificate verify failed: self-signed certificate"
    # A certificate the system CAs do not know.
    with CaptureServer(ssl_context=context) as tls_server, pytest.raises(DeliveryError, match=untrusted):
        send(app, port=tls_server.port, tls="implicit")
    with CaptureServer() as plain_server:  # a server that does not speak TLS at all
        with pytest.raises(DeliveryError, match="TLS failed: wrong version number") as info:
            send(app, port=plain_server.port, tls="implicit")
        assert "Operation not permitted" not in str(info.value)
    with CaptureServer() as plain_server, pytest.raises(DeliveryError, match="does not offer STARTTLS"):
        send(app, port=plain_server.port, tls="starttls")
    # A login asked of a server that offers none: not blamed on STARTTLS (aiosmtplib's own text suggests it).
    with CaptureServer() as plain_server, pytest.raises(DeliveryError, match="offers no login") as info:
        send(app, port=plain_server.port, username="mailer", password="pw", allow_plain_auth=True)
    assert "STARTTLS" not in str(info.value) and "pw" not in str(info.value)
    assert app.deliveries.status() == []


def test_rate_limit_spaces_messages(app, smtp_server) -> None:
    started = time.monotonic()
    assert send(app, rate_per_second=10.0).sent == 3
    assert time.monotonic() - started >= 0.2  # three messages at 10/s: two gaps of 0.1 s


def test_8bit_bodies_are_announced_to_a_server_that_takes_them(app, smtp_server) -> None:
    assert send(app).sent == 3
    for received in smtp_server.messages:
        assert "BODY=8BITMIME" in received.mail_options
        assert f"SIZE={len(received.data)}" in received.mail_options  # declared exactly, as sent
        parts = [p for p in received.message.walk() if not p.is_multipart()]
        assert [p["Content-Transfer-Encoding"] for p in parts] == ["8bit", "8bit"]
        assert "Circuits in transformer language models" in parts[1].get_content()


def test_a_server_without_8bitmime_gets_quoted_printable(app, smtp_server) -> None:
    smtp_server.handler.no_8bitmime = True
    assert send(app).sent == 3
    for received in smtp_server.messages:
        assert received.data.isascii() and "BODY=8BITMIME" not in received.mail_options
        assert f"SIZE={len(received.data)}" in received.mail_options  # the size of what was converted
        message = received.message
        parts = [p for p in message.walk() if not p.is_multipart()]
        assert [p["Content-Transfer-Encoding"] for p in parts] == ["quoted-printable"] * 2
        assert "·" in parts[1].get_content() and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert all(len(line) <= 998 for line in received.data.split(b"\r\n"))


ODD_MESSAGES = [
    b"Subject: dots\r\n\r\n.a line that starts with a dot\r\n..two\r\n.\r\nend\r\n",
    b".Subject: a first line with a dot\r\n\r\nbody",  # and no line ending at the end
    b"Subject: bare line endings\n\nLF only\nthen a lone CR\rthen CRLF\r\n.dot after LF\n",
    b"Subject: a lone CR\r\n\r\nx\ry\r\n",
    b"Subject: a lone LF\r\n\r\nx\ny\r\n",
    b"",
]


@pytest.mark.parametrize("data", ODD_MESSAGES)
def test_what_arrives_is_what_aiosmtplib_itself_would_deliver(smtp_server, data) -> None:
    """The mailer does DATA itself (no regex passes over a message that is CRLF already): dots, line endings
    and the end of the message must reach the server exactly as the library's own sendmail delivers them."""
    settings = base_settings(smtp={"host": "127.0.0.1", "port": smtp_server.port}).smtp
    outgoing = Outgoing(1, "papers@example.com", "ada@example.com", "s", "<m@x>", "", "", data)

    async def both() -> None:
        mailer = SmtpMailer(settings)
        await mailer.open()
        result = await mailer.send(outgoing)
        await mailer.close()
        assert result.ok, result
        await aiosmtplib.send(data, sender=outgoing.sender, recipients=[outgoing.recipient], **_plain(smtp_server))

    asyncio.run(both())
    ours, library = smtp_server.messages
    assert ours.data == library.data
    assert ours.data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").rstrip(b"\n") == (
        data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").rstrip(b"\n")
    )


def _plain(server: CaptureServer) -> dict[str, object]:
    return {"hostname": "127.0.0.1", "port": server.port, "start_tls": False}


@pytest.mark.parametrize(
    ("fault", "outcome", "connections"),
    [
        ("554 at DATA", (False, 554), 1),  # no valid recipients: the connection stays, after a RSET
        ("421 at DATA", (False, 421), 2),  # the server closes: the next message goes on a new connection
        ("closed after the message", (False, CONNECTION_LOST), 2),  # no reply to the final dot
    ],
)
def test_a_fault_in_data_fails_that_message_and_the_next_one_goes(fault, outcome, connections) -> None:
    """The DATA step the mailer does itself, against a scripted server: a refused DATA command (a server may
    refuse it instead of the message), a 421 and a connection lost after the message."""
    seen: list[bytes] = []
    faulty = [True]  # the first message meets the fault, the next one goes through

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(b"CONNECT")
        writer.write(b"220 scripted\r\n")
        in_data = False
        while line := await reader.readline():
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    if faulty[0] and fault == "closed after the message":
                        faulty[0] = False
                        break
                    writer.write(b"250 2.0.0 accepted\r\n")
                continue
            verb = line.split()[0].upper()
            seen.append(verb)
            if verb == b"EHLO":
                writer.write(b"250-scripted\r\n250 SIZE 1000000\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            elif verb == b"DATA" and faulty[0] and fault.endswith("at DATA"):
                faulty[0] = False
                writer.write(fault.split()[0].encode() + b" 4.3.0 scripted refusal\r\n")
                if fault.startswith("421"):
                    break
            elif verb == b"DATA":
                in_data = True
                writer.write(b"354 go ahead\r\n")
            else:
                writer.write(b"250 ok\r\n")
        writer.close()

    async def run() -> list[tuple[bool, int]]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        mailer = SmtpMailer(base_settings(smtp={"host": "127.0.0.1", "port": port, "timeout": 5}).smtp)
        await mailer.open()
        results = [
            await mailer.send(Outgoing(i, "papers@example.com", f"r{i}@example.com", "s", "<m>", "", "", b"x\r\n"))
            for i in range(2)
        ]
        await mailer.close()
        server.close()
        return [(r.ok, r.code) for r in results]

    assert asyncio.run(run()) == [outcome, (True, 250)]
    assert seen.count(b"CONNECT") == connections and seen.count(b"DATA") == 2
    assert seen.count(b"RSET") == (1 if connections == 1 else 0)


def test_addresses_that_are_not_ascii(app, smtp_server) -> None:
    """An internationalised domain goes as IDNA to any server; a local part that is not ASCII goes with
    SMTPUTF8, and to a server without it fails alone, while the others get their mail."""
    for email in ("u1@exämple.org", "dörte@exämple.org"):
        subscriptions.add(app.settings, app.subscribers, email, SubscriberChanges(topics=("transformer circuits",)))
    assert send(app).sent == 5
    received = {m.recipients[0]: m for m in smtp_server.messages}
    idna = received["u1@xn--exmple-cua.org"]
    assert "SMTPUTF8" not in idna.mail_options and idna.message["To"] == "u1@xn--exmple-cua.org"
    utf8 = received["dörte@xn--exmple-cua.org"]
    assert "SMTPUTF8" in utf8.mail_options and "\r\nTo: <dörte@xn--exmple-cua.org>\r\n".encode() in utf8.data
    assert all(m.message["List-Unsubscribe"] for m in smtp_server.messages)


def test_a_local_part_that_is_not_ascii_to_a_server_without_smtputf8(app, smtp_server) -> None:
    smtp_server.handler.no_smtputf8 = True
    subscriptions.add(app.settings, app.subscribers, "dörte@exämple.org", SubscriberChanges(topics=("circuits",)))
    summary = send(app)
    assert (summary.sent, summary.failed_permanent, summary.failed_transient) == (3, 0, 1)
    held = state(app, "dörte@exämple.org")
    assert (held.state, held.last_code) == (DeliveryState.FAILED_TRANSIENT, 553)
    # `status` says it waits for an admin, not for a retry that will never come.
    (shown,) = app.deliveries.status(ISSUE)[0].last_errors
    assert shown.next_step() == "held: sent again only by `send --resend`"
    assert sorted(m.recipients[0] for m in smtp_server.messages) == READERS
    # Our relay's limit, not the reader's address: not bounced, and sent once the relay takes it.
    assert app.subscribers.get("dörte@exämple.org").status is Status.ACTIVE
    assert not app.subscribers.is_suppressed("dörte@exämple.org")
    smtp_server.handler.no_smtputf8 = False
    assert send(app).sent == 0  # held, not retried on its own
    options = pipeline.SendOptions(issue_date=ISSUE, show_progress=False, resend=True)
    assert pipeline.send_issue(app, options).sent == 1


@pytest.mark.parametrize(("code", "where"), [(530, "sender"), (550, "sender"), (451, "sender"), (530, "recipient")])
def test_a_server_that_refuses_us_marks_no_reader(app, smtp_server, code, where) -> None:
    """A relay that wants a login, or will not take our sender, says nothing of any reader's address: the run
    stops with one line, and every row stays pending for the next send (none bounced, none suppressed)."""
    if where == "sender":
        smtp_server.handler.refuse_sender = code
    else:
        smtp_server.handler.refuse.update(dict.fromkeys(READERS, code))
    with pytest.raises(DeliveryError, match=rf"the SMTP server refused mail from us \({code} .*no reader was marked"):
        send(app)
    assert smtp_server.messages == []
    for email in READERS:
        assert app.subscribers.get(email).status is Status.ACTIVE and not app.subscribers.is_suppressed(email)
        assert state(app, email).state is DeliveryState.PENDING
    smtp_server.handler.refuse_sender = None
    smtp_server.handler.refuse.clear()
    assert send(app).sent == len(READERS)  # the next run, with the server fixed, sends them all once


def add_readers(ctx, emails) -> None:
    for email in emails:
        subscriptions.add(ctx.settings, ctx.subscribers, email, SubscriberChanges(topics=("transformer circuits",)))


def test_a_relay_that_refuses_every_recipient_alike_marks_no_reader(app, smtp_server) -> None:
    """A relay that denies every recipient with a plain 550 (no 5.7.x to tell it by) refuses us, not the
    readers: refusals in the same words at three domains, with nothing accepted, stop the run with one line
    and every row stays pending (none bounced, none suppressed), however few the readers; fixed, the next
    run sends each once."""
    others = ["reader@a.org", "reader@b.net", "reader@c.io"]
    add_readers(app, others)
    everyone = READERS + others
    smtp_server.handler.refuse.update(dict.fromkeys(everyone, 550))
    with pytest.raises(DeliveryError, match=r"refused \d readers at 3 domains alike \(550 .*none of them was marked"):
        send(app, pool_size=1)
    for email in everyone:
        assert app.subscribers.get(email).status is Status.ACTIVE and not app.subscribers.is_suppressed(email)
        assert state(app, email).state is DeliveryState.PENDING
    smtp_server.handler.refuse.clear()
    assert send(app).sent == len(everyone)
    assert sorted(m.recipients[0] for m in smtp_server.messages) == sorted(everyone)


def refusing_then(smtp_server, after: int, then) -> None:
    """The capture server calls `then(handler)` at the `after`-th RCPT, before answering it."""
    seen = []
    handle = smtp_server.handler.handle_RCPT

    async def rcpt(server, session, envelope, address, options):
        seen.append(address)
        if len(seen) == after:
            then(smtp_server.handler)
        return await handle(server, session, envelope, address, options)

    smtp_server.handler.handle_RCPT = rcpt


@pytest.mark.parametrize("stop", ["shutdown", "sender refused"])
def test_refusals_kept_back_when_the_run_stops_are_not_marked(app, smtp_server, stop) -> None:
    """Refusals kept back (alike, too few domains yet to tell) when the run stops for another reason (Ctrl-C,
    the server refusing our sender) are left unmarked, their rows pending with the rest: nothing proved them
    the readers' own."""
    add_readers(app, ["reader@a.org"])
    everyone = [*READERS, "reader@a.org"]
    smtp_server.handler.refuse.update(dict.fromkeys(everyone, 550))
    if stop == "shutdown":
        refusing_then(smtp_server, 3, lambda handler: pipeline.SHUTDOWN.set())
    else:
        refusing_then(smtp_server, 3, lambda handler: setattr(handler, "refuse_sender", 554))
    try:
        if stop == "shutdown":
            send(app, pool_size=1)
        else:
            with pytest.raises(DeliveryError, match="no reader was marked"):
                send(app, pool_size=1)
    finally:
        pipeline.SHUTDOWN.clear()
    for email in everyone:
        assert app.subscribers.get(email).status is Status.ACTIVE and not app.subscribers.is_suppressed(email)
        assert state(app, email).state is DeliveryState.PENDING


def test_a_refusal_kept_back_still_shows_the_server_is_there(app, smtp_server) -> None:
    """Lost, lost, refused, lost: the refusal proves the server answers, so three lost connections are not in
    a row and the run goes on (the refusal recorded when it ends)."""
    add_readers(app, ["dee@example.com", "eve@example.com", "fay@example.com"])
    smtp_server.handler.drop_data.update({"ada@example.com", "bob@example.com", "dee@example.com"})
    smtp_server.handler.refuse["cy@example.com"] = 550
    summary = send(app, pool_size=1)
    assert (summary.sent, summary.failed_transient, summary.failed_permanent) == (2, 3, 1)
    assert app.subscribers.get("cy@example.com").status is Status.BOUNCED


def test_readers_refused_alike_at_one_domain_are_their_own_bounces(app, smtp_server) -> None:
    """Twelve readers of one domain that is gone, refused in the same words: their addresses, not us (a
    relay refusing us refuses every domain). Each is bounced, with nothing accepted before them (the other
    readers deferred), and no error."""
    gone = [f"old{i}@gone.example" for i in range(12)]
    add_readers(app, gone)
    smtp_server.handler.refuse.update(dict.fromkeys(gone, 550) | dict.fromkeys(READERS, 450))
    summary = send(app)
    assert (summary.sent, summary.failed_permanent, summary.failed_transient) == (0, len(gone), len(READERS))
    for email in gone:
        assert app.subscribers.get(email).status is Status.BOUNCED
        assert state(app, email).state is DeliveryState.FAILED_PERMANENT


def test_refusals_before_the_first_acceptance_are_recorded_once_it_comes(app, smtp_server) -> None:
    """A few readers refused before the server has taken anything are kept back, not lost: once another
    reader's message is taken, each is recorded as the refusal it was (journal and ledger alike)."""
    smtp_server.handler.refuse.update({"ada@example.com": 550, "bob@example.com": 553})
    summary = send(app, pool_size=1)
    assert (summary.sent, summary.failed_permanent) == (1, 2)
    assert [state(app, e).last_code for e in READERS] == [550, 553, 250]
    assert app.subscribers.get("ada@example.com").status is Status.BOUNCED


def test_a_policy_refusal_is_held_not_bounced(app, smtp_server) -> None:
    """A 5.7.x refusal (RFC 3463: security or policy, such as a relay that denies us or a filter that rejects
    the message) says nothing of the address: the reader is not bounced or suppressed, and the row waits for
    `send --resend`. A 5.1.1 (no such user) still bounces."""
    smtp_server.handler.refuse["bob@example.com"] = 554  # 554 5.7.1 at RCPT
    smtp_server.handler.refuse_data["cy@example.com"] = 554  # and at DATA
    summary = send(app)
    assert (summary.sent, summary.failed_transient, summary.failed_permanent) == (1, 2, 0)
    for email in ("bob@example.com", "cy@example.com"):
        row = state(app, email)
        assert (row.state, row.last_code, row.next_attempt_at) == (DeliveryState.FAILED_TRANSIENT, 554, None)
        assert app.subscribers.get(email).status is Status.ACTIVE and not app.subscribers.is_suppressed(email)
    smtp_server.handler.refuse.clear()
    smtp_server.handler.refuse_data.clear()
    assert send(app).sent == 0  # held: not retried on its own
    options = pipeline.SendOptions(issue_date=ISSUE, show_progress=False, resend=True)
    assert pipeline.send_issue(app, options).sent == 2


def test_a_message_too_big_for_the_server_fails_alone(app, tmp_path) -> None:
    """552 at MAIL FROM (SIZE, RFC 1870) is about that message, not about us: it fails (to be retried), the
    run goes on to the next reader, and nobody is bounced."""
    with CaptureServer(data_size_limit=1000) as small:  # every digest is bigger
        summary = send(app, host="127.0.0.1", port=small.port, retry_base=0.001, retry_wait=0)
    assert (summary.sent, summary.failed_transient, summary.failed_permanent) == (0, 3, 0)
    for email in READERS:
        assert (state(app, email).state, state(app, email).last_code) == (DeliveryState.FAILED_TRANSIENT, 552)
        assert app.subscribers.get(email).status is Status.ACTIVE
