"""Reshape rules against torch: Flatten / flatten, Unflatten / unflatten, reshape / view
(with -1 and symbolic sizes), permute, transpose, squeeze / unsqueeze, contiguous, at random
arguments and shapes including those where torch raises; the symbolic path is checked at
the same sizes.

squeeze with a symbolic size is read as documented in shapeplan/ops/reshape.py (kept and
required >= 2 without ``dim``; removed and required == 1 when named): at other values of that
size the symbolic rule says "invalid" where torch works, and only there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.core.dims import fmt, sym
from shapeplan.ops import REGISTRY
from shapeplan.ops.ctx import ArgError, RuleCtx
from shapeplan.ops.registry import bind
from tests.oracle import predict, predict_symbolic, symbolize, torch_shape

# --------------------------------------------------------------------------- helpers


def run_torch(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (),
              kwargs: dict[str, Any] | None = None) -> Any:
    """torch_shape, with 0-d inputs passed so that oracle's ``torch.zeros(*s)`` builds them."""
    return torch_shape(op, [s if len(s) else [()] for s in shapes], args, kwargs)  # type: ignore[misc]


def check(op: str, shape: Sequence[int], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
          mask: Sequence[bool] | None = None, shared: bool = False) -> Any:
    """predict == torch on one input; the symbolic rule (its case at these sizes) agrees."""
    kwargs = kwargs or {}
    want = run_torch(op, [shape], args, kwargs)
    got = predict(op, [shape], args, kwargs)
    assert got == want, f"{op}{tuple(shape)} {args} {kwargs}: predicted {got}, torch {want}"
    mask = mask if mask is not None else [v != 1 for v in shape]
    (sym_shape,), env = symbolize([shape], [mask], shared)
    got_sym = predict_symbolic(op, [sym_shape], env, args, kwargs)
    assert got_sym == want, f"{op}{sym_shape} at {env} {args} {kwargs}: symbolic {got_sym}, torch {want}"
    return want


@st.composite
def shapes(draw: Any, min_rank: int = 0, max_rank: int = 4, max_size: int = 4) -> tuple[int, ...]:
    rank = draw(st.integers(min_rank, max_rank))
    return tuple(draw(st.integers(0, max_size)) for _ in range(rank))


def mask_for(data: Any, shape: Sequence[int]) -> list[bool]:
    return [data.draw(st.booleans()) for _ in shape]


# --------------------------------------------------------------------------- flatten / unflatten


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["Flatten", "flatten"]), shapes(), st.data())
def test_flatten(op: str, shape: tuple[int, ...], data: Any) -> None:
    r = max(len(shape), 1)
    kwargs = {}
    if data.draw(st.booleans()):
        kwargs["start_dim"] = data.draw(st.integers(-r - 1, r))
    if data.draw(st.booleans()):
        kwargs["end_dim"] = data.draw(st.integers(-r - 1, r))
    check(op, shape, (), kwargs, mask=mask_for(data, shape), shared=data.draw(st.booleans()))


def test_flatten_examples() -> None:
    assert check("Flatten", (2, 16, 5, 5)) == (2, 400)
    assert check("Flatten", (3,)) is None
    assert check("flatten", ()) == (1,)
    assert check("flatten", (2, 3, 4), (2, 1)) is None
    assert check("flatten", (2, 3, 4), (-1, 2)) == (2, 3, 4)
    env = {"N": 2, "C": 16, "H": 5, "W": 5}
    assert predict_symbolic("Flatten", [["N", "C", "H", "W"]], env) == (2, 400)
    spec = REGISTRY["Flatten"]
    out = spec.rule(RuleCtx(), [(sym("N"), 16, sym("H"), sym("W"))], bind(spec, [], {}))
    assert fmt(out[1]) == "16*H*W"


def _unflatten_sizes(data: Any, n: int) -> list[int]:
    """Sizes for a dim of size n: mostly a factorisation, sometimes with -1, sometimes wrong."""
    k = data.draw(st.integers(0, 9))
    if k == 0:
        return [data.draw(st.integers(-2, 4)) for _ in range(data.draw(st.integers(1, 3)))]
    a = data.draw(st.sampled_from([d for d in range(1, 5) if n % d == 0] or [1]))
    sizes = [a, n // a]
    if k < 4:
        sizes[data.draw(st.integers(0, 1))] = -1
    if k == 4:
        sizes.insert(data.draw(st.integers(0, 2)), 1)
    return sizes


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["Unflatten", "unflatten"]), shapes(max_size=8), st.data())
def test_unflatten(op: str, shape: tuple[int, ...], data: Any) -> None:
    r = max(len(shape), 1)
    dim = data.draw(st.integers(-r - 1, r))
    n = shape[dim] if -len(shape) <= dim < len(shape) else 6
    sizes = _unflatten_sizes(data, n)
    name = "unflattened_size" if op == "Unflatten" else "sizes"
    check(op, shape, (), {"dim": dim, name: sizes}, mask=mask_for(data, shape), shared=data.draw(st.booleans()))


