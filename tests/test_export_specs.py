"""export_specs against torch.export itself: every spec exports, the exported program runs with
eager's output shape at the sizes the spec claims (its smallest sizes, a middle and a larger
one, on the CPU), and every size where eager torch runs is held by a spec or listed in
``excluded``.  Also the pieces of a domain (torch-free) and the CLI."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import shapeplan
from shapeplan.analysis.exportable import Axis, axes_of, small_dim_conditions, split_pieces
from shapeplan.core.dims import floordiv, sym
from shapeplan.core.sets import USet

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------- the pieces (no torch)


def test_axes_of_a_periodic_union() -> None:
    u = USet.periodic(32, [0, 29, 30, 31], 29)
    axes = axes_of(u)
    assert [(a.lo, a.period, a.residue) for a in axes] == [(32, 32, 0), (29, 32, 29), (30, 32, 30), (31, 32, 31)]
    assert all(a.hi is None for a in axes)
    assert axes[1].describe("H") == "H = 32k + 29, k >= 0"
    assert set().union(*({v for v in range(1, 200) if a.contains(v)} for a in axes)) == \
        {v for v in range(1, 200) if v in u}


def test_axis_bounds_and_members() -> None:
    a = Axis(33, 129, 32, 1)
    assert (a.kmin, a.kmax) == (1, 4)
    assert a.at_or_after(34) == 65 and a.at_or_before(100) == 97 and a.at_or_after(130) is None
    assert a.describe("W") == "W = 32k + 1, k in [1, 4]"
    assert Axis(5, None).describe("H") == "H >= 5" and Axis(7, 7).static


def test_split_pieces_is_a_partition() -> None:
    box = {"N": USet.range(1), "H": USet.periodic(4, [1, 2], 17), "W": USet.range(3, 9)}
    pieces = split_pieces([box], ["N", "H", "W"])
    assert len(pieces) == 2
    for h, w in itertools.product(range(1, 60), range(1, 12)):
        inside = [p for p in pieces if p.contains(N=1, H=h, W=w)]
        assert len(inside) == (1 if h in box["H"] and w in box["W"] else 0)


def test_small_dim_conditions_skip_bare_symbols_when_asked() -> None:
    h = sym("H")
    shapes = [(sym("N"), 3, h, h), (sym("N"), 8, floordiv(h + 1, 2), 4)]
    assert len(small_dim_conditions(shapes, bare=True)) == 3
    (c,) = small_dim_conditions(shapes, bare=False)
    assert c.holds_at({"H": 3}) and not c.holds_at({"H": 2})


# ------------------------------------------------------------------------------- against torch


def eager_output(module: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The output shape of the CPU forward, or None where torch refuses the input."""
    try:
        with torch.no_grad():
            out = module(torch.zeros(shape))
    except Exception:  # noqa: BLE001 - torch's refusal is the answer
        return None
    return tuple(out.shape)


