"""Floor division of sizes as a sympy function, kept in a canonical, readable form.

``FloorDiv(a, d)`` is ``floor(a / d)`` for an integer ``a`` and a positive integer ``d``:
``(H - 1)//2 + 1`` becomes ``(H + 1)//2``; nested divisions merge (``((H + 1)//2 + 1)//2`` is
``(H + 3)//4``); the base keeps a remainder in ``[0, d)`` (``(H - 6)//4`` is ``(H + 2)//4 - 2``).
"""

from __future__ import annotations

import math

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter


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
