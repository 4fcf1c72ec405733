"""``make demo`` installs only what the demo runs; ``make test`` installs every extra."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def dry_run(target: str, venv: Path) -> list[str]:
    """The commands ``make`` would run for ``target`` with a venv that does not exist yet."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    done = subprocess.run(["make", "-n", target, f"VENV={venv}"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    return [line for line in done.stdout.splitlines() if "pip install" in line]


def test_demo_installs_the_core_and_the_gateway_only(tmp_path: Path):
    installs = dry_run("demo", tmp_path / "venv")
    assert installs[-1].endswith("pip install --quiet -e '.[serve]'")
    assert not [line for line in installs if "embed" in line or "dev" in line]


def test_test_installs_every_extra(tmp_path: Path):
    installs = dry_run("test", tmp_path / "venv")
    assert installs[-1].endswith(
        "pip install --quiet -e '.[postgres,mysql,dev,embed,export,serve,methods,ray,remote]'"
    )


def test_the_core_install_does_not_pull_ray():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("ray")]
    assert project["optional-dependencies"]["ray"][0].startswith("ray[data]")
    installs = dry_run("demo", REPO / ".no-venv")
    assert not [line for line in installs if " -e " in line and "ray" in line.split(" -e ")[1]]
