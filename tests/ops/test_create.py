"""Creation ops against torch: zeros / ones / empty / rand / randn / full / randperm / eye /
arange / linspace / logspace (sizes as arguments), the ``*_like`` ops and the ``new_*``
methods, at random sizes including negative ones (where torch raises).  Every size argument
is also given as a size expression (``S3``, ``S3 - 2``) and the symbolic rule, evaluated at
the same sizes, must agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.core.dims import floordiv, sym
from shapeplan.ops import REGISTRY
from shapeplan.ops.calls import call_source
from shapeplan.ops.ctx import ArgError, RuleCtx, RuleError
from shapeplan.ops.registry import bind
from tests.oracle import evaluate_rule, predict, torch_call_source, torch_shape

FACTORY_KW = [{}, {"dtype": "float64"}, {"dtype": "torch.int64", "requires_grad": False}, {"device": "cpu"},
              {"layout": "strided", "pin_memory": False}, {"requires_grad": True}]


def symbolic(v: Any, draw: Any, env: dict[str, int], counter: list[int]) -> Any:
    """``v`` with some ints (at any depth) replaced by size expressions equal to them at ``env``."""
    if isinstance(v, (list, tuple)):
        return [symbolic(x, draw, env, counter) for x in v]
    if isinstance(v, bool) or not isinstance(v, int):
        return v
    kind = draw(st.integers(0, 2))
    counter[0] += 1
    name = f"S{counter[0]}"
    if kind == 1 and v >= 1:
        env[name] = v
        return name
    if kind == 2:
        c = draw(st.integers(1, 3))
        if v + c >= 1:
            env[name] = v + c
            return f"{name} - {c}"
    return v


def symbolic_predict(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any], kwargs: dict[str, Any],
                     env: dict[str, int]) -> Any:
    spec = REGISTRY[op]
    try:
        a = bind(spec, args, kwargs)
        ctx = RuleCtx()
        out = spec.rule(ctx, [tuple(s) for s in shapes], a)
    except (RuleError, ArgError):
        return None
    return evaluate_rule((tuple(out), ctx.requirements), env)


def check(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any], kwargs: dict[str, Any], data: Any,
          sized: Sequence[int] = (0,)) -> Any:
    """predict == torch; the arguments at positions ``sized`` (and the size keywords) are also
    given as size expressions, and the symbolic rule must agree at their values."""
    want = torch_shape(op, [s if len(s) else [()] for s in shapes], args, kwargs)  # type: ignore[misc]
    got = predict(op, shapes, args, kwargs)
    assert got == want, f"{torch_call_source(op, len(shapes), args, kwargs)}: predicted {got}, torch {want}"
    env: dict[str, int] = {}
    counter = [0]
    sargs = [symbolic(v, data.draw, env, counter) if i in sized else v for i, v in enumerate(args)]
    skw = {k: symbolic(v, data.draw, env, counter) if k in ("size", "n", "m", "steps") else v for k, v in kwargs.items()}
    got_sym = symbolic_predict(op, shapes, sargs, skw, env)
    assert got_sym == want, f"{op} {sargs} {skw} at {env}: symbolic {got_sym}, torch {want}"
    return want


SIZES = st.lists(st.integers(-2, 4), max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["zeros", "ones", "rand", "randn", "empty"]), SIZES, st.sampled_from(FACTORY_KW), st.data())
def test_from_sizes(op: str, size: list[int], kw: dict[str, Any], data: Any) -> None:
    if op == "empty" and data.draw(st.booleans()):
        kw = {**kw, "memory_format": data.draw(st.sampled_from(
            ["contiguous_format", "channels_last", "channels_last_3d", "preserve_format"]))}
    if op in ("rand", "randn") and "int64" in str(kw.get("dtype")):
        kw = {}  # rand of an integer dtype is a dtype error, not a shape one
    by_key = data.draw(st.booleans())
    check(op, [], () if by_key else (size,), {**kw, "size": size} if by_key else kw, data)


@settings(max_examples=100, deadline=None)
@given(SIZES, st.sampled_from([0, 1.5, True, -2]), st.sampled_from(FACTORY_KW[:4]), st.data())
def test_full(size: list[int], fill: Any, kw: dict[str, Any], data: Any) -> None:
    check("full", [], (size, fill), kw, data)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["randperm", "eye"]), st.integers(-2, 4), st.one_of(st.none(), st.integers(-2, 4)), st.data())
def test_randperm_eye(op: str, n: int, m: int | None, data: Any) -> None:
    kwargs: dict[str, Any] = {"m": m} if op == "eye" and m is not None else {}
    check(op, [], (n,), kwargs, data)


NUMBER = st.one_of(st.integers(-6, 6), st.sampled_from([0.5, -1.5, 2.25, 3.7, 0.3, -0.25]))


@settings(max_examples=300, deadline=None)
@given(NUMBER, st.one_of(st.none(), NUMBER), st.one_of(st.none(), NUMBER),
       st.sampled_from([{}, {"dtype": "int64"}, {"dtype": "float64"}]), st.data())
def test_arange(start: Any, end: Any, step: Any, kw: dict[str, Any], data: Any) -> None:
    if end is None:
        args: tuple[Any, ...] = (start,)
    elif step is None:
        args = (start, end)
    else:
        args = (start, end, step)
    if kw.get("dtype") == "int64" and isinstance(step, float) and abs(step) < 1:
        kw = {}  # an int64 range with a fractional step: torch's step truncates to 0 (a value question)
    # a float with a symbolic bound has no closed form here (the rule says so): numbers only then
    floats = any(isinstance(v, float) for v in args)
    check("arange", [], args, kw, data, sized=() if floats else (0, 1))


def test_arange_examples() -> None:
    assert predict("arange", [], (5,)) == torch_shape("arange", [], (5,)) == (5,)
    assert predict("arange", [], (), {"end": 5}) == (5,)
    assert predict("arange", [], (0, 1, 0.3)) == torch_shape("arange", [], (0, 1, 0.3)) == (4,)
    assert predict("arange", [], (5, 3)) is None and torch_shape("arange", [], (5, 3)) is None
    assert predict("arange", [], (5,), {"step": 2}) is None  # torch.arange(5, step=2): no such overload
    spec = REGISTRY["arange"]
    ctx = RuleCtx()
    assert spec.rule(ctx, [], bind(spec, (0, "H", 2), {})) == (floordiv(sym("H") + 1, 2),)
    assert not ctx.requirements
    ctx = RuleCtx()
    out = spec.rule(ctx, [], bind(spec, ("H", 4), {}))
    assert evaluate_rule((out, ctx.requirements), {"H": 5}) is None
    assert evaluate_rule((out, ctx.requirements), {"H": 3}) == (1,)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["linspace", "logspace"]), NUMBER, NUMBER, st.integers(-2, 5), st.data())
def test_linspace(op: str, start: Any, end: Any, steps: int, data: Any) -> None:
    check(op, [], (start, end, steps), {}, data, sized=(0, 1, 2))


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like", "full_like"]),
       st.lists(st.integers(0, 3), max_size=5),
       st.sampled_from([None, "contiguous_format", "preserve_format", "channels_last", "channels_last_3d"]),
       st.data())
def test_like(op: str, shape: list[int], memory_format: str | None, data: Any) -> None:
    kw: dict[str, Any] = {"memory_format": memory_format} if memory_format else {}
    args = (2.5,) if op == "full_like" else ()
    check(op, [shape], args, kw, data, sized=())


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(["new_zeros", "new_ones", "new_empty", "new_full"]), SIZES, st.sampled_from(FACTORY_KW),
       st.data())
def test_new(op: str, size: list[int], kw: dict[str, Any], data: Any) -> None:
    args: tuple[Any, ...] = (size, 7) if op == "new_full" else (size,)
    check(op, [(2, 3)], args, kw, data)


def test_emitted_calls() -> None:
    def src(op: str, n: int, *args: Any, **kw: Any) -> str:
        return call_source(REGISTRY[op], [f"x{i}" for i in range(n)], bind(REGISTRY[op], args, kw))

    assert src("zeros", 0, [2, "H"], dtype="float16") == "torch.zeros(2, H, dtype=torch.float16)"
    assert src("ones", 0, []) == "torch.ones(())"
    assert src("zeros", 0, 3, device="cuda:0", pin_memory=True, layout="torch.strided") == "torch.zeros(3)"
    assert src("arange", 0, "H") == "torch.arange(H)"
    assert src("arange", 0, end=5) == "torch.arange(0, 5)"
    assert src("arange", 0, 1, 9, 2, dtype="long") == "torch.arange(1, 9, 2, dtype=torch.long)"
    assert src("new_zeros", 1, ["N", 4]) == "x0.new_zeros(N, 4)"
    assert src("new_full", 1, [2], 0.5) == "x0.new_full(size=(2,), fill_value=0.5)"
    assert src("full_like", 1, float("-inf")) == "torch.full_like(x0, fill_value=float('-inf'))"
    with pytest.raises(ArgError):
        bind(REGISTRY["zeros"], ([2],), {"dtype": "float33"})
    with pytest.raises(ArgError):
        bind(REGISTRY["zeros"], ([2],), {"device": 1.5})


def test_dtype_objects_from_a_trace() -> None:
    import torch

    a = bind(REGISTRY["zeros"], ([2],), {"dtype": torch.bfloat16, "device": torch.device("cpu"),
                                         "layout": torch.strided})
    assert a["dtype"] == "torch.bfloat16" and a["device"] is None and a["layout"] is None
    a = bind(REGISTRY["empty_like"], (), {"memory_format": torch.channels_last})
    assert call_source(REGISTRY["empty_like"], ["x"], a) == "torch.empty_like(x, memory_format=torch.channels_last)"


def test_specs() -> None:
    for name in ("zeros", "arange", "eye", "linspace", "full", "randperm"):
        assert REGISTRY[name].n_inputs == (0, 0), name
    for name in ("zeros_like", "new_zeros"):
        assert REGISTRY[name].n_inputs == (1, 1), name
    assert REGISTRY["new_full"].n_inputs == (1, 2)  # fill_value may be a one-element tensor


def test_meshgrid_against_torch() -> None:
    import itertools
    import warnings

    import torch

    shapes = [(), (0,), (1,), (3,), (2, 2)]
    for n in (1, 2, 3):
        for combo in itertools.product(shapes, repeat=n):
            for indexing in (None, "ij", "xy"):
                kw = {} if indexing is None else {"indexing": indexing}
                try:
                    with warnings.catch_warnings():  # torch warns when indexing is not given (its default is ij)
                        warnings.simplefilter("ignore", UserWarning)
                        want: list[tuple[int, ...]] | None = [tuple(t.shape) for t in torch.meshgrid(
                            *[torch.zeros(s) for s in combo], **kw)]
                except RuntimeError:
                    want = None
                got = [predict("meshgrid", [list(s) for s in combo], (), {**kw, "item": i}) for i in range(n)]
                assert (None if None in got else got) == want, (combo, indexing)


def test_new_full_of_a_one_element_tensor() -> None:
    import torch

    x = torch.zeros(3)
    for fill in [(), (1,), (1, 1), (2,)]:
        try:
            want: tuple[int, ...] | None = tuple(x.new_full((2, 4), torch.ones(fill)).shape)
        except (RuntimeError, TypeError):
            want = None
        assert predict("new_full", [[3], list(fill)], ([2, 4],)) == want, fill
