"""Reduction rules against torch: mean / sum / nanmean / nansum / amax / amin / prod /
logsumexp / std / var / max / min, with dim as None / an int / a list (incl. [] and negative
and repeated dims), keepdim, empty inputs and 0-d inputs; the symbolic path is checked at the
same sizes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.core.dims import sym
from shapeplan.ops import REGISTRY
from shapeplan.ops.ctx import RuleCtx
from shapeplan.ops.registry import bind
from tests.oracle import predict, predict_symbolic, symbolize, torch_shape

# --------------------------------------------------------------------------- helpers


def run_torch(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (),
              kwargs: dict[str, Any] | None = None) -> Any:
    """torch_shape, with 0-d inputs passed so that oracle's ``torch.zeros(*s)`` builds them."""
    return torch_shape(op, [s if len(s) else [()] for s in shapes], args, kwargs)  # type: ignore[misc]


def check(op: str, shape: Sequence[int], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
          mask: Sequence[bool] | None = None, shared: bool = False) -> Any:
    kwargs = kwargs or {}
    want = run_torch(op, [shape], args, kwargs)
    got = predict(op, [shape], args, kwargs)
    assert got == want, f"{op}{tuple(shape)} {args} {kwargs}: predicted {got}, torch {want}"
    (sym_shape,), env = symbolize([shape], [mask] if mask is not None else None, shared)
    got_sym = predict_symbolic(op, [sym_shape], env, args, kwargs)
    assert got_sym == want, f"{op}{sym_shape} at {env} {args} {kwargs}: symbolic {got_sym}, torch {want}"
    return want


@st.composite
def shapes(draw: Any, max_rank: int = 4, max_size: int = 3) -> tuple[int, ...]:
    rank = draw(st.integers(0, max_rank))
    return tuple(draw(st.integers(0 if draw(st.integers(0, 4)) == 0 else 1, max_size)) for _ in range(rank))


def draw_dim(data: Any, rank: int, allow_none: bool = True, allow_list: bool = True) -> Any:
    r = max(rank, 1)
    kinds = ["int"] + (["none"] if allow_none else []) + (["list"] if allow_list else [])
    kind = data.draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "int":
        return data.draw(st.integers(-r - 1, r))
    return [data.draw(st.integers(-r - 1, r)) for _ in range(data.draw(st.integers(0, min(r + 1, 4))))]


# --------------------------------------------------------------------------- the reductions


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["mean", "sum", "nanmean", "nansum", "amax", "amin", "logsumexp", "prod"]), shapes(),
       st.data())
def test_reduction(op: str, shape: tuple[int, ...], data: Any) -> None:
    kwargs: dict[str, Any] = {}
    dim = draw_dim(data, len(shape), allow_none=op not in ("amax", "amin", "logsumexp"), allow_list=op != "prod")
    if dim is not None or op == "logsumexp":
        kwargs["dim"] = dim if dim is not None else []
    if data.draw(st.booleans()):
        kwargs["keepdim"] = data.draw(st.booleans())
    if "dim" not in kwargs and kwargs.get("keepdim") and op in ("mean", "sum", "prod"):
        # torch.mean(x, keepdim=True) matches no overload (TypeError); the rule says invalid
        assert predict(op, [shape], (), kwargs) is None
        return
    check(op, shape, (), kwargs, mask=[data.draw(st.booleans()) for _ in shape], shared=data.draw(st.booleans()))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["std", "var"]), shapes(), st.data())
def test_moments(op: str, shape: tuple[int, ...], data: Any) -> None:
    kwargs: dict[str, Any] = {}
    dim = draw_dim(data, len(shape))
    if dim is not None:
        kwargs["dim"] = dim
    k = data.draw(st.integers(0, 2))
    if k == 1:
        kwargs["unbiased"] = data.draw(st.booleans())
    elif k == 2:
        kwargs["correction"] = data.draw(st.sampled_from([0, 1, 2, 0.5]))
    if data.draw(st.booleans()):
        kwargs["keepdim"] = data.draw(st.booleans())
    if k == 1 and dim is None and kwargs.get("keepdim"):
        # torch.std(x, unbiased=..., keepdim=True) matches no overload (TypeError)
        assert predict(op, [shape], (), kwargs) is None
        return
    check(op, shape, (), kwargs, mask=[data.draw(st.booleans()) for _ in shape], shared=data.draw(st.booleans()))


def test_moments_args() -> None:
    assert predict("std", [(2, 3)], (), {"unbiased": False, "correction": 0}) is None
    assert check("var", (2, 3), (1, False, True)) == (2, 1)  # legacy positional dim, unbiased, keepdim
    assert check("std", (2, 3), (), {"dim": [], "correction": 0, "keepdim": True}) == (1, 1)


def test_reduction_examples() -> None:
    assert check("mean", (2, 3, 4, 4), (), {"dim": [2, 3]}) == (2, 3)
    assert check("mean", (2, 3, 4, 4), (), {"dim": [-2, -1], "keepdim": True}) == (2, 3, 1, 1)
    assert check("mean", (2, 3)) == ()
    assert check("sum", (2, 3), (), {"dim": []}) == ()
    assert check("sum", (2, 3), (), {"dim": [1, -1]}) is None  # named twice
    assert check("mean", (), (), {"dim": 0, "keepdim": True}) == ()
    assert check("amax", (2, 0), (), {"dim": 1}) is None
    assert check("amax", (2, 0), (), {"dim": 0}) == (0,)
    assert check("amax", (2, 0)) is None
    assert check("logsumexp", (2, 3), (), {"dim": []}) is None  # torch's own failure
    assert check("logsumexp", (2, 0), (), {"dim": []}) == ()
    assert check("logsumexp", (2, 3), (), {"dim": [], "keepdim": True}) == (1, 1)
    assert check("prod", (2, 3), (1, True)) == (2, 1)
    env = {"N": 2, "C": 3, "H": 5, "W": 6}
    assert predict_symbolic("mean", [["N", "C", "H", "W"]], env, (), {"dim": [2, 3]}) == (2, 3)
    assert predict_symbolic("amax", [["N", "C", "H", "W"]], env, (), {"dim": -1, "keepdim": True}) == (2, 3, 5, 1)


def test_symbolic_requirements() -> None:
    """Positive symbols need nothing; logsumexp(dim=[]) of a surely non-empty input fails outright."""
    spec = REGISTRY["amax"]
    ctx = RuleCtx()
    assert spec.rule(ctx, [(sym("N"), sym("C"))], bind(spec, [], {})) == ()
    assert ctx.requirements == []
    assert predict_symbolic("logsumexp", [["N", "C"]], {"N": 2, "C": 3}, ([],)) is None
    assert predict_symbolic("logsumexp", [["N", 0]], {"N": 2}, ([],)) == ()


def test_max_min() -> None:
    assert check("max", (2, 3)) == ()
    assert check("min", (0,)) is None
    assert check("max", ()) == ()
