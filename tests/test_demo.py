"""`newsletter demo` as a user runs it: a real subprocess, real SMTP, files to open."""

import subprocess
import sys
from email import message_from_bytes, policy

import pytest

pytestmark = pytest.mark.slow


def test_demo_delivers_four_digests(tmp_path) -> None:
    out = tmp_path / "demo-out"
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(tmp_path)},  # not the user's ~/.cache
    )
    assert result.returncode == 0, result.stderr
    assert "issue 2026-11-24: 4 sent, 0 failed" in result.stdout
    assert "sent again the same day: 0 more messages" in result.stdout
    emls = sorted(out.glob("*.eml"))
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
