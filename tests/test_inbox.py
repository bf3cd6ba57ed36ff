"""The IMAP inbox against a real Dovecot (Debian's, started here on 127.0.0.1 with its own config and
passwd-file, mail owned by an unprivileged user): every mail read, acted on and moved, never deleted."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsletter import pipeline, schedule
from newsletter.config import InboxSettings
from newsletter.errors import InboxError
from newsletter.models import Status
from newsletter.returns.inbox import Inbox
from tests.test_bounces import fill, sent, values_for  # noqa: F401  (sent: the four readers' issue)

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None)
USER, PASSWORD = "returns", "imap-s3cret"


@dataclass
class Dovecot:
    imap_port: int
    imaps_port: int
    cert: Path

    def settings(self, **overrides: object) -> InboxSettings:
        values: dict[str, object] = {
            "host": "127.0.0.1",
            "port": self.imap_port,
            "username": USER,
            "password": PASSWORD,
            "processed_folder": "Processed mail",
            "timeout": 10.0,
            "allow_plain_auth": True,  # the test server listens on 127.0.0.1 only
        }
        values.update(overrides)
        return InboxSettings(**values)  # type: ignore[arg-type]

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def append(self, *messages: bytes) -> None:
        client = self.client()
        for data in messages:
            assert client.append("INBOX", None, None, data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))[0] == "OK"
        client.logout()

    def count(self, folder: str) -> int:
        client = self.client()
        status, data = client.select(f'"{folder}"', readonly=True)
        client.logout()
        return int(data[0]) if status == "OK" else -1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    if DOVECOT is None:
        pytest.skip("dovecot is not installed (`make install` installs dovecot-imapd as root)")
    folder = Path(tempfile.mkdtemp(prefix="newsletter-dovecot-"))
    folder.chmod(0o755)  # the unprivileged mail user must reach its mail folder
    # As root the mail belongs to `nobody` (Dovecot refuses root); otherwise to whoever runs the tests.
    user = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    mail = folder / "mail"
    mail.mkdir()
    if os.geteuid() == 0:
        os.chown(mail, user.pw_uid, user.pw_gid)
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        [*request, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )
    (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n", encoding="utf-8")
    imap_port, imaps_port = _free_port(), _free_port()
    config = folder / "dovecot.conf"
    config.write_text(
        f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user.pw_name}
default_internal_group = {grp.getgrgid(user.pw_gid).gr_name}
default_login_user = {user.pw_name}
first_valid_uid = {min(user.pw_uid, 500)}
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={user.pw_uid} gid={user.pw_gid} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
""",
        encoding="utf-8",
    )
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", imap_port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (folder / "dovecot.log").read_text() if (folder / "dovecot.log").exists() else ""
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"dovecot did not start: {output} {log}")
                time.sleep(0.05)
        yield Dovecot(imap_port, imaps_port, cert)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def emptied(dovecot: Dovecot) -> Dovecot:
    """The test user's folders emptied (the server is shared by the module)."""
    client = dovecot.client()
    for folder in ("INBOX", "Processed mail"):
        status, data = client.select(f'"{folder}"')
        if status == "OK" and int(data[0]):
            client.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
            client.expunge()
    client.logout()
    return dovecot


def test_poll_acts_on_every_mail_and_moves_it(ctx, sent, emptied, caplog) -> None:  # noqa: F811
    bounced, leaving = "ada@example.com", "edsger@example.com"
    emptied.append(
        fill("gmail-hard.eml", **values_for(sent[bounced], bounced)),
        fill("mailto-unsubscribe.eml", **values_for(sent[leaving], leaving)),
        fill("not-a-report.eml", **values_for(sent[leaving], leaving)),
    )
    app = pipeline.Context(ctx.settings.replace(inbox=vars(emptied.settings())), ctx.db)
    summary = pipeline.poll_inbox(app)
    assert (summary.messages, summary.hard, summary.unsubscribes, summary.other) == (3, 1, 1, 1)
    assert app.subscribers.get(bounced).status is Status.BOUNCED
    assert app.subscribers.get(leaving).status is Status.UNSUBSCRIBED
    assert (emptied.count("INBOX"), emptied.count("Processed mail")) == (0, 3)  # moved, none deleted
    again = pipeline.poll_inbox(app)
    assert again.messages == 0

    # the scheduler's job does the same, and lists itself
    emptied.append(fill("not-a-report.eml", **values_for(sent[leaving], leaving)))
    schedule._running["context"] = app
    try:
        schedule.scheduled_inbox()
    finally:
        schedule._running.clear()
    assert (emptied.count("INBOX"), emptied.count("Processed mail")) == (0, 4)
    assert schedule.INBOX_JOB in [name for name, _ in schedule.next_runs(app.settings)]
    assert schedule.INBOX_JOB not in [name for name, _ in schedule.next_runs(ctx.settings)]


