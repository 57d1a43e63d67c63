"""Merge rules against torch: add / sub / mul / div / maximum / minimum / max / min
(broadcasting), cat / concat / concatenate, stack, matmul / mm / bmm, at random shapes
including the ones where torch raises.  The symbolic path is checked at the same sizes.

shapeplan's documented reading of broadcasting treats a symbolic size as never being the
broadcast 1 (see shapeplan/ops/merge.py): at a symbolic size equal to 1 the symbolic rule
may say "invalid" where torch broadcasts.  That is the only disagreement allowed, and it is
allowed only at such sizes; wherever the rule says "valid" its shape must be torch's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.core.dims import evaluate, sym
from shapeplan.ops import REGISTRY
from shapeplan.ops.ctx import RuleCtx, RuleError
from shapeplan.ops.registry import bind
from tests.oracle import PointOracle, predict, predict_symbolic, symbolize, torch_shape

# --------------------------------------------------------------------------- helpers


def run_torch(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (),
              kwargs: dict[str, Any] | None = None) -> Any:
    """torch_shape, with 0-d inputs passed so that oracle's ``torch.zeros(*s)`` builds them."""
    return torch_shape(op, [s if len(s) else [()] for s in shapes], args, kwargs)  # type: ignore[misc]


def check(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
          mask: Sequence[Sequence[bool]] | None = None, shared: bool = False) -> Any:
    """predict == torch, and the symbolic rule (the case of it that holds at these sizes)
    agrees at these sizes, a symbolic size of 1 included."""
    kwargs = kwargs or {}
    want = run_torch(op, shapes, args, kwargs)
    got = predict(op, shapes, args, kwargs)
    assert got == want, f"{op}{[tuple(s) for s in shapes]} {args} {kwargs}: predicted {got}, torch {want}"
    mask = mask if mask is not None else [[v != 1 for v in s] for s in shapes]
    sym_shapes, env = symbolize(shapes, mask, shared)
    got_sym = predict_symbolic(op, sym_shapes, env, args, kwargs)
    assert got_sym == want, f"{op}{sym_shapes} at {env} {args} {kwargs}: symbolic {got_sym}, torch {want}"
    return want


@st.composite
def masks(draw: Any, shapes: Sequence[Sequence[int]]) -> list[list[bool]]:
    return [[draw(st.booleans()) for _ in s] for s in shapes]


@st.composite
def broadcast_pair(draw: Any, max_rank: int = 4) -> list[tuple[int, ...]]:
    """Two shapes that mostly broadcast: per aligned dim equal sizes, a 1 on one side, or any."""
    r1, r2 = draw(st.integers(0, max_rank)), draw(st.integers(0, max_rank))
    s1: list[int] = []
    s2: list[int] = []
    for _ in range(max(r1, r2)):
        kind = draw(st.sampled_from(["equal", "one-left", "one-right", "any", "any"]))
        v = draw(st.integers(0, 4))
        a, b = {"equal": (v, v), "one-left": (1, v), "one-right": (v, 1)}.get(kind) or (v, draw(st.integers(0, 4)))
        s1.append(a)
        s2.append(b)
    return [tuple(s1[len(s1) - r1:]), tuple(s2[len(s2) - r2:])]


# --------------------------------------------------------------------------- elementwise


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["add", "sub", "mul", "div", "maximum", "minimum", "max", "min"]), broadcast_pair(),
       st.data())
def test_broadcast(op: str, shapes: list[tuple[int, ...]], data: Any) -> None:
    kwargs: dict[str, Any] = {}
    if op in ("add", "sub") and data.draw(st.booleans()):
        kwargs["alpha"] = data.draw(st.sampled_from([2, 0.5, -1]))
    if op == "div" and data.draw(st.booleans()):
        kwargs["rounding_mode"] = data.draw(st.sampled_from(["trunc", "floor"]))
    check(op, shapes, (), kwargs, mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))


def test_broadcast_examples() -> None:
    assert check("add", [(2, 3, 4), (3, 1)]) == (2, 3, 4)
    assert check("mul", [(8, 1, 6, 1), (7, 1, 5)]) == (8, 7, 6, 5)
    assert check("add", [(0, 3), (1, 3)]) == (0, 3)
    assert check("add", [(2, 3), (3, 2)]) is None
    assert check("sub", [(), (2, 3)]) == (2, 3)
    # (N, C, H, W) * (N, C, 1, 1): the squeeze-excite pattern needs nothing
    assert predict_symbolic("mul", [["N", "C", "H", "W"], ["N", "C", 1, 1]], {"N": 2, "C": 3, "H": 5, "W": 5}) \
        == (2, 3, 5, 5)


