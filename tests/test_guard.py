"""Input guards against torch's CPU forward: the guarded module (``emit --guard``) and the
pasted check (``guard_source``) raise a ValueError exactly where the unguarded forward fails,
at sizes inside and outside the domain: periodic sets, unions of boxes, refusals and cases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import shapeplan
from shapeplan.backends.emit import _class_name
from shapeplan.backends.guard import rule_text

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


def _module(rep: Any, guard: bool) -> Any:
    ns: dict[str, Any] = {}
    exec(compile(shapeplan.emit(rep, guard=guard), "<emitted>", "exec"), ns)  # noqa: S102 - our own output
    return ns[_class_name(rep.network.name)]().eval()


def _report(source: Any) -> Any:
    from shapeplan.analysis.check import run_check

    return run_check(shapeplan.load(source))  # without check's fix-its (the guard does not need them)


def _runs(fn: Any, x: Any) -> bool:
    try:
        with torch.no_grad():
            fn(x)
    except (ValueError, RuntimeError, AssertionError, IndexError):
        return False
    return True


def _compare(rep: Any, plain: Any, check: Any, grid: list[tuple[int, ...]]) -> list[str]:
    """Sizes where the guard and torch's forward disagree (and where the domain does)."""
    bad = []
    for shape in grid:
        x = torch.zeros(shape)
        torch_ok, guard_ok = _runs(plain, x), _runs(check, x)
        if torch_ok != guard_ok:
            bad.append(f"{shape}: torch {'runs' if torch_ok else 'fails'}, the guard {'passes' if guard_ok else 'raises'}")
    return bad


@pytest.mark.parametrize("source, grid", [
    (ROOT / "examples" / "strided.yaml", [(1, 3, h, w) for h in range(1, 60, 2) for w in (17, 18, 19, 20, 33)]),
    (ROOT / "examples" / "unet.yaml", [(n, 3, h, w) for n in (1, 2) for h in (8, 15, 16, 17, 24, 32) for w in (16, 31)]),
    (LENET_400, [(1, 1, h, w) for h in range(10, 40) for w in (16, 19, 20, 33, 35, 36, 112)]),
])
def test_emitted_guard_raises_exactly_where_torch_fails(source: Any, grid: list[tuple[int, ...]]) -> None:
    rep = _report(source)
    guarded, plain = _module(rep, True), _module(rep, False)
    assert _compare(rep, plain, guarded, grid) == []
    inside = [s for s in grid if rep.domain.contains(**dict(zip(("N", "H", "W"), (s[0], s[2], s[3]))))]
    assert inside and len(inside) < len(grid)  # both sides were tried


def test_message_names_sizes_rule_and_nearest() -> None:
    rep = _report(ROOT / "examples" / "strided.yaml")
    guarded = _module(rep, True)
    with pytest.raises(ValueError) as info:
        guarded(torch.zeros(1, 3, 20, 21))
    msg = str(info.value)
    assert msg.startswith("input sizes N=1, H=20, W=21 are not valid: H must be 4k + r, r in {1, 2}, H >= 17")
    assert "W must" not in msg  # W=21 is valid: only the failing size's rule
    near = re.findall(r"N=(\d+), H=(\d+), W=(\d+)", msg.split("nearest valid sizes:")[1])
    assert [tuple(map(int, n)) for n in near] == [(1, 18, 21), (1, 21, 21)]
    assert all(rep.domain.contains(N=int(n), H=int(h), W=int(w)) for n, h, w in near)


def test_docstring_has_the_input_sizes_section() -> None:
    rep = _report(ROOT / "examples" / "unet.yaml")
    src = shapeplan.emit(rep, guard=True)
    assert "    Input sizes:\n        x: (N, 3, H, W)\n        valid: H must be 16k, H >= 16; W must be 16k, W >= 16" in src
    assert "Input sizes:" not in shapeplan.emit(rep)
    assert rule_text(rep.domain) == "H must be 16k, H >= 16; W must be 16k, W >= 16"


class _Branchy(nn.Module):
    """A refusal (H % 8), a merge that agrees only at W = 4k, and a squeeze whose case is N = 1."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: Any) -> Any:
        if x.shape[-2] % 8:
            raise ValueError("H must be a multiple of 8")
        up = F.interpolate(self.pool(self.conv(x)), scale_factor=4)
        return torch.cat([up, x], 1).squeeze(0)


class _Pair(nn.Module):
    """Two inputs that share H and W; the merge needs H, W >= 2 after the pool."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, x: Any, y: Any) -> Any:
        return self.pool(x) + self.pool(y)


def test_guard_source_for_imported_modules() -> None:
    module = _Branchy().eval()
    rep = shapeplan.check(shapeplan.from_torch(module, ("N", 3, "H", "W")))
    assert rep.cases  # the refusal, the squeeze at N = 1
    ns: dict[str, Any] = {}
    exec(shapeplan.guard_source(rep), ns)  # noqa: S102 - our own output
    grid = [(n, 3, h, w) for n in (1, 2) for h in range(1, 34, 3) for w in (3, 4, 5, 8, 12)]
    assert _compare(rep, module, ns["check_input_sizes"], grid) == []


def test_guard_source_with_two_inputs() -> None:
    module = _Pair().eval()
    rep = shapeplan.check(shapeplan.from_torch(module, {"x": ("N", 2, "H", "W"), "y": ("N", 2, "H", "W")}))
    ns: dict[str, Any] = {}
    exec(shapeplan.guard_source(rep), ns)  # noqa: S102 - our own output
    check = ns["check_input_sizes"]
    for h in range(1, 8):
        x = torch.zeros(1, 2, h, 5)
        assert _runs(lambda t: check(t, t), x) == _runs(lambda t: module(t, t), x)
    with pytest.raises(ValueError, match="must be equal"):
        check(torch.zeros(1, 2, 5, 5), torch.zeros(1, 2, 6, 5))


def test_cli_emit_guard(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from shapeplan.cli import app

    out = tmp_path / "lenet.py"
    res = CliRunner().invoke(app, ["emit", "--guard", str(ROOT / "examples" / "lenet.yaml"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "_sp_check({'N': x.shape[0], 'H': x.shape[2], 'W': x.shape[3]})" in text
    compile(text, str(out), "exec")