def test_a_mail_that_fails_stays_for_the_next_poll(emptied) -> None:
    emptied.append(b"Subject: one\n\n1\n", b"Subject: two\n\n2\n", b"Subject: three\n\n3\n")
    seen: list[bytes] = []

    def handle(source: str, data: bytes) -> None:
        if b"two" in data:
            raise RuntimeError("database went away")
        seen.append(data)

    with pytest.raises(RuntimeError):
        Inbox(emptied.settings()).poll(handle)
    assert len(seen) == 1 and (emptied.count("INBOX"), emptied.count("Processed mail")) == (2, 1)


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_tls_with_a_verified_certificate(emptied, tls: str) -> None:
    port = emptied.imap_port if tls == "starttls" else emptied.imaps_port
    emptied.append(b"Subject: hello\n\nhi\n")
    got: list[str] = []
    result = Inbox(emptied.settings(tls=tls, port=port, ca_file=str(emptied.cert))).poll(lambda s, d: got.append(s))
    assert (result.read, result.moved) == (1, 1) and got[0].startswith("imap INBOX uid ")


def test_errors_are_one_line_and_keep_the_password(emptied) -> None:
    with pytest.raises(InboxError) as wrong:
        Inbox(emptied.settings(password="wrong-password")).poll(lambda s, d: None)
    assert "login as 'returns' failed" in str(wrong.value) and "wrong-password" not in str(wrong.value)
    with pytest.raises(InboxError, match="TLS failed"):  # a self-signed certificate nobody trusts
        Inbox(emptied.settings(tls="implicit", port=emptied.imaps_port)).poll(lambda s, d: None)
    with pytest.raises(InboxError, match=r"cannot reach IMAP server 127\.0\.0\.1:\d+: Connection refused"):
        Inbox(emptied.settings(port=_free_port())).poll(lambda s, d: None)
    with pytest.raises(InboxError, match="SELECT No such folder"):
        Inbox(emptied.settings(folder="No such folder")).poll(lambda s, d: None)


def test_inbox_settings_are_checked(tmp_path) -> None:
    from newsletter.config import load_settings
    from newsletter.errors import ConfigError

    config = tmp_path / "c.toml"
    for body, message in (
        ('tls = "ssl"', "'inbox.tls' must be one of none, starttls, implicit"),
        ('host = "imap.example.org"\nprocessed_folder = "INBOX"', "'inbox.processed_folder' must differ"),
        ("poll_minutes = 0", "'inbox.poll_minutes' must be at least 1"),
        ("password = 7", "'inbox.password' must be a string, got (hidden)"),
    ):
        config.write_text(f"[inbox]\n{body}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            load_settings(config, env={})
    settings = load_settings(None, env={"NEWSLETTER_INBOX_PORT": "993"})
    assert settings.inbox.port == 993 and "password" not in repr(settings.inbox)


def test_a_password_is_never_sent_over_a_plain_connection(emptied) -> None:
    with pytest.raises(InboxError, match="'inbox.allow_plain_auth = true'") as info:
        Inbox(emptied.settings(allow_plain_auth=False)).poll(lambda source, data: None)
    assert PASSWORD not in str(info.value)
    assert (
        Inbox(emptied.settings(tls="implicit", port=emptied.imaps_port, ca_file=str(emptied.cert)))
        .poll(lambda source, data: None)
        .moved
        == 0
    )