def test_unflatten_examples() -> None:
    assert check("Unflatten", (3, 6), (1, [2, -1])) == (3, 2, 3)
    assert check("Unflatten", (3, 6), (1, [-1, -1])) is None
    assert check("Unflatten", (3, 0), (1, [0, -1])) is None
    assert check("Unflatten", (3, 6), (1, [4, -1])) is None
    with pytest.raises(ArgError):
        predict("Unflatten", [(3, 6)], (1, []))
    env = {"N": 2, "C": 8}
    assert predict_symbolic("Unflatten", [["N", "C"]], env, (1, [2, -1])) == (2, 2, 4)
    assert predict_symbolic("Unflatten", [["N", 12]], env, (1, [2, -1])) == (2, 2, 6)


# --------------------------------------------------------------------------- reshape / view


@st.composite
def view_case(draw: Any) -> tuple[tuple[int, ...], list[int]]:
    shape = draw(shapes(max_rank=4))
    numel = 1
    for s in shape:
        numel *= s
    k = draw(st.integers(0, 9))
    if k == 0:  # anything, often wrong
        return shape, [draw(st.integers(-3, 6)) for _ in range(draw(st.integers(1, 4)))]
    # a random factorisation of numel, maybe with one size replaced by -1
    sizes: list[int] = []
    rest = numel
    for _ in range(draw(st.integers(0, 3))):
        divs = [d for d in range(0, 7) if (d and rest % d == 0) or (d == 0 and rest == 0)]
        d = draw(st.sampled_from(divs)) if divs else 1
        sizes.append(d)
        rest = rest // d if d else 0
    sizes.insert(draw(st.integers(0, len(sizes))), rest)
    if k < 6:
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    if k == 6:
        sizes[draw(st.integers(0, len(sizes) - 1))] += 1  # off by one
    return shape, sizes


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["reshape", "view"]), view_case(), st.data())
def test_view(op: str, case: tuple[tuple[int, ...], list[int]], data: Any) -> None:
    shape, sizes = case
    if any(s < -1 for s in sizes):
        # negative sizes other than -1 are rejected by the rule like torch does
        assert run_torch(op, [shape], (sizes,)) is None
        assert predict(op, [shape], (sizes,)) is None
        return
    check(op, shape, (sizes,), mask=mask_for(data, shape), shared=data.draw(st.booleans()))


def test_view_examples() -> None:
    assert check("view", (2, 3), ([6],)) == (6,)
    assert check("view", (2, 3), (6,)) == (6,)  # a bare int, as x.view(6)
    assert check("view", (6,), ([4, -1],)) is None
    assert check("reshape", (0, 3), ([0, -1],)) is None
    assert check("reshape", (0, 3), ([5, -1],)) == (5, 0)
    assert check("reshape", (2, 3), ([-1, -1],)) is None
    assert check("reshape", (2, 3), ([-2, 3],)) is None
    assert check("view", (1,), ([],)) == ()  # x.view(()) of one element: a 0-d tensor
    assert check("reshape", (1, 1), ([],)) == ()
    assert check("reshape", (2,), ([],)) is None


def test_view_symbolic_sizes() -> None:
    """Sizes written as symbols / expressions: `{op: view, shape: [N, -1]}`."""
    env = {"N": 2, "C": 3, "H": 4, "W": 5}
    x = [["N", "C", "H", "W"]]

    def both(shape_sym: list[Any], shape_val: list[int], op: str = "view") -> Any:
        want = torch_shape(op, [[env[n] for n in x[0]]], (shape_val,))
        got = predict_symbolic(op, x, env, (shape_sym,))
        assert got == want, (shape_sym, got, want)
        return got

    assert both(["N", -1], [2, -1]) == (2, 60)
    assert both(["N", "C*H", "W"], [2, 12, 5]) == (2, 12, 5)
    assert both([-1, "H*W"], [-1, 20]) == (6, 20)
    assert both(["N", "C", -1], [2, 3, -1], "reshape") == (2, 3, 20)
    assert both(["2*N", -1], [4, -1]) == (4, 30)
    assert both(["N", 7, -1], [2, 7, -1]) is None  # 60 is not a multiple of 7
    # no requirement at all for [N, -1]; the -1 is the product of the rest
    spec = REGISTRY["view"]
    ctx = RuleCtx()
    out = spec.rule(ctx, [tuple(sym(n) for n in x[0])], bind(spec, [["N", -1]], {}))
    assert out == (sym("N"), sym("C") * sym("H") * sym("W")) and ctx.requirements == []
    # [N, 768]: N cancels, leaving C*H*W == 768
    ctx = RuleCtx()
    spec.rule(ctx, [tuple(sym(n) for n in x[0])], bind(spec, [["N", 768]], {}))
    [req] = ctx.requirements
    assert (req.cond.kind, req.cond.lhs, req.cond.rhs) == ("eq", sym("C") * sym("H") * sym("W"), 768)
    # a symbol that does not divide the element count structurally: not expressible
    assert predict_symbolic("view", [["N", 12]], {"N": 2, "K": 3}, (["K", -1],)) is None
    assert predict_symbolic("view", [["H", 4]], {"H": 4}, (["H - 3", -1],)) is None  # 4*H/(H - 3)
    for h in range(1, 8):  # a size that may be negative must be >= 0
        want = torch_shape("reshape", [[0, h]], ([h - 3, 0],))
        assert want == ((h - 3, 0) if h >= 3 else None)
        assert predict_symbolic("reshape", [[0, "H"]], {"H": h}, (["H - 3", 0],)) == want


