"""einsum, F.scaled_dot_product_attention, nn.MultiheadAttention and the matrix products
(addmm, baddbmm, addbmm, addmv, addr, mv, outer, dot) against torch at random shapes and
arguments, including the ones where torch raises; the symbolic rule is checked at the same
sizes."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.ops import REGISTRY
from shapeplan.ops.calls import call_source
from shapeplan.ops.registry import bind
from tests.oracle import predict, predict_symbolic, symbolize, torch_call_source, torch_shape

LETTERS = "abcdAB"


def run(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
        same_tensor: bool = False) -> tuple[int, ...] | None:
    """torch's output shape, or None where torch raises (any exception: nn.MultiheadAttention
    asserts); ``same_tensor`` passes one tensor as every input (self-attention)."""
    spec = REGISTRY[op]
    names = ["x0"] * len(shapes) if same_tensor else [f"x{i}" for i in range(len(shapes))]
    src = torch_call_source(op, len(shapes), args, kwargs)
    if same_tensor:
        src = src.replace("x1", "x0").replace("x2", "x0")
    env: dict[str, Any] = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional}
    for name, s in zip(names, shapes):
        env[name] = torch.zeros(tuple(s))
    assert spec is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                out = eval(src, env)  # noqa: S307 - source built by shapeplan from validated values
        except TypeError as e:
            if "argument" in str(e) and "must be" not in str(e):
                raise
            return None
        except Exception:  # noqa: BLE001 - torch raises many kinds (AssertionError in nn.MultiheadAttention)
            return None
    return tuple(out.shape)


def check(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
          mask: Sequence[Sequence[bool]] | None = None, shared: bool = False) -> Any:
    kwargs = kwargs or {}
    want = run(op, shapes, args, kwargs)
    got = predict(op, shapes, args, kwargs)
    src = torch_call_source(op, len(shapes), args, kwargs)
    assert got == want, f"{src} at {[tuple(s) for s in shapes]}: predicted {got}, torch {want}"
    sym_shapes, env = symbolize(shapes, mask, shared)
    got_sym = predict_symbolic(op, sym_shapes, env, args, kwargs)
    assert got_sym == want, f"{src} at {sym_shapes} {env}: symbolic {got_sym}, torch {want}"
    return want


@st.composite
def masks(draw: Any, shapes: Sequence[Sequence[int]]) -> list[list[bool]]:
    return [[draw(st.booleans()) for _ in s] for s in shapes]


def _size(draw: Any, v: int) -> int:
    """Mostly v; sometimes 1 (broadcasts) or another size (mismatch)."""
    k = draw(st.integers(0, 9))
    return v if k < 7 else 1 if k < 9 else draw(st.integers(0, 4))


# --------------------------------------------------------------------------- einsum


@st.composite
def einsum_case(draw: Any) -> tuple[str, list[list[int]]]:
    n = draw(st.integers(1, 3))
    sizes = {c: draw(st.integers(0, 4)) for c in LETTERS}
    ell = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))]
    terms, shapes = [], []
    for _ in range(n):
        letters = draw(st.lists(st.sampled_from(LETTERS), max_size=3))
        with_ell = draw(st.integers(0, 3)) == 0
        cut = draw(st.integers(0, len(letters)))
        term = "".join(letters[:cut]) + ("..." if with_ell else "") + "".join(letters[cut:])
        shape = [_size(draw, sizes[c]) for c in letters[:cut]]
        if with_ell:
            k = draw(st.integers(0, len(ell)))
            shape += [1 if draw(st.integers(0, 4)) == 0 else e for e in ell[len(ell) - k:]]
        shape += [_size(draw, sizes[c]) for c in letters[cut:]]
        if draw(st.integers(0, 15)) == 0:
            shape = shape[1:] if shape else [2]  # a rank mismatch
        terms.append(term)
        shapes.append(shape)
    eq = ",".join(terms)
    if draw(st.booleans()):
        seen = sorted({c for t in terms for c in t if c.isalpha()})
        out = draw(st.lists(st.sampled_from(seen), max_size=3, unique=True)) if seen else []
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(st.sampled_from(LETTERS)))  # maybe unknown or repeated
        text = "".join(out)
        if any("..." in t for t in terms) or draw(st.integers(0, 5)) == 0:
            cut = draw(st.integers(0, len(text)))
            text = text[:cut] + "..." + text[cut:]
        eq += "->" + text
    if draw(st.integers(0, 19)) == 0:
        eq = draw(st.sampled_from([eq + ",", eq.replace("a", "1"), eq + "..", " " + eq.replace(",", " , ")]))
    n_shapes = n + draw(st.sampled_from([0] * 15 + [-1, 1]))
    return eq, shapes[:max(n_shapes, 1)] + [[2]] * max(n_shapes - n, 0)


@settings(max_examples=500, deadline=None)
@given(einsum_case(), st.data())
def test_einsum(case: tuple[str, list[list[int]]], data: Any) -> None:
    eq, shapes = case
    check("einsum", shapes, (eq,), mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))


def test_einsum_examples() -> None:
    assert check("einsum", [(2, 3), (3, 4)], ("ij,jk->ik",)) == (2, 4)
    assert check("einsum", [(2, 3), (3, 2)], ("bA,aB",)) == (3, 2, 3, 2)  # upper case first
    assert check("einsum", [(5, 2, 3), (1, 3, 4)], ("...ij,...jk",)) == (5, 2, 4)
    assert check("einsum", [(3, 4)], ("ii->i",)) is None
    env = {"B": 2, "H": 4, "L": 5, "S": 7, "D": 8}
    assert predict_symbolic("einsum", [["B", "H", "L", "D"], ["B", "H", "S", "D"]], env, ("bhqd,bhkd->bhqk",)) \
        == (2, 4, 5, 7)


# --------------------------------------------------------------------------- scaled_dot_product_attention


@st.composite
def sdpa_case(draw: Any) -> tuple[list[list[int]], dict[str, Any]]:
    batch = [draw(st.integers(0, 3)) for _ in range(draw(st.integers(0, 2)))]
    heads = draw(st.integers(1, 4))
    L, S, E, Ev = (draw(st.integers(0, 4)) for _ in range(4))
    kw: dict[str, Any] = {}
    gqa = draw(st.integers(0, 4)) == 0
    if gqa:
        kw["enable_gqa"] = True

    def lead(h: int) -> list[int]:
        dims = [*batch, h]
        dims = dims[len(dims) - draw(st.integers(0, len(dims))):]
        return [1 if draw(st.integers(0, 5)) == 0 else d for d in dims]

    kh = draw(st.sampled_from([1, heads, 2])) if gqa else heads
    q = [*lead(heads), L, _size(draw, E)]
    k = [*lead(kh), _size(draw, S), E]
    v = [*lead(kh), _size(draw, S), E if draw(st.booleans()) else Ev]  # one head dim: torch's flash kernel
    shapes = [q, k, v]
    if draw(st.integers(0, 2)) == 0:
        full = [draw(st.integers(1, 2)), *batch, heads, L, S]
        m = full[len(full) - draw(st.integers(1, len(full))):]
        shapes.append([1 if draw(st.integers(0, 3)) == 0 else d for d in m])
    if draw(st.integers(0, 3)) == 0:
        kw["is_causal"] = True
    if draw(st.booleans()):
        kw["scale"] = 0.5
    return shapes, kw


@settings(max_examples=1500, deadline=None)
@given(sdpa_case(), st.data())
def test_sdpa(case: tuple[list[list[int]], dict[str, Any]], data: Any) -> None:
    shapes, kw = case
    scores = max(len(shapes[0]), len(shapes[1]))  # the rank of q @ k^T
    if len(shapes) == 4 and not 2 <= len(shapes[3]) <= scores:  # documented: not modelled (invalid, or an early exit)
        got = predict("scaled_dot_product_attention", shapes, (), kw)
        assert got is None or got == run("scaled_dot_product_attention", shapes, (), kw)
        return
    check("scaled_dot_product_attention", shapes, (), kw, mask=data.draw(masks(shapes)),
          shared=data.draw(st.booleans()))


def test_sdpa_examples() -> None:
    op = "scaled_dot_product_attention"
    assert check(op, [(2, 4, 5, 8), (2, 4, 7, 8), (2, 4, 7, 6)]) == (2, 4, 5, 6)
    assert check(op, [(2, 4, 5, 8), (2, 4, 7, 8), (2, 4, 7, 6), (5, 7)], (), {"is_causal": True}) is None
    assert check(op, [(2, 4, 5, 8), (2, 2, 7, 8), (2, 2, 7, 6)], (), {"enable_gqa": True}) == (2, 4, 5, 6)
    assert check(op, [(2, 4, 5, 8), (2, 4, 7, 8), (2, 4, 7, 6), (1, 2, 4, 5, 7)]) is None  # the mask may not grow
    # key and value of different lengths: torch's flash kernel (3-D or 4-D, one head dim, no dropout) runs them
    assert check(op, [(2, 4, 5, 8), (2, 4, 7, 8), (2, 4, 3, 8)]) == (2, 4, 5, 8)
    assert check(op, [(4, 5, 8), (1, 7, 8), (1, 9, 8), (4, 5, 1)]) == (4, 5, 8)
    assert check(op, [(4, 5, 8), (1, 7, 8), (1, 9, 8), (4, 5, 7)]) is None  # flash expands the mask to 9
    assert check(op, [(2, 4, 5, 8), (2, 4, 7, 8), (2, 4, 3, 6)]) is None  # head dims differ: math, which refuses
    assert check(op, [(5, 8), (7, 8), (3, 8)]) is None  # 2-D: math
    assert check(op, [(2, 4, 5, 8), (2, 4, 7, 8), (2, 4, 3, 8)], (), {"dropout_p": 0.5}) is None
    assert check(op, [(2, 4, 5, 8), (2, 2, 7, 8), (2, 2, 3, 8)], (), {"enable_gqa": True}) == (2, 4, 5, 8)
    assert check(op, [(2, 4, 5, 8), (2, 2, 7, 8), (2, 2, 3, 8)]) is None  # 2 heads for 4 without gqa: math
    assert torch_call_source(op, 4, (), {"is_causal": False, "scale": 0.125}) == \
        "F.scaled_dot_product_attention(x0, x1, x2, attn_mask=x3, scale=0.125)"


# --------------------------------------------------------------------------- nn.MultiheadAttention


@st.composite
def mha_case(draw: Any) -> tuple[list[list[int]], tuple[int, int], dict[str, Any]]:
    e = draw(st.sampled_from([4, 6, 8]))
    h = draw(st.sampled_from([1, 2]) if draw(st.integers(0, 4)) else st.sampled_from([3, 4]))
    kw: dict[str, Any] = {}
    for name in ("add_bias_kv", "add_zero_attn", "batch_first", "bias"):
        if draw(st.booleans()):
            kw[name] = draw(st.booleans())
    kd = vd = e
    if draw(st.booleans()):
        kd, vd = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        kw.update(kdim=kd, vdim=vd)
    L, S, N = draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(0, 3))
    batched = draw(st.integers(0, 3)) > 0
    first = kw.get("batch_first", False)

    def shape(seq: int, last: int) -> list[int]:
        if not batched:
            return [seq, last]
        n = _size(draw, N) if seq != L else N
        return [n, seq, last] if first else [seq, n, last]

    q, k, v = shape(L, _size(draw, e)), shape(S, _size(draw, kd)), shape(S, _size(draw, vd))
    if draw(st.integers(0, 9)) == 0:
        v = v[1:]  # a rank mismatch
    return [q, k, v], (e, h), kw


@settings(max_examples=400, deadline=None)
@given(mha_case(), st.data())
def test_multihead_attention(case: tuple[list[list[int]], tuple[int, int], dict[str, Any]], data: Any) -> None:
    shapes, args, kw = case
    if args[0] % args[1]:  # the constructor refuses (AssertionError), as the rule does
        assert run("MultiheadAttention", shapes, args, kw) is None
        assert predict("MultiheadAttention", shapes, args, kw) is None
        return
    check("MultiheadAttention", shapes, args, kw, mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([2, 4]), st.lists(st.integers(0, 3), min_size=2, max_size=3), st.booleans(),
       st.sampled_from([8, 6]))
def test_self_attention_fast_path(h: int, dims: list[int], batch_first: bool, e: int) -> None:
    """x through self.attn(x, x, x) in eval mode without grad: torch's native fast path."""
    shape = [*dims, e]
    args, kw = (8, h), {"batch_first": batch_first}
    want = run("MultiheadAttention", [shape] * 3, args, kw, same_tensor=True)
    assert predict("MultiheadAttention", [shape] * 3, args, kw) == want


