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
import math
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Union

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

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


def _int_coeff_terms(expr: sympy.Expr) -> tuple[int, list[tuple[int, sympy.Expr]]] | None:
    """Split an integer-valued expression into (constant, [(int coeff, term), ...])."""
    const = 0
    terms: list[tuple[int, sympy.Expr]] = []
    for t in sympy.Add.make_args(expr):
        if t.is_Integer:
            const += int(t)
            continue
        c, rest = t.as_coeff_Mul()
        if not c.is_Integer or not rest.is_integer:
            return None
        terms.append((int(c), rest))
    return const, terms


class FloorDiv(sympy.Function):
    """``FloorDiv(a, d)`` is ``floor(a / d)`` for integer ``a`` and a positive integer ``d``."""

    nargs = (2,)
    is_integer = True
    precedence = (PRECEDENCE["Add"] + PRECEDENCE["Mul"]) // 2

    @classmethod
    def eval(cls, base: sympy.Expr, divisor: sympy.Expr) -> sympy.Expr | None:  # noqa: C901
        if not divisor.is_Integer or int(divisor) <= 0:
            raise ValueError(f"FloorDiv needs a positive integer divisor, got {divisor}")
        d = int(divisor)
        if base.is_Integer:
            return sympy.Integer(int(base) // d)
        if d == 1 and base.is_integer:
            return base
        split = _int_coeff_terms(base)
        if split is None:
            return None
        const, terms = split
        # (g*B + r) // (g*m) == (B + r//g) // m for integer B.
        g = d
        for c, _ in terms:
            g = math.gcd(g, c)
        if g > 1:
            inner = sum((sympy.Integer(c // g) * t for c, t in terms), sympy.Integer(const // g))
            return cls(inner, sympy.Integer(d // g))
        # Pull out the terms that are multiples of d, and the constant's quotient.
        pulled = [(c, t) for c, t in terms if c % d == 0]
        q, r = divmod(const, d)
        if pulled or q:
            kept = sum((sympy.Integer(c) * t for c, t in terms if c % d != 0), sympy.Integer(r))
            out = sum((sympy.Integer(c // d) * t for c, t in pulled), sympy.Integer(q))
            return out + cls(kept, divisor)
        # Merge nested divisions: (x//a + r)//d == (x + r*a)//(a*d).
        if len(terms) == 1 and terms[0][0] == 1 and isinstance(terms[0][1], FloorDiv):
            inner_base, a = terms[0][1].args
            return cls(inner_base + r * a, sympy.Integer(int(a) * d))
        return None

    def _sympystr(self, printer: StrPrinter) -> str:
        """Print as Python floor division, also inside plain ``str(expr)``."""
        base, d = self.args
        return f"{printer.parenthesize(base, PRECEDENCE['Mul'])}//{d}"

    def _eval_is_nonnegative(self) -> bool | None:
        return self.args[0].is_nonnegative  # type: ignore[no-any-return]


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


class _Printer(StrPrinter):
    """Python-syntax printing: ``(H - 12)//4``, ``min(a, b)``."""

    def _print_FloorDiv(self, e: FloorDiv) -> str:
        base, d = e.args
        return f"{self.parenthesize(base, PRECEDENCE['Mul'])}//{d}"

    def _print_Min(self, e: sympy.Min) -> str:
        return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Max(self, e: sympy.Max) -> str:
        return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Mod(self, e: sympy.Mod) -> str:
        a, m = e.args
        return f"{self.parenthesize(a, PRECEDENCE['Mul'])} % {self.parenthesize(m, PRECEDENCE['Mul'])}"


_PRINTER = _Printer()


def _tidy(e: sympy.Expr) -> sympy.Expr:
    """Pull common integer factors out of sums, for reading: 16*(H//4) - 48 -> 16*(H//4 - 3).

    A light, structural form of sympy's factor_terms (which is far slower)."""
    if isinstance(e, sympy.Add):
        args = [_tidy(a) for a in e.args]
        coeffs = [a.as_coeff_Mul()[0] for a in args]
        if all(c.is_Integer for c in coeffs):
            g = 0
            for c in coeffs:
                g = math.gcd(g, int(c))
            if g > 1:
                inner = sympy.Add(*[a / g for a in args])
                return sympy.Mul(sympy.Integer(g), inner, evaluate=False)
        return sympy.Add(*args, evaluate=False)
    if isinstance(e, sympy.Mul):
        flat: list[sympy.Expr] = []
        for a in e.args:
            t = _tidy(a)
            flat.extend(t.args if isinstance(t, sympy.Mul) else [t])
        nums = [a for a in flat if a.is_Number]
        coeff = sympy.Mul(*nums) if nums else sympy.Integer(1)
        rest = [a for a in flat if not a.is_Number]
        return sympy.Mul(*([coeff] if coeff != 1 else []), *rest, evaluate=False)
    if isinstance(e, FloorDiv):
        return FloorDiv(_tidy(e.args[0]), e.args[1], evaluate=False)
    if isinstance(e, (sympy.Min, sympy.Max)):
        return type(e)(*[_tidy(a) for a in e.args], evaluate=False)
    return e


@cache
def _fmt_expr(e: sympy.Expr) -> str:
    return str(_PRINTER.doprint(_tidy(e)))


def fmt(d: object) -> str:
    """A dimension as text, in Python syntax: ``16*((H - 12)//4)*((W - 12)//4)``."""
    if isinstance(d, bool):
        return str(d)
    if isinstance(d, int):
        return str(d)
    if isinstance(d, sympy.Expr):
        return _fmt_expr(d)
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
    body = _PRINTER.doprint(expr)  # no factor_terms: only readability needs it
    src = f"lambda {', '.join(names)}: {body}" if names else f"lambda: {body}"
    fn: Callable[..., int] = eval(compile(src, "<shapeplan-dim>", "eval"), {"__builtins__": {"min": min, "max": max}})  # noqa: S307
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
