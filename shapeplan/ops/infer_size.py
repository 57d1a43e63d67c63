"""torch's ``infer_size``: the shape of a view or reshape, its ``-1`` inferred exactly from the
element count (as a formula where the count divides, with the questions that make it one)."""

from __future__ import annotations

import math

import sympy

from ..core.conditions import dvd, eq, ge
from ..core.dims import Dim, Shape, floordiv, fmt, fmt_shape, norm, prod
from .ctx import RuleCtx
from .merge import same, surely_positive


def _factors(e: Dim) -> tuple[int, dict[sympy.Expr, int]]:
    """``e`` as an integer coefficient and {base: exponent} (None-free, structural)."""
    c, rest = sympy.sympify(e).as_coeff_Mul()
    out: dict[sympy.Expr, int] = {}
    for f in sympy.Mul.make_args(rest):
        b, k = f.as_base_exp()
        if not (k.is_Integer and int(k) > 0):
            b, k = f, sympy.Integer(1)
        out[b] = out.get(b, 0) + int(k)
    return (int(c) if c.is_Integer else 1), out if c.is_Integer else {**out, c: 1}


def _cancel(num: Dim, den: Dim, nonzero: bool = False) -> tuple[Dim, Dim]:
    """``num / den`` with common factors cancelled, keeping the factored form: (num', den').

    Only factors that are surely positive are cancelled, unless ``nonzero`` says ``den`` is
    known to be non-zero (then every common factor is, and cancelling is exact).
    """
    if isinstance(num, int) and isinstance(den, int):
        return num, den
    cn, fn = _factors(num)
    cd, fd = _factors(den)
    g = math.gcd(cn, cd) or 1
    cn, cd = cn // g, cd // g
    for b in list(fn):
        if b in fd and (nonzero or b.is_positive):
            k = min(fn[b], fd[b])
            fn[b] -= k
            fd[b] -= k
    n2 = norm(cn * sympy.Mul(*(b**k for b, k in fn.items())))
    d2 = norm(cd * sympy.Mul(*(b**k for b, k in fd.items())))
    if isinstance(d2, int) or not nonzero:
        return n2, d2
    q = sympy.cancel(sympy.sympify(n2) / d2)  # common factors that only show once expanded
    n3, d3 = sympy.fraction(q)
    return (norm(n3), norm(d3)) if d3.is_Integer else (n2, d2)


def _strip_sign(a: Dim, b: Dim) -> tuple[Dim, Dim]:
    if isinstance(b, int) and b < 0:
        return norm(-a), -b
    return a, b


def infer_shape(ctx: RuleCtx, sizes: tuple[Dim, ...], numel: Dim, what: str, source: str) -> Shape:
    """torch's ``infer_size``: ``sizes`` (one may be -1) for ``numel`` elements."""
    for i, s in enumerate(sizes):
        if isinstance(s, int) and s < -1:
            ctx.fail("shape", f"has an invalid size {s} at index {i} of {what} {fmt_shape(sizes)}",
                     hint="sizes must be >= 0, or -1 (once) for the inferred size", param=None)
    for i, s in enumerate(sizes):
        if not isinstance(s, int) and not s.is_nonnegative:
            ctx.require(ge(s, 0), "shape", f"has size {fmt(s)} at index {i} of {what} {fmt_shape(sizes)}, "
                        "which must not be negative", hint="sizes must be >= 0", show=s)
    holes = [i for i, s in enumerate(sizes) if isinstance(s, int) and s == -1]
    if len(holes) > 1:
        ctx.fail("shape", f"{what} {fmt_shape(sizes)} has more than one -1 (only one dimension can be inferred)")
    known = prod(s for s in sizes if not (isinstance(s, int) and s == -1))
    if not holes:
        if not same(known, numel):
            lhs, rhs = _cancel(numel, known)
            ctx.require(eq(lhs, rhs), "reshape",
                        f"cannot view {source} ({fmt(numel)} elements) as {what} {fmt_shape(sizes)} "
                        f"({fmt(known)} elements)",
                        hint="the sizes must multiply to the element count; use -1 for one size to infer it",
                        show=numel)
        return sizes
    if isinstance(known, int) and known == 0:
        ctx.fail("shape", f"cannot infer the -1 in {what} {fmt_shape(sizes)}: the other sizes multiply to 0",
                 hint="give every size explicitly")
    if not surely_positive(known):
        ctx.require(ge(known, 1), "reshape",
                    f"cannot infer the -1 in {what} {fmt_shape(sizes)}: the other sizes multiply to {fmt(known)}",
                    hint="the sizes other than -1 must be positive", show=known)
    num, den = _strip_sign(*_cancel(numel, known, nonzero=True))
    if not isinstance(den, int):
        rewritten = _nested_floors(ctx, numel, known)
        if rewritten is not numel:
            num, den = _strip_sign(*_cancel(rewritten, known, nonzero=True))
    if not isinstance(den, int) and isinstance(num, int) and ctx.oracle is not None:
        return _over_divisors(ctx, sizes, holes[0], num, den, numel, known, what, source)
    if not isinstance(den, int):
        ctx.fail("reshape-symbolic",
                 f"cannot express the -1 in {what} {fmt_shape(sizes)}: {fmt(numel)} elements divided by "
                 f"{fmt(known)} is not a formula shapeplan can write",
                 hint="write that size explicitly instead of -1")
    assert isinstance(den, int)
    if den != 1:
        ctx.require(dvd(num, den), "reshape",
                    f"cannot view {source} ({fmt(numel)} elements) as {what} {fmt_shape(sizes)}: "
                    f"{fmt(numel)} is not a multiple of {fmt(known)}",
                    hint=f"the element count must be a multiple of {fmt(known)}", show=numel)
    inferred = floordiv(num, den)
    return tuple(inferred if i == holes[0] else s for i, s in enumerate(sizes))


