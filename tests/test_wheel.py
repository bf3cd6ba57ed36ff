"""The wheel as a user installs it: built from this tree, installed into a new environment, run from elsewhere."""

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        timeout=120,
    )
    (built,) = dist.glob("newsletter-*.whl")
    return built


def test_wheel_carries_templates_and_migrations_inside_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("templates", "migrations"):
        in_repo = {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*") if p.is_file()}
        in_repo = {n for n in in_repo if "__pycache__" not in n}
        assert in_repo and {f"newsletter/{n}" for n in in_repo} <= names
    assert "newsletter/demo/sample_daily_papers.json" in names
    assert not any("__pycache__" in n or n.startswith(("templates/", "migrations/", "tests/")) for n in names)


def test_installed_wheel_upgrades_and_runs_the_demo_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        timeout=120,
    )
    # The dependencies come from this venv's site-packages, added as a plain path: its .pth files (the
    # editable install of this repository) are not processed, so only the wheel provides `newsletter`.
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "zz_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(tmp_path)}

    def run(*args: str) -> str:
        result = subprocess.run(
            [str(venv / "bin" / "newsletter"), *args],
            capture_output=True,
            text=True,
            cwd=elsewhere,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    where = subprocess.run(
        [str(python), "-c", "import newsletter.config as c; print(c.__file__); print(c.Settings().paths.templates)"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(purelib) for p in where), where
    assert "upgraded from empty to" in run("db", "upgrade")
    assert (elsewhere / "newsletter.db").exists()
    out = run("demo", "--out", "demo-out")
    assert "4 sent, 0 failed" in out
    assert len(list((elsewhere / "demo-out").glob("*.eml"))) == 4
    assert (elsewhere / "demo-out" / "01-ada.html").read_text().startswith("<!DOCTYPE html>")
