"""`newsletter demo` as a user runs it: a real subprocess, real SMTP, files to open; and its digests as the
big mail clients and spam filters see them (caniemail's data through doiuse-email, SpamAssassin)."""

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes, policy
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# Clients most readers read with (caniemail's names); a feature one of them ignores must not matter there.
MAJOR_CLIENTS = "gmail.*,apple-mail.*,outlook.*,yahoo.*"
# What caniemail flags in the digest for some major client, and why each one costs that client nothing
# that matters. Anything else (overflow-wrap and word-break, which Gmail, Outlook, Yahoo and Apple Mail
# ignore, included) fails the test.
GRACEFUL = {
    "<body> element": "the wrapper table repeats the body's background; text keeps the client's font",
    "@media": "narrower padding on phones and dark mode only; the 600 px layout is whole without it",
    "border-radius": "square corners instead of round ones",
    "display:none": "the preheader is hidden as well by zero height, 1 px text and the background's colour",
    "opacity": "the preheader again",
    "overflow": "the preheader again",
    "role attribute": "a hint for screen readers that the table is for layout",
}
DOIUSE = Path(sys.prefix) / "npm" / "node_modules" / "doiuse-email" / "bin" / "cli.js"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    cwd = tmp_path_factory.mktemp("demo")
    out = cwd / "demo-out"
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(cwd)},  # not the user's ~/.cache
    )
    assert result.returncode == 0, result.stderr
    return result, out


def sent_mails(out: Path) -> list[Path]:
    return sorted(out.glob("*.eml"))


def test_demo_delivers_four_digests(demo) -> None:
    result, out = demo
    assert "issue 2026-11-24: 4 sent, 0 failed" in result.stdout
    assert "sent again the same day: 0 more messages" in result.stdout
    emls = sent_mails(out)
    assert [p.stem for p in emls] == ["01-ada", "02-grace", "03-santiago", "04-lin"]
    for eml in emls:
        msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert msg.get_content_type() == "multipart/alternative"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        html = eml.with_suffix(".html").read_text()
        assert html.startswith("<!DOCTYPE html>") and "https://arxiv.org/abs/2611." in html
    grace = (out / "02-grace.html").read_text()
    assert "Low-Dropout Regulator" in grace and "Sparse Feature Circuits" not in grace
    ada = (out / "01-ada.html").read_text()
    assert "Sparse Feature Circuits" in ada and "Low-Dropout Regulator" not in ada
    assert "Trending today" in (out / "03-santiago.html").read_text()
    lin = (out / "04-lin.html").read_text()
    assert "trending: ▲" in lin and "Trending today" not in lin  # the whole digest is the trending list
    assert f"Open {out}" in result.stdout.replace("\n", "")


def test_demo_digests_use_nothing_a_major_client_ignores_where_it_matters(demo, tmp_path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the caniemail check runs doiuse-email, an npm package")
    assert DOIUSE.exists(), f"{DOIUSE} is missing: `make install` installs doiuse-email with npm"
    flagged: dict[str, set[str]] = {}
    for eml in sent_mails(demo[1]):
        page = tmp_path / f"{eml.stem}.html"
        page.write_text(message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("html",)).get_content())
        run = subprocess.run(
            ["node", str(DOIUSE), "--email-clients", MAJOR_CLIENTS, str(page)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        for error in json.loads(run.stdout).get("errors", []):
            feature, client = re.fullmatch(r"`(.+)` is not supported by `(.+)`", error).groups()
            flagged.setdefault(feature, set()).add(client)
    assert flagged, "doiuse-email flagged nothing at all: is it reading the mail?"
    assert "overflow-wrap" not in flagged and "word-break" not in flagged
    blocking = {feature: sorted(clients) for feature, clients in flagged.items() if feature not in GRACEFUL}
    assert blocking == {}


def spam_score(eml: Path, home: Path) -> tuple[float, str]:
    """SpamAssassin's score for one message, offline (-L: local tests only), with a home of its own."""
    run = subprocess.run(
        ["spamassassin", "-t", "-L"],
        input=eml.read_bytes(),
        capture_output=True,
        timeout=120,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
    )
    report = run.stdout.decode("utf-8", "replace")
    found = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", report, re.M)
    assert found, report[:500]
    return float(found.group(1)), report.split("Content analysis details:")[-1]


def test_demo_digests_score_below_3_in_spamassassin(demo, tmp_path) -> None:
    if shutil.which("spamassassin") is None:
        pytest.skip("spamassassin is not installed (`make install` installs it from Debian when run as root)")
    emls = sent_mails(demo[1])
    with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        scores = list(pool.map(lambda eml: spam_score(eml, tmp_path / eml.stem), emls))
    for eml, (score, details) in zip(emls, scores, strict=True):
        assert score < 3, f"{eml.name}: {score}\n{details}"
