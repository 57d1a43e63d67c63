"""One size: `rep.at` (every layer's concrete shape, or why the size fails) and
`rep.domain.nearest` (the closest valid sizes, read from the boxes, exact)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

import shapeplan
from shapeplan.analysis.domain.domain import Domain
from shapeplan.core.conditions import Cond
from shapeplan.core.dims import sym
from shapeplan.core.sets import USet

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"

LENET_400 = (EX / "lenet.yaml").read_text().replace("in_features: auto", "in_features: 400")
PERIODIC = """
input: [N, 3, H, W]
layers:
  - {op: Conv2d, args: [3, 8, 3], stride: 2}
  - {name: a, op: MaxPool2d, kernel_size: 2}
  - {op: Upsample, scale_factor: 2}
  - {op: cat, from: [conv2d, upsample]}
"""
SQUEEZE = """
input: [N, 3, H, W]
layers:
  - {op: Conv2d, args: [3, 8, 3]}
  - {op: AdaptiveAvgPool2d, output_size: 1}
  - {op: squeeze}
"""
BOUNDED = """
input: [N, 3, H, W]
symbols: {H: {min: 16, max: 64}}
layers:
  - {op: Conv2d, args: [3, 8, 3]}
"""


# ---------------------------------------------------------------------- nearest, against brute force


def _key(sizes: Mapping[str, int], p: Mapping[str, int]) -> tuple[int, int, tuple[int, ...]]:
    diffs = [abs(p[k] - v) for k, v in sizes.items()]
    return (sum(diffs), max(diffs), tuple(p[k] for k in sizes))


def _brute(dom: Domain, sizes: dict[str, int], grid: int) -> dict[str, dict[str, int] | None]:
    names = list(sizes)
    valid = [dict(zip(names, c)) for c in itertools.product(range(1, grid + 1), repeat=len(names))
             if dom.contains(**dict(zip(names, c)))]
    below = [p for p in valid if all(p[k] <= sizes[k] for k in names)]
    above = [p for p in valid if all(p[k] >= sizes[k] for k in names)]
    out: dict[str, dict[str, int] | None] = {}
    for name, cands in (("below", below), ("above", above), ("closest", valid)):
        best = min(cands, key=lambda p: _key(sizes, p), default=None)
        # a point outside the grid is at least this far: only a closer answer is certain
        limit = min(grid + 1 - v for v in sizes.values())
        out[name] = best if best is not None and _key(sizes, best)[0] < limit else "unknown"  # type: ignore[assignment]
    return out


def _residual_domain() -> Domain:
    h, w = sym("H"), sym("W")
    box = {"H": USet.range(3), "W": USet.periodic(2, [0], 2)}
    rel = Cond("ge", h * w + h, 3 * w + 40)  # outside the exact fragment: kept as a relation
    return Domain(("H", "W"), [box], [rel], [rel])


DOMAINS = {
    "union of boxes": lambda: shapeplan.check(LENET_400).domain,
    "periodic": lambda: shapeplan.check(PERIODIC).domain,
    "unet": lambda: shapeplan.check(EX / "unet.yaml").domain,
    "residual": _residual_domain,
    "pieces": lambda: Domain.union(("H", "W"), [_residual_domain(),
                                                Domain(("H", "W"), [{"H": USet.range(1, 2), "W": USet.points([7])}])]),
}


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_nearest_agrees_with_brute_force(name: str) -> None:
    dom = DOMAINS[name]()
    grid = 48
    for h, w in [(1, 1), (20, 20), (33, 17), (40, 2), (7, 45), (17, 113 % 48), (30, 31)]:
        sizes = {"H": h, "W": w}
        got = dom.nearest(**sizes)
        want = _brute(dom, sizes, grid)
        assert got.valid == dom.contains(**sizes)
        for side in ("below", "above", "closest"):
            if want[side] != "unknown":
                assert getattr(got, side) == want[side], (name, sizes, side, str(got))
        if got.valid:
            assert got.below == got.above == got.closest == sizes
        for side in ("below", "above", "closest"):
            found = getattr(got, side)
            if found is not None:
                assert dom.contains(**found)  # jointly valid
    assert dom.nearest(H=5).sizes == {"H": 5}


def test_nearest_is_fast_and_exact_far_out() -> None:
    dom = shapeplan.check(EX / "unet.yaml").domain
    t = time.perf_counter()
    near = dom.nearest(H=1080, W=1921)
    far = dom.nearest(H=10**12 + 5, W=10**12 + 9)
    assert time.perf_counter() - t < 1.0
    assert near.below == {"H": 1072, "W": 1920} and near.above == {"H": 1088, "W": 1936}
    assert near.closest == {"H": 1072, "W": 1920} and not near.valid and near.exact
    assert far.below == {"H": 10**12, "W": 10**12} and far.above == {"H": 10**12 + 16, "W": 10**12 + 16}
    assert str(near) == "nearest valid sizes: below: H=1072, W=1920; above: H=1088, W=1936"
    assert near.to_json()["below"] == {"H": 1072, "W": 1920}
    assert not shapeplan.check(EX / "lenet_bad.yaml").domain.nearest(H=32, W=32).below
    with pytest.raises(ValueError):
        dom.nearest(Q=3)


# ---------------------------------------------------------------------- rep.at


def test_at_gives_every_layer_as_ints() -> None:
    rep = shapeplan.check(EX / "lenet.yaml")
    shapes = rep.at(N=1, H=28, W=28)
    assert shapes["x"] == (1, 1, 28, 28) and shapes["flatten"] == (1, 256) and shapes["fc3"] == (1, 10)
    assert all(isinstance(d, int) for s in shapes.values() for d in s)
    assert set(shapes) == set(rep.shapes)


def test_at_matches_torch_on_the_tutorial_net() -> None:
    torch = pytest.importorskip("torch")
    import sys

    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from tutorial_net import Net
    finally:
        sys.path.remove(str(ROOT / "docs"))
    net = Net().eval()
    rep = shapeplan.check(shapeplan.from_torch(net, ("N", 1, "H", "W")))
    seen: dict[str, tuple[int, ...]] = {}
    for name in ("conv1", "conv2", "fc1", "fc2", "fc3"):
        getattr(net, name).register_forward_hook(lambda _m, _i, o, name=name: seen.__setitem__(name, tuple(o.shape)))
    with torch.no_grad():
        net(torch.zeros(2, 1, 33, 34))
    got = rep.at(N=2, H=33, W=34)
    assert {k: got[k] for k in seen} == seen


def test_at_in_the_case_the_size_falls_in() -> None:
    torch = pytest.importorskip("torch")
    rep = shapeplan.check(SQUEEZE)
    assert rep.at(N=1, H=8, W=8)["squeeze"] == (8,)
    assert rep.at(N=2, H=8, W=8)["squeeze"] == (2, 8)
    for n in (1, 2):
        x = torch.zeros(n, 8, 1, 1)
        assert rep.at(N=n, H=8, W=8)["squeeze"] == tuple(x.squeeze().shape)


def test_at_explains_an_invalid_size() -> None:
    rep = shapeplan.check(LENET_400)
    with pytest.raises(shapeplan.ShapeError) as e:
        rep.at(N=1, H=36, W=32)
    d = e.value.diagnostics[0]
    assert d.layer == "fc1" and d.code == "in-features" and d.location is not None and d.location.line
    assert "N=1, H=36, W=32 is not a valid input size: fc1 (Linear) expects in_features=400" in d.message
    assert "(480 = 16*6*5 at H=36, W=32)" in d.message
    assert d.hint is not None and "nearest valid sizes: below: N=1, H=35, W=32; above: none" in d.hint
    with pytest.raises(shapeplan.ShapeError, match="conv1 .* does not fit"):
        rep.at(N=1, H=3, W=32)


def test_at_names_sizes_and_bounds() -> None:
    rep = shapeplan.check(EX / "lenet.yaml")
    with pytest.raises(shapeplan.ShapeplanError, match="need every size; N missing"):
        rep.at(H=32, W=32)
    with pytest.raises(shapeplan.ShapeplanError, match="does not have Q"):
        rep.at(N=1, H=32, W=32, Q=1)
    bounded = shapeplan.check(BOUNDED)
    with pytest.raises(shapeplan.ShapeError, match=r"H=8 is outside the sizes allowed for H \(H in \[16, 64\]\)"):
        bounded.at(N=1, H=8, W=8)
    assert bounded.at(N=1, H=16, W=8)["conv2d"] == (1, 8, 14, 6)


def test_at_names_the_models_own_refusal() -> None:
    torch = pytest.importorskip("torch")

    class Even(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            assert x.shape[-1] % 2 == 0, "even widths only"
            return self.conv(x)

    rep = shapeplan.check(shapeplan.from_torch(Even(), ("N", 3, "H", "W")))
    assert rep.at(N=1, H=5, W=6)["conv"] == (1, 4, 5, 6)
    with pytest.raises(shapeplan.ShapeError, match="forward refuses the input at N=1, H=5, W=7: .*even widths only") as e:
        rep.at(N=1, H=5, W=7)
    assert "nearest valid sizes" in (e.value.diagnostics[0].hint or "")
