"""The front door for nn.Module users: `shapeplan check FILE.py:NAME` (and validate, emit, graph,
solve), checked exactly as net.yaml is: the same table, the same exit codes, the same formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shapeplan.cli import app

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial_net.py"
runner = CliRunner()

# the tutorial's Net with 3x3 kernels: fc1's 400 features fit only H, W in [26, 29] (and two thin rectangles)
NET3 = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, kernel=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel)
        self.conv2 = nn.Conv2d(6, 16, kernel)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def make_net(kernel=3):
    return Net(kernel)


net = Net(5)
'''

ANNOTATED = '''
from __future__ import annotations

import torch.nn as nn
from torch import Tensor


class Float:  # stands for jaxtyping.Float: with postponed annotations only their text is read
    pass


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: Float[Tensor, "batch 3 height width"]) -> Tensor:
        return self.fc(self.pool(self.conv(x)).flatten(1))


class Variadic(Small):
    def forward(self, x: Float[Tensor, "*batch 3 height width"]) -> Tensor:
        return super().forward(x)


class Plain(Small):
    def forward(self, x):
        return super().forward(x)
'''


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder with the test models, as the working directory (sys.path and sys.modules
    restored after)."""
    (tmp_path / "net3.py").write_text(NET3)
    (tmp_path / "annotated.py").write_text(ANNOTATED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for name in ("net3", "annotated", "bad", "tutorial_net"):
        sys.modules.pop(name, None)


def run(*args: str):
    return runner.invoke(app, list(args))


def test_check_python_file_same_table_as_yaml(models: Path) -> None:
    r = run("check", f"{TUTORIAL}:Net", "--input", "N,1,H,W")
    assert r.exit_code == 0, r.output
    assert "flatten       flatten     (N, 16*(H//4 - 3)*(W//4 - 3))" in r.stdout
    assert "valid inputs: N >= 1, H in [32, 35], W in [32, 35]; or" in r.stdout
    assert r.stdout.splitlines()[0].endswith(": Net")
    y = run("check", str(ROOT / "examples" / "lenet.yaml"))
    assert "(N, 16*(H//4 - 3)*(W//4 - 3))" in y.stdout  # one printed form from both front ends


def test_class_factory_instance_and_arguments(models: Path) -> None:
    r = run("check", "net3.py:Net", "-i", "N,1,H,W")
    assert r.exit_code == 0 and "H in [26, 29], W in [26, 29]" in r.stdout
    r = run("check", "net3.py:Net", "-i", "N,1,H,W", "--args", "[5]", "--kwargs", '{"classes": 3}')
    assert r.exit_code == 0 and "H in [32, 35]" in r.stdout and "(N, 3)" in r.stdout
    r = run("check", "net3.py:make_net", "-i", "N,1,H,W", "--kwargs", '{"kernel": 5}')
    assert r.exit_code == 0 and "H in [32, 35]" in r.stdout
    r = run("check", "net3.py:net", "-i", "N,1,H,W")
    assert r.exit_code == 0 and "H in [32, 35]" in r.stdout
    r = run("check", "net3.py:net", "-i", "N,1,H,W", "--args", "[3]")
    assert r.exit_code == 2 and "module instance" in r.output


@pytest.mark.parametrize("args, text", [
    (["net3.py:Nope", "-i", "N,1,H,W"], "no attribute 'Nope'"),
    (["missing.py:Net", "-i", "N,1,H,W"], "no such file"),
    (["no_such_module_xyz:Net", "-i", "N,1,H,W"], "cannot import"),
    (["net3.py:Net", "-i", "N,1,H,W", "--args", "[1"], "not valid JSON"),
    (["net3.py:Net", "-i", "N,1,H,W", "--kwargs", "[1]"], "JSON object"),
    (["net3.py:Net", "-i", "N,1,H,W", "--kwargs", '{"bogus": 1}'], "cannot build net3.py:Net"),
    (["net3.py:Net", "-i", "N,1,input,W"], "not a valid symbol name"),
    (["net3.py:Net"], "--input N,3,H,W"),
    (["annotated.py:Variadic"], "variable number of dims"),
    ([str(ROOT / "examples" / "lenet.yaml"), "-i", "N,1,H,W"], "apply to a Python target"),
])
def test_bad_targets_exit_2_with_a_reason(models: Path, args: list[str], text: str) -> None:
    r = run("check", *args)
    assert r.exit_code == 2, r.output
    assert text in r.output
    assert "Traceback" not in r.output


def test_shape_errors_exit_1_in_every_format(models: Path) -> None:
    bad = models / "bad.py"
    bad.write_text(NET3.replace("nn.Conv2d(6, 16, kernel)", "nn.Conv2d(7, 16, kernel)"))
    r = run("check", "bad.py:Net", "-i", "N,1,H,W")
    assert r.exit_code == 1 and "error[in-channels]" in r.stderr and "valid inputs: none" in r.stdout
    doc = json.loads(run("check", "bad.py:Net", "-i", "N,1,H,W", "-f", "json").stdout)
    assert doc["ok"] is False and doc["file"] == "bad.py"
    assert any(d["code"] == "in-channels" for d in doc["diagnostics"])
    r = run("check", "bad.py:Net", "-i", "N,1,H,W", "-f", "github")
    assert r.exit_code == 1 and "::error" in r.stdout
    r = run("check", "bad.py:Net", "-i", "N,1,H,W", "-f", "sarif")
    assert r.exit_code == 1 and json.loads(r.stdout)["runs"][0]["results"]


def test_a_file_named_like_a_module_does_not_replace_it(models: Path) -> None:
    (models / "json.py").write_text(NET3)
    r = run("check", "json.py:Net", "-i", "N,1,H,W", "-f", "json")  # the JSON output needs the real json
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["file"] == "json.py" and sys.modules["json"] is json


def test_yaml_and_python_targets_together(models: Path) -> None:
    r = run("check", str(ROOT / "examples" / "lenet.yaml"), "net3.py:Net", "-i", "N,1,H,W", "-f", "json")
    assert r.exit_code == 0, r.output
    docs = json.loads(r.stdout)["reports"]
    assert [d["network"] for d in docs] == ["Net", "Net"] and docs[1]["file"] == "net3.py"


def test_input_from_the_annotation(models: Path) -> None:
    r = run("check", "annotated.py:Small")
    assert r.exit_code == 0, r.output
    assert "(batch, 3, height, width)" in r.stdout and "(batch, 4)" in r.stdout
    assert "note[input]" in r.stderr and "forward's annotation" in r.stderr
    assert "annotated.py:19:" in r.stderr  # the forward's line
    r = run("check", "annotated.py:Plain")
    assert r.exit_code == 2 and "--input" in r.output


def test_input_from_timm_cfg_keeps_sizes_symbolic(models: Path) -> None:
    pytest.importorskip("timm")
    r = run("check", "timm.models.resnet:resnet18", "-q")
    assert r.exit_code == 0, r.output
    assert "pretrained_cfg['input_size'] = (3, 224, 224)" in r.stderr and "not a requirement" in r.stderr
    r = run("check", "timm.models.resnet:resnet18", "-c", "shape")
    assert "(N, 3, H, W)" in r.stdout and "(N, 1000)" in r.stdout and "valid inputs: N >= 1, H >= 1, W >= 1" in r.stdout


def test_at_explains_the_first_failing_layer(models: Path) -> None:
    r = run("check", "net3.py:Net", "-i", "N,1,H,W", "--at", "H=32,W=32,N=1")
    assert r.exit_code == 2
    err = " ".join(r.stderr.split())
    assert "H=32, W=32, N=1 is not a valid input size" in err
    assert "fc1 (Linear) expects in_features=400" in err and "(576 = 16*6*6 at H=32, W=32)" in err
    assert "nearest valid sizes: below: N=1, H=29, W=29; above: none" in err
    r = run("check", "net3.py:Net", "-i", "N,1,H,W", "--at", "H=32,W=32,N=1", "-f", "json")
    assert r.exit_code == 2
    (d,) = json.loads(r.stdout)["diagnostics"]
    assert d["code"] == "in-features" and d["layer"] == "fc1" and "H=29, W=29" in d["hint"]


def test_at_on_a_valid_size_prints_every_layer_concretely(models: Path) -> None:
    r = run("check", "net3.py:Net", "-i", "N,1,H,W", "--at", "N=2,H=28,W=28")
    assert r.exit_code == 0, r.output
    rows = {line.split()[0]: line for line in r.stdout.splitlines()[3:] if line.strip()}
    assert "(2, 6, 26, 26)" in rows["conv1"] and "(2, 16, 5, 5)" in rows["max_pool2d_1"] and "(2, 10)" in rows["fc2"]
    doc = json.loads(run("check", "net3.py:Net", "-i", "N,1,H,W", "--at", "N=2,H=28,W=28", "-f", "json").stdout)
    assert doc["at"]["shapes"]["flatten"] == [2, 400]


def test_other_commands_take_python_targets(models: Path, tmp_path: Path) -> None:
    r = run("validate", "net3.py:Net", "-i", "N,1,H,W", "--sizes", "N=1,H=28,W=28;N=1,H=30,W=28;N=2,H=12,W=107")
    assert r.exit_code == 0, r.output
    assert "3 sizes" in r.stdout and "all agree" in r.stdout
    r = run("emit", "net3.py:Net", "-i", "N,1,H,W")
    assert r.exit_code == 0 and "nn.Linear(in_features=400, out_features=120)" in r.stdout
    r = run("graph", "net3.py:Net", "-i", "N,1,H,W", "-f", "mermaid")
    assert r.exit_code == 0 and "fc1" in r.stdout
    out = tmp_path / "net3.yaml"
    r = run("solve", "net3.py:Net", "-i", "N,1,H,W", "-o", str(out))
    assert r.exit_code == 0 and "valid inputs: N >= 1, H in [26, 29]" in r.stdout
    import shapeplan

    assert str(shapeplan.check(out).domain) == str(shapeplan.check(shapeplan.load(out)).domain)
    assert "H in [26, 29], W in [26, 29]" in str(shapeplan.check(out).domain)
    r = run("import", "annotated.py:Small")  # import reads the annotation too
    assert r.exit_code == 0 and "input: [batch, 3, height, width]" in r.stdout


def test_real_torchvision_model_through_the_console(models: Path) -> None:
    pytest.importorskip("torchvision")
    r = subprocess.run([sys.executable, "-m", "shapeplan.cli", "check", "torchvision.models:resnet18", "-i",
                        "N,3,H,W", "--at", "N=1,H=224,W=224"], capture_output=True, text=True, cwd=models,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    assert "fc                     Linear             (1, 1000)" in r.stdout
    assert "layer4.1.relu_1        ReLU               (1, 512, 7, 7)" in r.stdout


def test_validate_runs_a_lazy_model_itself(models: Path) -> None:
    pytest.importorskip("d2l")
    r = run("validate", "d2l.torch:LeNet", "-i", "N,1,H,W", "--sizes", "N=1,H=28,W=28;N=2,H=12,W=13;N=1,H=11,W=28")
    assert r.exit_code == 0, r.output
    assert "3 sizes on cpu: 2 valid, 1 invalid predicted; all agree with torch" in r.stdout
