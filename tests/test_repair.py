"""Repairs against torch: each offered edit is applied (the edited network built with
shapeplan.build) and the domain it claims is compared with torch's CPU forward, at sizes
inside and outside it; the edits are said at the user's line for imported modules; the CLI."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

import shapeplan
from shapeplan.analysis.check import run_check
from shapeplan.analysis.repair import find_repairs, pad_amount, restricted

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
ROOT = Path(__file__).resolve().parent.parent

LENET_400 = """
name: Net
input: [N, 1, H, W]
layers:
  - {name: conv1, op: Conv2d, in_channels: 1, out_channels: 6, kernel_size: 5}
  - {op: MaxPool2d, kernel_size: 2}
  - {name: conv2, op: Conv2d, args: [6, 16, 5]}
  - {op: MaxPool2d, kernel_size: 2}
  - {op: Flatten}
  - {name: fc1, op: Linear, in_features: 400, out_features: 120}
"""


def _disagreements(repair: Any, channels: int, hs: range, ws: tuple[int, ...]) -> list[str]:
    """Sizes where the edited network's torch forward and the repair's claimed domain differ."""
    module = shapeplan.build(repair.network).eval()
    bad = []
    for h in hs:
        for w in ws:
            try:
                with torch.no_grad():
                    module(torch.zeros(1, channels, h, w))
                runs = True
            except (RuntimeError, ValueError):
                runs = False
            if runs != repair.domain.contains(N=1, H=h, W=w):
                bad.append(f"H={h}, W={w}: torch {'runs' if runs else 'fails'}")
    return bad


def test_pad_amount_reaches_the_next_multiple() -> None:
    amount = pad_amount("H", 16, 0)
    assert [int(amount.subs({shapeplan.core.dims.sym("H"): h})) for h in (1, 15, 16, 17, 32)] == [15, 1, 0, 15, 0]
    one = pad_amount("W", 4, 1)
    assert all((w + int(one.subs({shapeplan.core.dims.sym("W"): w}))) % 4 == 1 for w in range(1, 30))


@pytest.mark.parametrize("source, kinds, channels, hs", [
    (ROOT / "examples" / "unet.yaml", ["pad-input", "interpolate"], 3, range(1, 36, 7)),
    (ROOT / "examples" / "strided.yaml", ["interpolate", "pad-input"], 3, range(1, 40, 2)),
    (LENET_400, ["adaptive-pool"], 1, range(1, 40, 2)),
], ids=["unet", "strided", "lenet400"])
def test_yaml_repairs_claim_what_torch_does(source: Any, kinds: list[str], channels: int, hs: range) -> None:
    rep = run_check(shapeplan.load(source))
    assert restricted(rep)
    repairs = find_repairs(rep)
    assert sorted(r.kind for r in repairs) == sorted(kinds)
    for r in repairs:
        assert r.complete, r  # every size from some minimum on
        assert _disagreements(r, channels, hs, (1, 5, 16, 17)) == [], r
        again = run_check(shapeplan.load(shapeplan.to_yaml(r.network)))  # written as net.yaml and read back
        assert str(again.domain) == str(r.domain)


def test_unet_pad_crops_the_output_back() -> None:
    rep = run_check(shapeplan.load(ROOT / "examples" / "unet.yaml"))
    (pad,) = [r for r in find_repairs(rep) if r.kind == "pad-input"]
    assert str(pad.domain) == "N >= 1, H >= 1, W >= 1"
    assert "H by -H + 16*((H + 15)//16)" in pad.edit and "dim 2 of outc to H" in pad.edit
    assert [str(d) for d in pad.report.outputs[0]] == ["N", "2", "H", "W"]


class TinyUNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ConvTranspose2d(8, 8, 2, stride=2)

    def forward(self, x: Any) -> Any:
        skip = self.enc(x)
        y = self.up(self.pool(skip))
        return torch.cat([y, skip], dim=1)  # the merge


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)

    def forward(self, x: Any) -> Any:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)  # the flatten
        return self.fc1(x)


class TwoPools(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.MaxPool2d(3, stride=2, padding=1)
        self.b = nn.MaxPool2d(2)  # drops a row

    def forward(self, x: Any) -> Any:
        return torch.cat([self.a(x), self.b(x)], 1)


def _line(cls: type, marker: str) -> int:
    lines, start = inspect.getsourcelines(cls)
    return start + next(i for i, text in enumerate(lines) if marker in text)


@pytest.mark.parametrize("cls, channels, kind, marker", [
    (TinyUNet, 3, "interpolate", "# the merge"),
    (Net, 1, "adaptive-pool", "# the flatten"),
    (TwoPools, 3, "ceil-mode", "# drops a row"),
])
def test_imported_module_repairs_at_the_users_line(cls: type, channels: int, kind: str, marker: str) -> None:
    rep = run_check(shapeplan.from_torch(cls().eval(), ("N", channels, "H", "W")))
    repairs = find_repairs(rep)
    (r,) = [r for r in repairs if r.kind == kind]
    assert r.location is not None and r.location.file == __file__ and r.location.line == _line(cls, marker)
    assert "F.interpolate" in r.edit or "nn.AdaptiveAvgPool2d((5, 5))" in r.edit or "ceil_mode=True" in r.edit
    for each in repairs:
        assert _disagreements(each, channels, range(1, 40, 3), (1, 2, 5, 16, 33)) == [], each


def test_cli_check_offers_repairs_and_solve_writes_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from shapeplan.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["check", "-q", str(ROOT / "examples" / "strided.yaml")])
    assert "repair[interpolate]: resize conv_b to pool_a's size before merge" in res.stderr
    fixed = tmp_path / "fixed.yaml"
    res = runner.invoke(app, ["solve", "--repair", str(ROOT / "examples" / "strided.yaml"), "-o", str(fixed)])
    assert res.exit_code == 0, res.output
    assert "repair 1 [" in res.stdout
    assert str(run_check(shapeplan.load(fixed)).domain) == "N >= 1, H >= 14, W >= 14"
    res = runner.invoke(app, ["solve", "--repair", str(ROOT / "examples" / "resnet18.yaml")])
    assert res.exit_code == 1 and "no repair found" in res.stdout
