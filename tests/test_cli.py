"""The command line, as a user runs it: exit codes, diagnostics, JSON, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shapeplan.cli import app

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_check_lenet_table():
    r = run("check", str(EX / "lenet.yaml"))
    assert r.exit_code == 0, r.output
    assert "16*(H//4 - 3)*(W//4 - 3)" in r.stdout
    assert "(N, 10)" in r.stdout
    assert "valid inputs: N >= 1, H >= 16, W >= 16" in r.stdout


def test_check_bad_points_at_fc1_line():
    r = run("check", str(EX / "lenet_bad.yaml"))
    assert r.exit_code == 1
    lines = (EX / "lenet_bad.yaml").read_text().splitlines()
    fc1_line = next(i for i, line in enumerate(lines, 1) if "name: fc1" in line)
    assert f"lenet_bad.yaml:{fc1_line}:" in r.stderr
    assert "error[in-features]" in r.stderr
    assert "hint:" in r.stderr


def test_json_document():
    r = run("check", "--format", "json", str(EX / "lenet.yaml"))
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    fc1 = next(layer for layer in doc["layers"] if layer["name"] == "fc1")
    assert fc1["shape"] == ["N", "120"]
    assert doc["domain"]["smallest"] == {"N": 1, "H": 16, "W": 16}
    assert {"severity", "code", "layer", "file", "line", "col", "message", "hint"} <= set(doc["diagnostics"][0])


@pytest.mark.parametrize(
    "text, code",
    [
        ("input: [N, 3, H, W]\nlayers:\n  - {op: Conv2d, in_channels: 3, out_channels: 4, kernel_size: [3\n", "yaml"),
        ("input: [N, 3, H, W]\nlayers:\n  - {op: Conv9d, in_channels: 3}\n", "unknown-op"),
        ("input: [N, 3, H, W]\nlayers:\n  - {op: Conv2d, in_channels: 3, out_channels: 4, kernel_size: 2.5}\n",
         "bad-argument"),
        ("input: [N, -3, H, W]\nlayers:\n  - {op: ReLU}\n", "bad-dim"),
        ("input: [N, 3, H, W]\nlayers:\n  - {name: 'a b', op: ReLU}\n", "bad-name"),
        ("input: [N, 3, H, W]\nlayers:\n  - {name: a, op: ReLU, from: b}\n  - {name: b, op: ReLU, from: a}\n", "cycle"),
        ("input: [N, 3, H, W]\nlayers:\n  - {name: a, op: ReLU, from: nothere}\n", "unknown-from"),
        ("input: [N, 3, H, W]\nlayers:\n  - {name: a, op: ReLU}\n  - {name: a, op: ReLU}\n", "duplicate-name"),
        ("", "empty"),
        ("a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
         "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
         "yaml"),
    ],
)
def test_bad_input_is_a_diagnostic_with_exit_2(tmp_path, text, code):
    f = tmp_path / "net.yaml"
    f.write_text(text)
    r = run("check", str(f))
    assert r.exit_code == 2, r.output
    assert f"error[{code}]" in r.stderr
    assert "Traceback" not in r.output
    assert str(f) in r.stderr


def test_missing_file_and_directory(tmp_path):
    assert run("check", str(tmp_path / "nope.yaml")).exit_code == 2
    assert run("check", str(tmp_path)).exit_code == 2
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\x00\x01\x02")
    assert run("check", str(binary)).exit_code == 2


def test_import_and_check_do_not_import_torch():
    path = str(EX / "lenet.yaml")
    code = (f"import sys, shapeplan; shapeplan.check({path!r}); "
            "from shapeplan.cli import app; sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_console_script_runs():
    r = subprocess.run([sys.executable, "-m", "shapeplan.cli", "check", str(EX / "unet.yaml")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "H = 16k" in r.stdout
