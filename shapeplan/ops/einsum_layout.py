"""The layout of ``torch.einsum``'s output: torch's einsum (ATen, Linear.cpp) replayed on
strides (torch 2.14, CPU, no opt_einsum: operands contracted left to right).

Each operand is turned into a view over every label: diagonals for a label repeated in its
term, dims of 1 for the labels it lacks, permuted to (output labels, ``...`` where it is
not in the output, contraction labels in label order, upper case first).  A single operand
is that view, or its ``sum`` over the contraction dims (new, contiguous).  Otherwise pairs
are contracted in turn (``sumproduct_pair``, keeping dims): a dim that only one operand
still has is summed first (new tensor); with nothing to sum the pair is multiplied
(TensorIterator); else ``bmm`` of the permuted operands, whose contiguous output, viewed as
(both, left only, summed, right only), is permuted back; measured on torch 2.14: the
operands trade places where every dim only the right one has (or neither) comes before
every dim only the left one has.  The contraction dims, now of size
1, are viewed away.  Which dims are of size 1 decides the steps: a question where sizes are
symbols.  An operand with no elements: a new zero tensor.
"""

from __future__ import annotations

from typing import Any

from ..core.dims import Dim, Shape, norm
from .ask import Ask
from .ctx import RuleCtx
from .iterator import iterate
from .layout import Layout, Strides, default_strides, view_strides
from .layouts import layout_of, unsqueezed

_ELL = "..."
View = tuple[list[Dim], list[Dim]]  # (sizes, strides)


def _terms(equation: str) -> tuple[list[list[str]], list[str] | None]:
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")

    def term(text: str) -> list[str]:
        out: list[str] = []
        while text:
            n = 3 if text.startswith(_ELL) else 1
            out.append(text[:n])
            text = text[n:]
        return out

    return [term(t) for t in lhs.split(",")], (term(rhs) if arrow else None)


def _order(label: str) -> int:
    return ord(label) - ord("A") if label.isupper() else 26 + ord(label) - ord("a")


def _permuted(ask: Ask, x: Layout, term: list[str], index: dict[str, int], ell_at: int, n_ell: int, total: int,
              counts: list[int]) -> View:
    """An operand as a view over every label (torch's diagonal / unsqueeze / permute)."""
    shape, strides = list(x.shape), list(x.strides(ask))
    perm = [-1] * total
    dim = 0
    for label in term:
        if label == _ELL:
            own = len(x.shape) - (len(term) - 1)
            for j in range(n_ell - own, n_ell):
                if not ask.one(shape[dim]):
                    counts[ell_at + j] += 1
                perm[ell_at + j] = dim
                dim += 1
        elif perm[index[label]] == -1:
            if not ask.one(shape[dim]):
                counts[index[label]] += 1
            perm[index[label]] = dim
            dim += 1
        else:  # op.diagonal(0, prev, dim).movedim(-1, prev)
            prev = perm[index[label]]
            joined = norm(strides[prev] + strides[dim])
            strides[prev] = joined
            del shape[dim], strides[dim]
    for k in range(total):
        if perm[k] == -1:
            strides = list(unsqueezed(tuple(shape), tuple(strides), dim))
            shape.insert(dim, 1)
            perm[k] = dim
            dim += 1
    return [shape[p] for p in perm], [strides[p] for p in perm]


def _summed(v: View, dims: list[int]) -> View:
    """``sum(dims, keepdim=True)``: a new contiguous tensor."""
    shape = [1 if i in dims else n for i, n in enumerate(v[0])]
    return shape, list(default_strides(tuple(shape)))


def _pair(ask: Ask, a: View, b: View, sums: list[int]) -> View:
    """torch's ``sumproduct_pair(a, b, sums, keepdim=True)``."""
    if not sums:
        shape = tuple(y if ask.one(x) else x for x, y in zip(a[0], b[0], strict=True))
        out = iterate(shape, [Layout.strided(tuple(a[0]), a[1]), Layout.strided(tuple(b[0]), b[1])]).resolve(ask)
        return list(shape), list(out.strides(ask))
    lro: list[int] = []
    lo: list[int] = []
    ro: list[int] = []
    for i, (x, y) in enumerate(zip(a[0], b[0], strict=True)):
        if i in sums:
            continue
        sl, sr = not ask.one(x), not ask.one(y)
        (lro if sl and sr else lo if sl else ro).append(i)
    if lo and ro and max(ro) < min(lo):  # measured: the operands swap where b's dims all come before a's
        order = lro + ro + sums + lo
    else:
        order = lro + lo + sums + ro
    both = [y if ask.one(x) else x for x, y in zip(a[0], b[0], strict=True)]
    sizes = [1 if d in sums else both[d] for d in order]
    flat = default_strides(tuple(sizes))
    where = {d: k for k, d in enumerate(order)}
    n = len(a[0])
    return [sizes[where[i]] for i in range(n)], [flat[where[i]] for i in range(n)]


def einsum_strides(ask: Ask, equation: str, ins: list[Layout], out: Shape) -> Strides:
    """The strides of ``torch.einsum(equation, *ins)`` (of shape ``out``)."""
    terms, rhs = _terms(equation)
    n_ell = max((len(x.shape) - (len(t) - 1) for t, x in zip(terms, ins, strict=True) if _ELL in t), default=0)
    labels = sorted({c for t in terms for c in t if c != _ELL}, key=_order)
    count = {c: sum(t.count(c) for t in terms) for c in labels}
    index: dict[str, int] = {}
    at = 0
    ell_at = 0
    if rhs is None:
        at = n_ell
        for c in labels:
            if count[c] == 1:
                index[c] = at
                at += 1
    else:
        for c in rhs:
            if c == _ELL:
                ell_at, at = at, at + n_ell
            else:
                index[c] = at
                at += 1
    out_size = at
    if rhs is not None and _ELL not in rhs:
        ell_at, at = at, at + n_ell
    for c in labels:
        if c not in index:
            index[c] = at
            at += 1
    counts = [0] * at
    ops = [_permuted(ask, x, t, index, ell_at, n_ell, at, counts) for t, x in zip(terms, ins, strict=True)]
    if any(ask.empty(tuple(x.shape)) for x in ins):
        return default_strides(out)
    if len(ops) == 1:
        if at > out_size:
            return default_strides(out)  # a sum over the contraction dims
        return tuple(ops[0][1])
    while len(ops) > 1:
        a, b = ops[0], ops[1]
        sums: list[int] = []
        a_sums: list[int] = []
        b_sums: list[int] = []
        for d in range(out_size, at):
            one_a, one_b = ask.one(a[0][d]), ask.one(b[0][d])
            if not one_a and not one_b:
                counts[d] -= 1
                if counts[d] == 1:
                    sums.append(d)
                    counts[d] = 0
            elif counts[d] == 1:
                if not one_a:
                    a_sums.append(d)
                    counts[d] = 0
                elif not one_b:
                    b_sums.append(d)
                    counts[d] = 0
        a = _summed(a, a_sums) if a_sums else a
        b = _summed(b, b_sums) if b_sums else b
        ops = [_pair(ask, a, b, sums), *ops[2:]]
    shape, strides = ops[0]
    if at == out_size:
        return tuple(strides)
    got = view_strides(ask, Layout.strided(tuple(shape), strides), out, maybe_empty=False)
    return default_strides(out) if got is None else got


@layout_of("einsum")
def _einsum(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    eq = a["equation"]
    return Layout.lazy(out, lambda ask: Layout.strided(out, einsum_strides(ask, eq, ins, out)), ins[0].dtype)
