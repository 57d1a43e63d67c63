"""One printed form of a formula: equal formulas print the same whatever their construction
(YAML, the torch bridge, expanded or factored), and shapes evaluate with shapeplan's symbols."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
import sympy

import shapeplan
from shapeplan.core.canon import factor_values
from shapeplan.core.dims import evaluate, floordiv, fmt, sym

ROOT = Path(__file__).resolve().parents[1]
H, W, N = sym("H"), sym("W"), sym("N")
A, B = floordiv(H, 4), floordiv(W, 4)


@pytest.mark.parametrize("exprs, text", [
    ([16 * (A - 3) * (B - 3), (16 * A - 48) * (B - 3), (A - 3) * (16 * B - 48), sympy.expand(16 * (A - 3) * (B - 3))],
     "16*(H//4 - 3)*(W//4 - 3)"),
    ([120 * (16 * (A - 3) * (B - 3) + 1), sympy.expand(120 * (16 * (A - 3) * (B - 3) + 1))],
     "120*(16*(H//4 - 3)*(W//4 - 3) + 1)"),
    ([16 * floordiv(H - 4, 4) ** 2, 16 * (A - 1) ** 2, sympy.expand(16 * (A - 1) ** 2)], "16*(H//4 - 1)**2"),
    ([floordiv(floordiv(H - 2, 2) - 2, 2), floordiv(H - 6, 4)], "(H + 2)//4 - 2"),
    ([4 * (H * N * W + 12 * N * (H - 4) * (W - 4)), sympy.expand(4 * N * (H * W + 12 * (H - 4) * (W - 4)))],
     "4*N*(H*W + 12*(H - 4)*(W - 4))"),
    ([6 * (H - 4) * (W - 4) + 16 * (floordiv(H, 2) - 6) * (floordiv(W, 2) - 6),
      sympy.expand(6 * (H - 4) * (W - 4) + 16 * (floordiv(H, 2) - 6) * (floordiv(W, 2) - 6))],
     "2*(3*(H - 4)*(W - 4) + 8*(H//2 - 6)*(W//2 - 6))"),
    ([H - 4, 2 * H + 1 - H - 5], "H - 4"),
    ([sympy.Max(H - 4, W), sympy.Max(W, H - 4)], "max(W, H - 4)"),
])
def test_equal_formulas_print_the_same(exprs: list[sympy.Expr], text: str) -> None:
    assert {fmt(e) for e in exprs} == {text}


def _random_formula(rng: random.Random) -> sympy.Expr:
    atoms = [H, W, floordiv(H, 2), floordiv(W + 1, 2), floordiv(H + 3, 4)]
    out: sympy.Expr = sympy.Integer(rng.randint(-5, 5))
    for _ in range(rng.randint(1, 3)):
        term: sympy.Expr = sympy.Integer(rng.randint(1, 64))
        for _ in range(rng.randint(1, 2)):
            term = term * (rng.choice(atoms) - rng.randint(0, 6))
        out = out + term
    return out


def test_random_constructions_print_the_same_and_keep_their_value() -> None:
    rng = random.Random(16)
    for _ in range(150):
        e = _random_formula(rng)
        variants = [e, sympy.expand(e), sympy.factor_terms(e), sympy.expand(e) + H - H]
        assert len({fmt(v) for v in variants}) == 1, [fmt(v) for v in variants]
        printed = fmt(e)
        for h, w in ((1, 1), (17, 40), (224, 99)):
            env = {"H": h, "W": w}
            assert eval(printed, {"max": max, "min": min}, env) == evaluate(e, env), printed  # noqa: S307


def test_factor_values() -> None:
    e = (16 * floordiv(H + 2, 4) - 32) * (floordiv(W + 2, 4) - 2)
    assert factor_values(e, {"H": 32, "W": 32}) == "16*6*6"
    assert factor_values(H - 4, {"H": 32}) is None


def test_yaml_and_torch_bridge_print_alike() -> None:
    torch = pytest.importorskip("torch")
    del torch
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from tutorial_net import Net
    finally:
        sys.path.remove(str(ROOT / "docs"))
    from_torch = shapeplan.check(shapeplan.from_torch(Net(), ("N", 1, "H", "W")))
    from_yaml = shapeplan.check(ROOT / "examples" / "lenet.yaml")
    a, b = from_torch.shapes["flatten"][1], from_yaml.shapes["flatten"][1]
    assert fmt(a) == fmt(b) == "16*(H//4 - 3)*(W//4 - 3)"
    assert from_torch.to_json()["layers"][6]["shape"] == from_yaml.to_json()["layers"][6]["shape"]


def test_symbols_subs() -> None:
    rep = shapeplan.check(ROOT / "examples" / "lenet.yaml")
    n, h, w = shapeplan.symbols("N H W")
    assert shapeplan.symbols("N,H,W") == (n, h, w) == shapeplan.symbols(["N", "H", "W"])
    assert h == sympy.Symbol("H", integer=True, positive=True)
    assert rep.shapes["flatten"][1].subs({h: 32, w: 32}) == 400
    assert rep.shapes["flatten"][1].subs({sympy.Symbol("H"): 32}) == rep.shapes["flatten"][1]  # another symbol
    with pytest.raises(ValueError):
        shapeplan.symbols("H lambda")