def test_multihead_attention_spec() -> None:
    spec = REGISTRY["MultiheadAttention"]
    assert spec.output_index == 0 and spec.kind == "module"
    for kw in ({}, {"bias": False}, {"add_bias_kv": True}, {"kdim": 3, "vdim": 5}, {"kdim": 3, "bias": False}):
        a = bind(spec, (8, 2), kw)
        m = eval(call_source(spec, [], a), {"nn": torch.nn})  # noqa: S307
        assert spec.param_count is not None and spec.param_count(a) == sum(p.numel() for p in m.parameters()), kw
    assert torch_call_source("MultiheadAttention", 3, (8, 2)) == \
        "nn.MultiheadAttention(embed_dim=8, num_heads=2).eval()(x0, x1, x2)[0]"


# --------------------------------------------------------------------------- matrix products


@st.composite
def product_case(draw: Any) -> tuple[str, list[list[int]]]:
    op = draw(st.sampled_from(["addmm", "baddbmm", "addbmm", "addmv", "addr", "mv", "outer", "ger", "dot", "vdot"]))
    b, n, m, p = (draw(st.integers(0, 3)) for _ in range(4))
    factors = {"addmm": [[n, m], [m, p]], "baddbmm": [[b, n, m], [b, m, p]], "addbmm": [[b, n, m], [b, m, p]],
               "addmv": [[n, m], [m]], "addr": [[n], [p]], "mv": [[n, m], [m]], "outer": [[n], [p]],
               "ger": [[n], [p]], "dot": [[m], [m]], "vdot": [[m], [m]]}[op]
    factors = [[_size(draw, d) for d in f] for f in factors]
    if draw(st.integers(0, 9)) == 0:
        factors[0] = factors[0][1:] or [1, 1]
    result = {"addmm": [n, p], "baddbmm": [b, n, p], "addbmm": [n, p], "addmv": [n], "addr": [n, p]}.get(op)
    if result is None:
        return op, factors
    x = result[len(result) - draw(st.integers(0, len(result))):]
    x = [1 if draw(st.integers(0, 3)) == 0 else _size(draw, d) for d in x]
    if draw(st.integers(0, 9)) == 0:
        x = [2, *x]
    return op, [x, *factors]


@settings(max_examples=400, deadline=None)
@given(product_case(), st.data())
def test_products(case: tuple[str, list[list[int]]], data: Any) -> None:
    op, shapes = case
    kw = {"beta": 0.5, "alpha": 2} if op.startswith("add") and data.draw(st.booleans()) else {}
    check(op, shapes, (), kw, mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))


def test_products_examples() -> None:
    assert check("addmm", [(4,), (2, 3), (3, 4)]) == (2, 4)
    assert check("addmm", [(1, 4), (0, 3), (3, 4)]) == (0, 4)  # a 1 expands to 0
    assert check("baddbmm", [(3, 2, 4), (5, 2, 3), (5, 3, 4)]) is None
    assert torch_shape("dot", [(3,), (3,)]) == predict("dot", [(3,), (3,)]) == ()
