"""ruff, mypy and vermin in the test suite, so that CI (which runs only pytest) runs them too.

The tools are pinned in requirements-test.txt; a test is skipped where its tool is not
installed.  ruff also checks the syntax against the oldest supported Python (target-version
py310 in pyproject.toml), mypy checks the package's use of the standard library against
Python 3.10 (python_version), and vermin checks package and tests for anything newer than 3.10.
A cold mypy run takes about 30 s of CPU (its cache, .mypy_cache, makes later runs fast).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(tool: str, cmd: list[str], timeout: int = 600) -> None:
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (pip install -r requirements-test.txt)")
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(cmd[2:])} failed:\n{r.stdout}\n{r.stderr}"


def test_ruff():
    _run("ruff", [sys.executable, "-m", "ruff", "check", "--no-cache", "shapeplan", "tests"])


def test_mypy():
    _run("mypy", [sys.executable, "-m", "mypy", "shapeplan"])


def test_vermin_python_3_10():
    _run("vermin", [sys.executable, "-c", "import sys, vermin; sys.exit(vermin.main())",
                    "-t=3.10-", "--no-tips", "--violations", "--eval-annotations", "shapeplan", "tests"])
