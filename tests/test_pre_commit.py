""".pre-commit-hooks.yaml: the shapeplan-check hook parses, selects net.yaml files, and its entry runs."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from shapeplan.cli import app

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
# the keys pre-commit's manifest schema knows (pre_commit.clientlib.MANIFEST_HOOK_DICT)
KNOWN_KEYS = {"id", "name", "entry", "language", "alias", "files", "exclude", "types", "types_or", "exclude_types",
              "additional_dependencies", "args", "always_run", "fail_fast", "pass_filenames", "description",
              "language_version", "log_file", "minimum_pre_commit_version", "require_serial", "stages", "verbose"}


def _hook() -> dict:
    hooks = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(hooks, list)
    (hook,) = [h for h in hooks if h["id"] == "shapeplan-check"]
    return hook


def test_the_manifest_defines_the_hook():
    hook = _hook()
    assert set(hook) <= KNOWN_KEYS
    assert {"id", "name", "entry", "language"} <= set(hook)
    assert hook["language"] == "python"
    assert hook["entry"] == "shapeplan check -q"
    assert hook.get("pass_filenames", True) is True


@pytest.mark.parametrize("path, selected", [
    ("net.yaml", True),
    ("net.yml", True),
    ("models/net.yaml", True),
    ("models/resnet50.net.yaml", True),
    ("a/b/unet.net.yml", True),
    (".github/workflows/ci.yaml", False),
    ("docker-compose.yml", False),
    ("network.yaml", False),
    ("net.yaml.bak", False),
    ("models/subnet.yaml", False),
])
def test_the_default_files_pattern_selects_net_yaml_files(path, selected):
    # pre-commit matches `files` with re.search on the path relative to the repository root
    assert bool(re.search(_hook()["files"], path)) is selected


def test_the_entry_checks_files_quietly_with_the_right_exit_code(monkeypatch):
    monkeypatch.chdir(ROOT)
    program, *args = shlex.split(_hook()["entry"])
    assert program == "shapeplan"
    good = CliRunner().invoke(app, [*args, "examples/lenet.yaml", "examples/resnet18.yaml"])
    assert good.exit_code == 0
    assert good.stdout == ""  # -q: no tables, only diagnostics (on stderr)
    bad = CliRunner().invoke(app, [*args, "examples/lenet.yaml", "examples/lenet_bad.yaml"])
    assert bad.exit_code == 1
    assert "examples/lenet_bad.yaml:15:29: error[in-features]" in bad.stderr


def test_the_entry_runs_as_the_installed_console_script():
    exe = shutil.which("shapeplan")
    if exe is None:
        pytest.skip("the shapeplan console script is not on PATH (package not installed)")
    cmd = [exe, *shlex.split(_hook()["entry"])[1:], "examples/lenet_bad.yaml"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "error[in-features]" in r.stderr and r.stdout == ""


def test_pre_commit_itself_accepts_the_manifest():
    clientlib = pytest.importorskip("pre_commit.clientlib")
    (hook,) = [h for h in clientlib.load_manifest(str(MANIFEST)) if h["id"] == "shapeplan-check"]
    assert hook["entry"] == "shapeplan check -q"