MAX_DIVISORS = 64


def _over_divisors(ctx: RuleCtx, sizes: tuple[Dim, ...], hole: int, num: int, den: Dim, numel: Dim, known: Dim,
                   what: str, source: str) -> Shape:
    """The -1 of ``num / den`` elements (a number over a positive formula, as ``48 / (H//8)``):
    torch infers ``num // den`` where ``den`` divides ``num``.  A case for each divisor
    ``den`` may equal (``H//8 = 1, 2, 3, 4, 6, ...``), each with its number; at the other sizes
    the view is refused."""
    divisors = [int(d) for d in sympy.divisors(num)] if 0 < num else []  # ascending; O(sqrt(num)), not O(num)
    if not divisors or len(divisors) > MAX_DIVISORS:
        ctx.fail("reshape-symbolic",
                 f"cannot express the -1 in {what} {fmt_shape(sizes)}: {fmt(numel)} elements divided by "
                 f"{fmt(known)} is {num}/({fmt(den)})"
                 + (f", and {num} has {len(divisors)} divisors" if num > 0 else ""),
                 hint="write that size explicitly instead of -1")
    for d in divisors:
        if ctx.decide(eq(den, d), prefer=d == 1):
            return tuple(num // d if i == hole else s for i, s in enumerate(sizes))
    ctx.require(eq(1, 0), "reshape",  # every case where it divides has been split off
                f"cannot view {source} ({fmt(numel)} elements) as {what} {fmt_shape(sizes)}: {fmt(numel)} is not "
                f"a multiple of {fmt(known)} ({fmt(den)} does not divide {num})",
                hint=f"the element count must be a multiple of {fmt(known)}", show=den)
    return tuple(0 if i == hole else s for i, s in enumerate(sizes))


def _nested_floors(ctx: RuleCtx, num: Dim, den: Dim) -> Dim:
    """``num`` with each ``(Y + c)//(k*m)`` written ``((Y//k) + c/k) / m`` where ``den`` has
    ``Y//k`` or the symbol ``Y`` (k = 1; k divides c) and ``m`` divides ``Y//k + c/k`` at these sizes (a question: a
    window partition after a view that required it, as MaxViT's ``(H + 3)//28`` elements viewed
    by ``(H + 3)//4``).  ``num`` itself where there is nothing to rewrite or no one to ask."""
    if ctx.oracle is None or isinstance(num, int) or isinstance(den, int):
        return num
    from ..core.floordiv import FloorDiv

    num = _decided_extremes(ctx, num)
    d = sympy.sympify(den)
    inner = [(g, *g.args) for g in d.atoms(FloorDiv)] + [(x, x, sympy.Integer(1)) for x in d.free_symbols]
    subs: dict[sympy.Expr, sympy.Expr] = {}
    for f in sympy.sympify(num).atoms(FloorDiv):
        if f in d.atoms(FloorDiv):  # the same floor divides: cancelled as it is
            continue
        y2, k2 = f.args
        if any(sum(1 for x in sympy.Mul.make_args(t) if not x.is_Number) > 1 for t in sympy.Add.make_args(y2)):
            # an earlier inferred size (N*a*b)//64, exact where that view required 64 | N*a*b
            if ctx.decide(dvd(norm(y2), int(k2)), prefer=True):
                subs[f] = y2 / k2
            continue
        for g, y1, k1 in inner:
            c = sympy.expand(y2 - y1)
            if not (c.is_Integer and k2 % k1 == 0 and k2 != k1 and c % k1 == 0):
                continue
            m, top = int(k2 // k1), norm(g + c // k1)
            if ctx.decide(dvd(top, m), prefer=True):
                subs[f] = sympy.sympify(top) / m
            break
    return norm(sympy.sympify(num).xreplace(subs)) if subs else num


def _decided_extremes(ctx: RuleCtx, e: Dim) -> Dim:
    """``e`` with each max/min replaced by the argument that wins at these sizes (a question per
    pair: ``max(0, H//8 - 1)`` is ``H//8 - 1`` where H >= 8, a case of its own)."""
    expr = sympy.sympify(e)
    for m in sorted(expr.atoms(sympy.Max, sympy.Min), key=sympy.count_ops):
        if len(m.args) != 2:
            continue
        a, b = m.args
        first = ctx.decide(ge(norm(a), norm(b)), prefer=True)
        win = a if first == isinstance(m, sympy.Max) else b
        expr = expr.xreplace({m: win})
    return norm(expr)
