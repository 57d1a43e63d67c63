"""A cheap, sound test that a size expression is >= 0 for every size (above given lower bounds).

Sizes are polynomials in positive integer symbols and floor divisions (:class:`FloorDiv`).
``surely_nonnegative(e, lows)`` writes every symbol ``s`` as ``t + lows[s]`` with ``t >= 0``,
expands, bounds each floor division in a negative term from above (``a//d <= a/d``), and
answers True when every resulting term has a non-negative coefficient over non-negative
factors.  False means "not proved", never "negative".
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from .dims import Dim, FloorDiv


def _upper(e: sympy.Expr) -> sympy.Expr:
    """``e`` with every floor division replaced by the exact quotient (an upper bound)."""
    return e.replace(lambda x: isinstance(x, FloorDiv), lambda x: _upper(x.args[0]) / x.args[1])


def _factor_ok(f: sympy.Expr) -> bool:
    base = f.base if f.is_Pow and f.exp.is_Integer and f.exp > 0 else f
    if base.is_Symbol:
        return bool(base.is_nonnegative)
    if base.is_Number:
        return bool(base >= 0)
    if isinstance(base, FloorDiv):
        return _nonnegative_terms(sympy.expand(base.args[0]))
    return False


def _nonnegative_terms(e: sympy.Expr) -> bool:
    for term in sympy.Add.make_args(e):
        c, rest = term.as_coeff_Mul()
        if c < 0 or not all(_factor_ok(f) for f in sympy.Mul.make_args(rest)):
            return False
    return True


def surely_nonnegative(e: Dim, lows: Mapping[str, int] | None = None) -> bool:
    """Is ``e >= 0`` wherever every symbol ``s`` is at least ``lows.get(s, 1)``?  (True: proved.)"""
    if isinstance(e, int):
        return e >= 0
    lows = lows or {}
    shift = {s: sympy.Symbol(f"_{s.name}", integer=True, nonnegative=True) + lows.get(s.name, 1)
             for s in e.free_symbols if isinstance(s, sympy.Symbol)}
    ex = sympy.expand(e.xreplace(shift))
    if _nonnegative_terms(ex):
        return True
    pos, neg = [], []
    for term in sympy.Add.make_args(ex):
        c, rest = term.as_coeff_Mul()
        if c >= 0:
            pos.append(term)
        elif all(_factor_ok(f) for f in sympy.Mul.make_args(rest)):
            neg.append(c * _upper(rest))
        else:
            return False
    return _nonnegative_terms(sympy.expand(sympy.Add(*pos, *neg)))


__all__ = ["surely_nonnegative"]
