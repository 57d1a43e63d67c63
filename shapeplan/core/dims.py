"""Dimensions: plain ``int`` where a size is known, ``sympy.Expr`` where it is not.

Symbols are integer and positive.  Floor division is the :class:`FloorDiv` function,
which keeps expressions in a canonical, readable form (``(H - 1)//2 + 1`` becomes
``(H + 1)//2``; nested divisions merge: ``((H + 1)//2 + 1)//2`` is ``(H + 3)//4``).
All arithmetic here is exact integer arithmetic with Python's floor semantics.
"""

from __future__ import annotations

import builtins
import functools
import keyword
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Union

import sympy

from .canon import PRINTER, fmt_expr
from .floordiv import FloorDiv

Dim = Union[int, sympy.Expr]
Shape = tuple[Dim, ...]

_RESERVED = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)


def valid_symbol_name(name: str) -> bool:
    """A symbol name must be a plain ASCII identifier that shadows nothing in Python."""
    return name.isascii() and name.isidentifier() and name not in _RESERVED and not name.startswith("_")


@cache
def sym(name: str) -> sympy.Symbol:
    """The symbol ``name``: an integer, positive sympy Symbol (cached, so one per name)."""
    return sympy.Symbol(name, integer=True, positive=True)


def symbols(names: str | Iterable[str]) -> tuple[sympy.Symbol, ...]:
    """shapeplan's symbols named ``names`` (``"N H W"``, ``"N,H,W"`` or a list of names), to
    ``subs`` into shapes: ``rep.shapes["fc1"][1].subs({H: 64})`` with ``N, H, W =
    shapeplan.symbols("N H W")``.  They are integer and positive: a plain
    ``sympy.Symbol("H")`` is another symbol, and ``subs`` with it changes nothing."""
    items = names.replace(",", " ").split() if isinstance(names, str) else list(names)
    for n in items:
        if not valid_symbol_name(n):
            raise ValueError(f"{n!r} is not a valid symbol name")
    return tuple(sym(n) for n in items)


def norm(x: object) -> Dim:
    """Turn sympy integers into ``int``; leave symbolic expressions alone."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int):
        return x
    if isinstance(x, sympy.Integer):
        return int(x)
    if isinstance(x, sympy.Expr):
        return x
    raise TypeError(f"not a dimension: {x!r}")


def floordiv(a: Dim, d: Dim) -> Dim:
    """``a // d`` with Python's floor semantics; ``d`` must be a positive integer."""
    if isinstance(a, int) and isinstance(d, int):
        return a // d
    if not isinstance(d, int):
        d2 = norm(d)
        if not isinstance(d2, int):
            raise ValueError(f"cannot divide by the symbolic size {fmt(d)}")
        d = d2
    return norm(FloorDiv(sympy.sympify(a), sympy.Integer(d)))


def ceildiv(a: Dim, d: Dim) -> Dim:
    """``ceil(a / d)``; ``d`` must be a positive integer."""
    if isinstance(a, int) and isinstance(d, int):
        return -(-a // d)
    return floordiv(a + d - 1, d)  # type: ignore[operator]


def dmin(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    return norm(sympy.Min(a, b))


def dmax(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    return norm(sympy.Max(a, b))


def prod(dims: Iterable[Dim]) -> Dim:
    out: Dim = 1
    for d in dims:
        out = out * d  # type: ignore[operator]
    return norm(out)


def is_concrete(d: object) -> bool:
    return isinstance(d, int) or (isinstance(d, sympy.Expr) and d.is_Integer)


def free_symbols(d: Dim) -> frozenset[str]:
    """The names of the symbols a size depends on."""
    if isinstance(d, int):
        return frozenset()
    return _names(d)


@functools.lru_cache(maxsize=1 << 16)
def _names(e: sympy.Basic) -> frozenset[str]:
    return frozenset(s.name for s in e.free_symbols)


def fmt(d: object) -> str:
    """A dimension as text, in Python syntax: ``16*((H - 12)//4)*((W - 12)//4)``."""
    if isinstance(d, bool):
        return str(d)
    if isinstance(d, int):
        return str(d)
    if isinstance(d, sympy.Expr):
        return fmt_expr(d)
    return str(d)


def fmt_shape(shape: Iterable[Dim]) -> str:
    items = [fmt(d) for d in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


@cache
def compile_dim(expr: sympy.Expr, names: tuple[str, ...]) -> Callable[..., int]:
    """A fast Python function of ``names`` that evaluates ``expr`` exactly with ints.

    The source is printed from the sympy tree (never from user text); symbol names are
    validated identifiers, so the generated lambda is safe to compile.
    """
    for n in names:
        if not valid_symbol_name(n):
            raise ValueError(f"invalid symbol name {n!r}")
    body = PRINTER.doprint(expr)  # no factor_terms: only readability needs it
    src = f"lambda {', '.join(names)}: {body}" if names else f"lambda: {body}"
    allowed = {"min": min, "max": max, "int": int}  # int: torch's scaled sizes, int(H*0.7)
    fn: Callable[..., int] = eval(compile(src, "<shapeplan-dim>", "eval"), {"__builtins__": allowed})  # noqa: S307
    return fn


@cache
def _arg_names(expr: sympy.Expr) -> tuple[str, ...]:
    """The sorted names of ``expr``'s symbols (cached: sympy recomputes ``free_symbols`` by
    walking the whole tree on every access, which dominated ``Domain.contains``)."""
    return tuple(sorted(s.name for s in expr.free_symbols))


def evaluate(d: Dim, env: Mapping[str, int]) -> int:
    """The value of ``d`` at the sizes in ``env`` (every free symbol must be given)."""
    if isinstance(d, int):
        return d
    names = _arg_names(d)
    return int(compile_dim(d, names)(*(env[n] for n in names)))