def claimed_sizes(spec: Any, cap: int = 80) -> Iterator[dict[str, int]]:
    """The spec's smallest sizes, a middle one and a larger one (within ``cap`` when unbounded)."""
    axes = dict(spec.piece.axes)
    yield {s: a.lo for s, a in axes.items()}
    yield {s: (a.lo if s == "N" else a.middle(cap // 2)) for s, a in axes.items()}
    yield {s: (2 if s == "N" and a.contains(2) else a.at_or_before(cap) if a.hi is None or a.hi > cap else a.hi)
           or a.lo for s, a in axes.items()}


def check_specs(module: Any, specs: Any, shape: tuple[Any, ...], grid: list[Mapping[str, int]],
                cap: int = 80) -> None:
    """Every spec exports and runs like eager at the sizes it claims; every size eager runs at
    (in ``grid``) is covered or excluded; a spec holds no size where eager fails."""
    assert all(s.proven for s in specs)
    for spec in specs:  # the program of the proof: torch.export.export(module, example, spec.dynamic_shapes)
        program = spec.program.module()
        for sizes in claimed_sizes(spec, cap):
            assert spec.contains(**sizes), (spec, sizes)
            args = spec.example_args(sizes=sizes)
            with torch.no_grad():
                got = tuple(program(*args).shape)
            assert got == eager_output(module, args[0].shape), (spec, sizes)
    for env in grid:
        concrete = tuple(env[d] if isinstance(d, str) else d for d in shape)
        runs = eager_output(module, concrete) is not None
        held = specs.covering(**env) is not None
        if runs:
            assert held or specs.why_excluded(**env) is not None, (env, str(specs))
        else:
            assert not held, (env, str(specs))


def _grid(hs: range, ws: tuple[int, ...], ns: tuple[int, ...] = (1, 2)) -> list[dict[str, int]]:
    return [{"N": n, "H": h, "W": w} for n in ns for h in hs for w in ws]


def test_unet_yaml_is_one_periodic_spec() -> None:
    net = shapeplan.load(ROOT / "examples" / "unet.yaml")
    specs = shapeplan.export_specs(net)
    assert len(specs) == 1
    (spec,) = specs
    assert spec.describe() == "N >= 1, H = 16k, k >= 2, W = 16k, k >= 2"
    ds = spec.dynamic_shapes["x"]
    assert set(ds) == {0, 2, 3} and "16" in str(ds[2])
    assert "_H = Dim('_H', min=2)" in spec.source() and "16 * _H" in spec.source()
    assert specs.why_excluded(N=1, H=16, W=64) is not None and "1" in specs.excluded[0].reason
    module = shapeplan.build(net).eval()
    check_specs(module, specs, ("N", 3, "H", "W"), _grid(range(8, 40, 8), (16, 17), (1,)) + [{"N": 1, "H": 17, "W": 32}], cap=48)


def test_strided_union_is_several_specs() -> None:
    net = shapeplan.load(ROOT / "examples" / "strided.yaml")
    specs = shapeplan.export_specs(net, max_specs=2)
    assert len(specs) == 2
    assert all(a.period > 1 for s in specs for name, a in s.piece.axes if name != "N")
    assert any("max_specs" in e.reason for e in specs.excluded)
    module = shapeplan.build(net).eval()
    check_specs(module, specs, ("N", 3, "H", "W"), _grid(range(15, 60, 3), (17, 33, 57, 58), (1,)))


class _Branchy(nn.Module):
    """Refuses H that is not a multiple of 8; a skip that agrees only when W is a multiple of 4."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: Any) -> Any:
        if x.shape[-2] % 8:
            raise ValueError("H must be a multiple of 8")
        up = F.interpolate(self.pool(self.conv(x)), scale_factor=4)
        return torch.cat([up, x], 1)


def test_module_with_a_refusal_and_a_periodic_merge() -> None:
    module = _Branchy().eval()
    specs = shapeplan.export_specs(module, ("N", 3, "H", "W"))
    # torch's program traced at H >= 16 assumes H > 8: H = 8 is a spec of its own
    assert sorted(s.describe() for s in specs) == ["N >= 1, H = 8, W = 4k, k >= 2", "N >= 1, H = 8k, k >= 2, W = 4k, k >= 2"]
    check_specs(module, specs, ("N", 3, "H", "W"), _grid(range(1, 40, 3), (4, 5, 8, 12)))


def test_onnx_and_tensorrt_data() -> None:
    specs = shapeplan.export_specs(_Branchy().eval(), ("N", 3, "H", "W"))
    spec = specs.covering(N=1, H=64, W=64)
    assert spec is not None
    assert spec.onnx_dynamic_axes() == {"x": {0: "N", 2: "H", 3: "W"}, "output": {0: "N", 2: "H", 3: "W"}}
    prof = spec.tensorrt_profile(opt={"N": 4, "H": 64, "W": 64}, max={"N": 8, "H": 100, "W": 100})["x"]
    assert prof == {"min": (1, 3, 16, 8), "opt": (4, 3, 64, 64), "max": (8, 3, 96, 100)}
    assert all(spec.contains(N=p[0], H=p[2], W=p[3]) for p in prof.values())
    assert spec.ranges["H"] == {"min": 16, "max": None, "period": 8, "residue": 0}
    static = specs.covering(N=1, H=8, W=64)
    assert static is not None and static.onnx_dynamic_axes()["x"] == {0: "N", 3: "W"}


def test_smp_unet_resnet34_the_issue() -> None:
    """Runs eagerly at every size; torch.export needs every feature map to be at least 2x2."""
    smp = pytest.importorskip("segmentation_models_pytorch")
    module = smp.Unet("resnet34", encoder_weights=None, classes=2).eval()
    specs = shapeplan.export_specs(module, ("N", 3, "H", "W"))
    assert [s.describe() for s in specs] == ["N >= 1, H >= 33, W >= 33"]
    why = specs.why_excluded(N=1, H=32, W=32)
    assert why is not None and "1" in why.reason and "specialises" in why.reason
    check_specs(module, specs, ("N", 3, "H", "W"), _grid(range(31, 35, 2), (32, 33), (1,)), cap=64)


def test_lazy_modules_are_refused_with_a_reason() -> None:
    with pytest.raises(shapeplan.InputError, match="Lazy"):
        shapeplan.export_specs(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(3)), ("N", 3, 8, 8))


def test_cli_export_spec(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from shapeplan.cli import app

    models = tmp_path / "models.py"
    models.write_text("import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
                      "        super().__init__()\n        self.c = nn.Conv2d(3, 8, 3, stride=2, padding=1)\n"
                      "        self.p = nn.MaxPool2d(2)\n\n    def forward(self, x):\n        return self.p(self.c(x))\n")
    res = CliRunner().invoke(app, ["export-spec", f"{models}:Net", "--input", "N,3,H,W"])
    assert res.exit_code == 0, res.output
    assert "H = Dim('H', min=7)" in res.stdout and "export(model, example, dynamic_shapes=dynamic_shapes)" in res.stdout
    ns: dict[str, Any] = {}
    exec(res.stdout.replace("export(model", "export(Net()"), {**ns, "Net": _net_from(models)})  # noqa: S102


def _net_from(path: Path) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("sp_models_test", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Net