# --------------------------------------------------------------------------- permute / transpose


@settings(max_examples=200, deadline=None)
@given(shapes(min_rank=1), st.data())
def test_permute(shape: tuple[int, ...], data: Any) -> None:
    r = len(shape)
    k = data.draw(st.integers(0, 9))
    if k == 0:
        dims = [data.draw(st.integers(-r - 1, r)) for _ in range(data.draw(st.integers(1, r + 1)))]
    else:
        dims = list(data.draw(st.permutations(range(r))))
        dims = [d - r if data.draw(st.booleans()) else d for d in dims]
    check("permute", shape, (dims,), mask=mask_for(data, shape), shared=data.draw(st.booleans()))


def test_permute_examples() -> None:
    assert check("permute", (2, 3, 4), ([2, 0, 1],)) == (4, 2, 3)
    assert check("permute", (2, 3), ([1, 1],)) is None
    assert check("permute", (2, 3), ([1],)) is None
    assert predict_symbolic("permute", [["N", "C", "L"]], {"N": 2, "C": 3, "L": 5}, ([0, 2, 1],)) == (2, 5, 3)


@settings(max_examples=150, deadline=None)
@given(shapes(), st.data())
def test_transpose(shape: tuple[int, ...], data: Any) -> None:
    r = max(len(shape), 1)
    d0, d1 = data.draw(st.integers(-r - 1, r)), data.draw(st.integers(-r - 1, r))
    check("transpose", shape, (d0, d1), mask=mask_for(data, shape), shared=data.draw(st.booleans()))


# --------------------------------------------------------------------------- squeeze / unsqueeze


@settings(max_examples=300, deadline=None)
@given(shapes(max_size=3), st.data())
def test_squeeze(shape: tuple[int, ...], data: Any) -> None:
    r = max(len(shape), 1)
    k = data.draw(st.integers(0, 2))
    kwargs: dict[str, Any] = {}
    if k == 1:
        kwargs["dim"] = data.draw(st.integers(-r - 1, r))
    elif k == 2:
        kwargs["dim"] = [data.draw(st.integers(-r - 1, r)) for _ in range(data.draw(st.integers(0, 3)))]
    check("squeeze", shape, (), kwargs, mask=mask_for(data, shape), shared=data.draw(st.booleans()))


def test_squeeze_examples() -> None:
    assert check("squeeze", (1, 3, 1)) == (3,)
    assert check("squeeze", (1, 3, 1), (), {"dim": [0, 2]}) == (3,)
    assert check("squeeze", (1, 3, 1), (), {"dim": [0, -3]}) is None
    assert check("squeeze", ()) == ()
    # x.squeeze() on (N, C, 1, 1): (N, C) for N >= 2; at N == 1 the batch dim goes too (a case
    # of its own, which check reports as a warning)
    env = {"N": 4, "C": 8}
    assert predict_symbolic("squeeze", [["N", "C", 1, 1]], env) == (4, 8)
    assert predict_symbolic("squeeze", [["N", "C", 1, 1]], {"N": 1, "C": 8}) == (8,)
    assert torch_shape("squeeze", [(1, 8, 1, 1)]) == (8,)
    assert predict_symbolic("squeeze", [["N", "C", 1, 1]], env, (), {"dim": [2, 3]}) == (4, 8)
    assert predict_symbolic("squeeze", [["N", "C", "L"]], {"N": 2, "C": 3, "L": 1}, (), {"dim": -1}) == (2, 3)


@settings(max_examples=150, deadline=None)
@given(shapes(), st.data())
def test_unsqueeze(shape: tuple[int, ...], data: Any) -> None:
    r = len(shape) + 1
    check("unsqueeze", shape, (data.draw(st.integers(-r - 1, r)),), mask=mask_for(data, shape),
          shared=data.draw(st.booleans()))


def test_contiguous() -> None:
    assert check("contiguous", (2, 3)) == (2, 3)
    assert check("contiguous", ()) == ()