def test_broadcast_symbolic_requirements() -> None:
    spec = REGISTRY["add"]
    ctx = RuleCtx()
    out = spec.rule(ctx, [(sym("N"), 3, sym("H"), sym("W")), (sym("N"), 3, 5, sym("W"))], bind(spec, [], {}))
    assert out == (sym("N"), 3, 5, sym("W"))
    assert [(r.cond.kind, r.cond.lhs, r.cond.rhs) for r in ctx.requirements] == [("eq", sym("H"), 5)]
    # at H == 1 the size broadcasts: that case of the rule gives torch's shape
    env = {"N": 2, "H": 1, "W": 4}
    assert predict_symbolic("add", [["N", 3, "H", "W"], ["N", 3, 5, "W"]], env) == (2, 3, 5, 4)
    assert torch_shape("add", [(2, 3, 1, 4), (2, 3, 5, 4)]) == (2, 3, 5, 4)


def test_scalar_other() -> None:
    assert check("mul", [(2, 3)], (), {"other": 0.5}) == (2, 3)
    assert check("add", [(2, 3)], (), {"other": 1, "alpha": 2}) == (2, 3)
    assert check("div", [(4,)], (), {"other": 2, "rounding_mode": "floor"}) == (4,)
    assert predict("add", [(2, 3)]) is None  # one tensor and no scalar
    assert predict("add", [(2, 3), (3,)], (), {"other": 1.0}) is None  # both


def test_max_min_global() -> None:
    for op in ("max", "min"):
        assert check(op, [(2, 3)]) == ()
        assert check(op, [()]) == ()
        assert check(op, [(2, 0)]) is None
        env = {"N": 2, "L": 3}
        assert predict_symbolic(op, [["N", "L"]], env) == ()


# --------------------------------------------------------------------------- cat / stack


@st.composite
def cat_case(draw: Any) -> tuple[list[tuple[int, ...]], int]:
    rank = draw(st.integers(0, 4))
    dim = draw(st.integers(-rank - 1, rank))
    base = [draw(st.integers(0, 4)) for _ in range(rank)]
    shapes = []
    for _ in range(draw(st.integers(1, 4))):
        k = draw(st.integers(0, 19))
        if k == 0:
            shapes.append((0,))  # torch's legacy skip of 1-D empty tensors
            continue
        s = list(base)
        if s and -rank <= dim < rank:
            s[dim] = draw(st.integers(0, 4))
        if k == 1 and s:
            s[draw(st.integers(0, len(s) - 1))] = draw(st.integers(0, 4))  # maybe a mismatch
        if k == 2:
            s = s[1:] if s and draw(st.booleans()) else [*s, 2]  # a rank mismatch
        shapes.append(tuple(s))
    return shapes, dim


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["cat", "concat", "concatenate"]), cat_case(), st.data())
def test_cat(op: str, case: tuple[list[tuple[int, ...]], int], data: Any) -> None:
    shapes, dim = case
    check(op, shapes, (), {"dim": dim}, mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))


def test_cat_examples() -> None:
    assert check("cat", [(2, 3, 4, 4), (2, 5, 4, 4)], (), {"dim": 1}) == (2, 8, 4, 4)
    assert check("cat", [(0,), (2, 3)], (), {"dim": 1}) == (2, 3)  # legacy skip
    assert check("cat", [(0,), (0,)], (), {"dim": 3}) == (0,)
    assert check("cat", [(), ()]) is None
    assert check("cat", [(3,), (2, 3)]) is None
    env = {"N": 2, "H": 7, "W": 5}
    assert predict_symbolic("cat", [["N", 3, "H", "W"], ["N", 5, "H", "W"]], env, (), {"dim": 1}) == (2, 8, 7, 5)
    assert predict_symbolic("cat", [["N", 3, "H", "W"], ["N", 5, "H", "W"]], env, (), {"dim": -3}) == (2, 8, 7, 5)
    # the skip branch of the legacy rule: a 1-D input whose size may be 0 is a case of its own
    spec = REGISTRY["cat"]
    x, y = (sym("H") - 3,), (2, sym("H"))
    for h in (3, 4, 5):
        want = tuple(torch.cat([torch.zeros(h - 3), torch.zeros(2, h)]).shape) if h == 3 else None
        ctx = RuleCtx(oracle=PointOracle({"H": h}))
        with pytest.raises(RuleError) if want is None else contextlib.nullcontext():
            out = spec.rule(ctx, [x, y], bind(spec, [], {}))
            assert tuple(evaluate(d, {"H": h}) for d in out) == want, h
        ctx = RuleCtx(oracle=PointOracle({"H": h}))
        out = spec.rule(ctx, [x, x], bind(spec, [], {}))
        assert tuple(evaluate(d, {"H": h}) for d in out) == tuple(torch.cat([torch.zeros(h - 3)] * 2).shape)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 4), st.integers(1, 4), st.data())
