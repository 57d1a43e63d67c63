"""Receptive-field rules of the newer ops (see :mod:`.axis` for the conventions): reordering
and indexing (roll, flip, gather, sort, movedim, ...), sliding blocks (unfold, fold),
attention (scaled_dot_product_attention, MultiheadAttention, einsum), matrix products (addmm,
baddbmm, ...), functional convs, elementwise and creation ops.

- Ops that move elements along a dim holding an input axis (roll, flip, gather, cumsum,
  fold, ...): the window has no closed form there (unknown); along other dims the axes stay.
- sort / topk / argsort mix the dim (every output depends on every input along it), as amax.
- repeat_interleave along an axis is a nearest upsampling; unfold (im2col, Tensor.unfold)
  credits each element with its block's window.
- Attention: each output row reads its query row and every key and value (S mixed).
- Creation ops read no input value ({}); elementwise ops merge their inputs' windows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import sympy

from ...core.dims import Shape, floordiv
from ...ops.compare import ELEMENTWISE
from ...ops.create import CREATION, LIKE
from .axis import Axis, Rule, State, Unknown, broadcast, last_dims, merge, mix, num, per_dim, shift, slide
from .rules_layout import _const, _first_only, _identity, _transpose, reshape
from .rules_mix import _drop_dims, _functional_norm, _matmul, _reduce
from .rules_window import _conv, _conv_transpose

# --------------------------------------------------------------------------- reordering and indexing


def _wrap(dims: Any, rank: int) -> list[int] | None:
    if dims is None:
        return None
    return [d % max(rank, 1) for d in ((dims,) if isinstance(dims, int) else dims)]


def _meshgrid(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """torch.meshgrid of index vectors (torch.arange, as anchor grids are made) sees no input; of
    a vector that carries an input axis, its elements are spread over a new dim (unknown)."""
    if any(states):
        raise Unknown("meshgrid spreads an input axis over a new dim")
    return {}


def _scramble(dims_of: Callable[[Mapping[str, Any], Shape], list[int] | None]) -> Rule:
    """Ops that move or select elements along some dims (None: the flattened tensor) and keep
    the others in place: an axis along a moved dim has no window of a closed form (unknown)."""

    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        dims = dims_of(a, xs[0])
        if (dims is None or dims) and any(ax.pos is None or dims is None or ax.pos in dims
                                          for ax in states[0].values()):
            raise Unknown("elements move along a dim that holds an input axis")
        return shift(states[0], len(out) - len(xs[0]))

    return rule


def _sorting(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """sort / argsort / topk: every output along dim depends on every input along it."""
    x = xs[0]
    return mix(states[0], x, [a["dim"] % len(x)], keep=True) if x else states[0]


def _moved(state: dict[str, Axis], where: Mapping[int, int], touched: Sequence[int]) -> dict[str, Axis]:
    """Axes move from dim p to where[p]; an axis in a ``touched`` dim (or in none) is unknown."""
    if any(ax.pos is None or ax.pos in touched for ax in state.values()) and touched:
        raise Unknown("an input axis runs along a dim the op rearranges")
    return {k: replace(ax, pos=where[ax.pos]) if ax.pos is not None else ax for k, ax in state.items()}


def _diagonal(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    r = len(xs[0])
    d1, d2 = a["dim1"] % r, a["dim2"] % r
    kept = [i for i in range(r) if i not in (d1, d2)]
    return _moved(states[0], {p: i for i, p in enumerate(kept)}, (d1, d2))


def _diag_embed(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    r = len(xs[0]) + 1
    new = sorted((a["dim1"] % r, a["dim2"] % r))
    slots = [i for i in range(r) if i not in new]
    return _moved(states[0], {p: slots[p] for p in range(r - 2)}, (r - 2,))


def _repeat(key: str) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        x, sizes = xs[0], list(a[key])
        sizes = [1] * (len(x) - len(sizes)) + sizes
        lead = len(sizes) - len(x)
        return _moved(states[0], {p: p + lead for p in range(len(x))},
                      [p for p in range(len(x)) if sizes[p + lead] != 1])

    return rule


def _repeat_interleave(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """Each element `repeats` times along dim (the flattened tensor without dim): a nearest
    upsampling of that dim."""
    x, r = xs[0], a["repeats"]
    if a["dim"] is None and len(x) != 1:
        return _scramble(lambda a, x: None)(states, xs, out, a)
    return per_dim(states[0], x, [(a["dim"] or 0) % len(x)],
                    lambda ax, i, size: replace(ax, jump=num(ax.jump * sympy.Rational(1, r))))


def _swap(k0: str, k1: str) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        return _transpose(states, xs, out, {"dim0": a[k0], "dim1": a[k1]})

    return rule


def _im2col(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """F.unfold: each block slides as a conv's window, then the block grid is folded into L.
    An element is credited with its block's window (exact once the block's values are
    combined, as by the matmul that follows an unfold in practice)."""
    x = xs[0]
    k, d, p, s = a["kernel_size"], a["dilation"], a["padding"], a["stride"]
    slid = per_dim(states[0], x, last_dims(x, 2), lambda ax, i, size: slide(ax, d[i] * (k[i] - 1) + 1, s[i], p[i]))
    grid = (*out[:-1], *(floordiv(n + 2 * p[i] - d[i] * (k[i] - 1) - 1, s[i]) + 1 for i, n in enumerate(x[-2:])))
    return reshape(slid, grid, out)  # (N, C*kh*kw, bh, bw) -> (N, C*kh*kw, L)


def _tensor_unfold(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """x.unfold(dim, size, step): windows of `size` every `step` (the window is the block's, as im2col)."""
    x = xs[0]
    if not x:
        return states[0]
    return per_dim(states[0], x, [a["dimension"] % len(x)], lambda ax, i, n: slide(ax, a["size"], a["step"], 0))


# --------------------------------------------------------------------------- attention and products


def _place(state: dict[str, Axis], x: Shape, mixed: Sequence[int], where: Mapping[int, int]) -> dict[str, Axis]:
    """Mix (fold) ``mixed`` dims of ``x``, then move axes to output dims: p -> where[p]
    (None where the dim has no output dim: the axis then runs along no single dim)."""
    out = {}
    for key, ax in mix(state, x, mixed, keep=False).items():
        out[key] = replace(ax, pos=None if ax.pos is None else where.get(ax.pos))
    return out


def _right(x: Shape, out: Shape, skip: Sequence[int] = ()) -> dict[int, int]:
    """Right-aligned batch dims of x in out (the dims in ``skip`` have no output dim)."""
    return {p: p + len(out) - len(x) for p in range(len(x)) if p not in skip}


def _sdpa(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """Each output row reads its query row and every key and value: q's E, k's S and E and
    v's S are mixed."""
    q, k, v = xs[:3]
    rq, rk, rv = len(q), len(k), len(v)
    parts = [_place(states[0], q, [rq - 1], _right(q, out, [rq - 1])),
             _place(states[1], k, [rk - 2, rk - 1], _right(k, out, [rk - 2, rk - 1])),
             _place(states[2], v, [rv - 2], _right(v, out, [rv - 2]))]
    if len(xs) == 4:
        m = xs[3]
        parts.append(_place(states[3], m, [len(m) - 1], _right(m, out, [len(m) - 1])))
    return merge(parts)


def _mha(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """nn.MultiheadAttention: each output (l, n) reads query (l, n) and every key and value of batch n."""
    q = xs[0]
    if len(q) == 2:
        seq, feat = 0, 1
    else:
        seq, feat = (1, 2) if a["batch_first"] else (0, 2)
    kv = {p: p for p in range(len(q)) if p not in (seq, feat)}
    return merge([mix(states[0], q, [feat], keep=True)]
                 + [_place(s, x, [seq, feat], kv) for s, x in zip(states[1:], xs[1:])])


def _einsum(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """Letters kept in the output keep their axes (at the letter's output dim); contracted
    letters are mixed; a diagonal (a letter twice in one term) or '...' is not modelled."""
    lhs, arrow, rhs = a["equation"].replace(" ", "").partition("->")
    terms = lhs.split(",")
    if "..." in a["equation"] or any(len(set(t)) != len(t) for t in terms):
        raise Unknown("einsum with '...' or a diagonal")
    if not arrow:
        counts = {c: sum(t.count(c) for t in terms) for c in set("".join(terms))}
        rhs = "".join(sorted((c for c, n in counts.items() if n == 1), key=lambda c: (c.islower(), c)))
    parts = []
    for s, x, t in zip(states, xs, terms):
        gone = [i for i, c in enumerate(t) if c not in rhs]
        parts.append(_place(s, x, gone, {i: rhs.index(c) for i, c in enumerate(t) if c in rhs}))
    return merge(parts)


def _added(product: Rule) -> Rule:
    """input + product (addmm, baddbmm, addmv): the product's windows merged with input's."""

    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        prod_state = product(states[1:], xs[1:], out, a)
        return broadcast([prod_state or {}, states[0]], [out, xs[0]], out)

    return rule


def _outer(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    return merge([states[0], shift(states[1], 1)])


def _addbmm(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    b1, b2 = xs[1], xs[2]
    prod_state = _matmul(states[1:], [b1, b2], (b1[0], b1[1], b2[2]), a)
    summed = _drop_dims(prod_state or {}, (b1[0], b1[1], b2[2]), [0])
    return broadcast([summed, states[0]], [out, xs[0]], out)


def _with_weight_kernel(inner: Rule) -> Rule:
    """F.conv*d / F.conv_transpose*d: the module's rule, the kernel from the weight's shape."""

    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        return inner(states[:1], xs[:1], out, {**a, "kernel_size": tuple(xs[1][2:])})

    return rule


def _first_as_is(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """F.embedding / F.one_hot: the input's axes stay where they are (a new last dim)."""
    return states[0]


_INDEX_RULES: dict[str, Rule] = {
    "roll": _scramble(lambda a, x: _wrap(a["dims"] or None, len(x))),
    "flip": _scramble(lambda a, x: _wrap(a["dims"], len(x))),
    "gather": _scramble(lambda a, x: _wrap(a["dim"], len(x))),
    "index_select": _scramble(lambda a, x: _wrap(a["dim"], len(x))),
    "take_along_dim": _scramble(lambda a, x: _wrap(a["dim"], len(x))),
    "cumsum": _scramble(lambda a, x: _wrap(a["dim"], len(x))),
    "cumprod": _scramble(lambda a, x: _wrap(a["dim"], len(x))),
    "logcumsumexp": _scramble(lambda a, x: _wrap(a["dim"], len(x))),
    "sort": _sorting, "argsort": _sorting, "topk": _sorting,
    "argmax": _reduce, "argmin": _reduce,
    "tril": _identity, "triu": _identity,
    "diagonal": _diagonal, "diag_embed": _diag_embed,
    "repeat": _repeat("repeats"), "tile": _repeat("dims"), "repeat_interleave": _repeat_interleave,
    "swapaxes": _swap("axis0", "axis1"),
    "swapdims": _swap("dim0", "dim1"),
    "im2col": _im2col, "Unfold": _im2col, "unfold": _tensor_unfold,
    "fold": _scramble(lambda a, x: None), "Fold": _scramble(lambda a, x: None),
    "scaled_dot_product_attention": _sdpa, "MultiheadAttention": _mha, "einsum": _einsum,
    "addmm": _added(_matmul), "baddbmm": _added(_matmul), "addmv": _added(_matmul), "addbmm": _addbmm,
    "mv": _matmul, "dot": _matmul, "vdot": _matmul, "outer": _outer, "ger": _outer,
    "addr": _added(_outer),
    "rms_norm": _functional_norm("layer_norm"), "prelu": _first_only, "embedding": _first_as_is,
    "one_hot": _first_as_is, "norm": _reduce, "vector_norm": _reduce, "matrix_norm": _reduce,
    "linalg_norm": _reduce, "var_mean": _reduce, "std_mean": _reduce,
    **{f"conv{_k}d": _with_weight_kernel(_conv(_k)) for _k in (1, 2, 3)},
    **{f"conv_transpose{_k}d": _with_weight_kernel(_conv_transpose(_k)) for _k in (1, 2, 3)},
}


def _any_all(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    return states[0] if a["dim"] == () else _reduce(states, xs, out, a)


def _diff(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """Output i is a combination of inputs i..i+n along dim: a window of n + 1, stride 1."""
    x = xs[0]
    d = a["dim"] % len(x)
    if len(xs) > 1:
        return _scramble(lambda a, x: [d])(states[:1], xs[:1], out, a)
    return per_dim(states[0], x, [d], lambda ax, i, size: slide(ax, a["n"] + 1, 1, 0))


def _everything(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """Every output element may read every input element (affine_grid: from theta's values)."""
    return merge([_place(s, x, list(range(len(x))), {}) for s, x in zip(states, xs)])


MORE_RULES: dict[str, Rule] = {
    "any": _any_all, "all": _any_all, "diff": _diff, "affine_grid": _everything,
    "index": _scramble(lambda a, x: None),  # advanced indexing: positions are data
    "grid_sample": _scramble(lambda a, x: list(range(2, len(x)))),
    "subtract": _identity, "multiply": _identity, "divide": _identity,
    **_INDEX_RULES,
    **dict.fromkeys(ELEMENTWISE, _identity),
    **dict.fromkeys(("bfloat16", "long", "int", "short", "char", "byte", "bool"), _identity),
    # sizes from arguments or another tensor's shape: no input value is read
    **dict.fromkeys((*CREATION, *LIKE), _const), "meshgrid": _meshgrid,
}
__all__ = ["MORE_RULES"]