def test_stack(rank: int, n: int, data: Any) -> None:
    base = [data.draw(st.integers(0, 4)) for _ in range(rank)]
    shapes = []
    for _ in range(n):
        s = list(base)
        k = data.draw(st.integers(0, 9))
        if k == 0 and s:
            s[data.draw(st.integers(0, len(s) - 1))] = data.draw(st.integers(0, 4))
        elif k == 1:
            s = s[1:] if s else [1]
        shapes.append(tuple(s))
    dim = data.draw(st.integers(-rank - 2, rank + 1))
    check("stack", shapes, (), {"dim": dim}, mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))


# --------------------------------------------------------------------------- matrix products


@st.composite
def matmul_pair(draw: Any, ranks: Sequence[int] = (0, 1, 2, 3, 4)) -> list[tuple[int, ...]]:
    a_rank, b_rank = draw(st.sampled_from(ranks)), draw(st.sampled_from(ranks))
    k = draw(st.integers(0, 4))

    def size() -> int:
        return draw(st.integers(0, 4))

    a = [size() for _ in range(a_rank)]
    b = [size() for _ in range(b_rank)]
    if a and b and draw(st.integers(0, 4)):
        a[-1] = k
        b[-2 if len(b) >= 2 else 0] = k
    # batch dims: mostly broadcastable
    ba, bb = a[:-2], b[:-2]
    for i in range(1, min(len(ba), len(bb)) + 1):
        c = draw(st.integers(0, 5))
        if c < 3:
            bb[-i] = ba[-i]
        elif c == 3:
            ba[-i] = 1
        elif c == 4:
            bb[-i] = 1
    a = [*ba, *a[len(ba):]]
    b = [*bb, *b[len(bb):]]
    return [tuple(a), tuple(b)]


@settings(max_examples=300, deadline=None)
@given(matmul_pair(), st.data())
def test_matmul(shapes: list[tuple[int, ...]], data: Any) -> None:
    check("matmul", shapes, mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))


@settings(max_examples=100, deadline=None)
@given(matmul_pair((2, 2, 2, 2, 1, 3)), st.data())
def test_mm(shapes: list[tuple[int, ...]], data: Any) -> None:
    check("mm", shapes, mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))


@settings(max_examples=150, deadline=None)
@given(matmul_pair((3, 3, 3, 3, 2, 4)), st.data())
def test_bmm(shapes: list[tuple[int, ...]], data: Any) -> None:
    check("bmm", shapes, mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))


def test_matmul_examples() -> None:
    assert check("matmul", [(3,), (3,)]) == ()
    assert check("matmul", [(2, 3, 4), (4,)]) == (2, 3)
    assert check("matmul", [(4,), (2, 4, 5)]) == (2, 5)
    assert check("matmul", [(1, 2, 3, 4), (5, 4, 2)]) is None
    assert check("matmul", [(7, 1, 3, 4), (5, 4, 2)]) == (7, 5, 3, 2)
    assert check("matmul", [(), (3,)]) is None
    env = {"N": 2, "T": 5, "D": 4}
    assert predict_symbolic("matmul", [["N", "T", "D"], ["D", 8]], env) == (2, 5, 8)
    assert predict_symbolic("bmm", [["N", "T", "D"], ["N", "D", "T"]], env) == (2, 5, 5)


@pytest.mark.parametrize("op", ["add", "cat", "stack", "matmul", "bmm", "max"])
def test_specs_produce_valid_calls(op: str) -> None:
    shapes = {"add": [(2, 3), (3,)], "cat": [(2, 3)] * 3, "stack": [(2, 3)] * 2, "matmul": [(2, 3), (3, 4)],
              "bmm": [(2, 2, 3), (2, 3, 4)], "max": [(2, 3), (2, 3)]}[op]
    assert torch_shape(op, shapes) == predict(op, shapes)


def test_a_size_formula_as_scalar_operand() -> None:
    """``x * (H // 8) / W``: the operand is a number at every size; YAML writes it as a formula,
    the emitted module computes it from the input's shape, as the traced forward did."""
    import shapeplan

    net = shapeplan.load({"input": ["N", 3, "H", "W"], "layers": [{"op": "mul", "other": "H // 8"},
                                                                 {"op": "div", "other": "W"}]})
    rep = shapeplan.check(net)
    assert rep.ok and rep.outputs == [(sym("N"), 3, sym("H"), sym("W"))]
    model = shapeplan.build(net)
    x = torch.rand(2, 3, 17, 5)
    assert torch.equal(model(x), x * (17 // 8) / 5)
    with pytest.raises(shapeplan.InputError):
        shapeplan.load({"input": ["N", 3], "layers": [{"op": "mul", "other": "H +"}]})
