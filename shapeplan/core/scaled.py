"""torch's output size for a scale factor, ``int(double(n) * s)``, as an exact function of n.

``F.interpolate(x, scale_factor=s)`` (and ``nn.Upsample``, with or without
``recompute_scale_factor``) computes each output size as the truncation of a double product:
``static_cast<double>(n) * s`` in aten's ``compute_output_size``, ``int(n * s)`` in Python.
For a scale that is exact in binary (0.5, 1.5, 3/8) that is ``n*p // q``; for most decimals
too (0.3 is ``(3*n)//10`` at every size), but not for all: ``0.7`` is the double
``0.69999999999999995559...``, and ``int(90 * 0.7) == 62``, not 63.

:class:`ScaledSize` is that function, printed as torch computes it (``int(H*0.7)``) and
evaluated in double arithmetic exactly as torch does.  :func:`scale_split` describes it for
the exact analysis: with ``r = p/q`` the decimal the scale was written as,
``int(n*s) == n*p//q - [n in M]`` for every ``0 <= n <= SCALE_LIMIT``, where ``M`` (the sizes
where the rounded product falls just below the integer ``n*r``) is a union of about 40
intervals of multiples of ``q``, one per binary order of magnitude of ``n*r``:

- where ``n*r`` is not an integer it is at least ``1/q`` away from one, and the rounded product
  is within ``n*|D - r| + 2**-53 * n*D < 1/q`` of it (checked for ``n <= SCALE_LIMIT``), so it
  truncates to ``n*p//q``;
- where ``n*r = k`` is an integer and the double ``D < r``, the product is ``k - k*c`` with
  ``c = (r - D)/r``; it rounds to ``k`` (else to a double in ``(k - 1, k)``, truncated to
  ``k - 1``) exactly when ``k*c`` is at most half the spacing of the doubles below ``k``, which
  is constant between two powers of two: so within one binade ``[2**j, 2**(j+1))`` the misses
  are the ``k`` above a threshold, found by bisection on torch's own arithmetic.

``SCALE_LIMIT = 2**40`` is the largest size shapeplan reads anywhere (ops.params.MAX_INT); a
tensor with a dim that large (and other dims >= 1) would take terabytes.  Above it, ``M`` is
taken to be empty (the formula ``n*p//q``).
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import sympy
from sympy.printing.str import StrPrinter

from .sets import Seg, USet

SCALE_LIMIT = 2**40
MAX_DENOMINATOR = 1 << 16  # the period of n*p//q; longer ones are not analysed (kept as relations)


def scale_int(n: int, s: float) -> int:
    """torch's output size: the truncation of the double product ``double(n) * s``."""
    return int(float(n) * s)


class ScaledSize(sympy.Function):
    """``ScaledSize(n, s)`` is ``int(double(n) * s)`` (``s`` a sympy Rational equal to a double)."""

    nargs = (2,)
    is_integer = True

    @classmethod
    def eval(cls, n: sympy.Expr, s: sympy.Expr) -> sympy.Expr | None:
        if not s.is_Rational:
            raise ValueError(f"ScaledSize needs the exact value of a double as its scale, got {s}")
        if n.is_Integer:
            return sympy.Integer(scale_int(int(n), float(s)))
        if s == 0:
            return sympy.Integer(0)
        return None

    @property
    def scale(self) -> float:
        return float(self.args[1])

    def _eval_is_nonnegative(self) -> bool | None:
        n, s = self.args
        if s.is_nonnegative and n.is_nonnegative:
            return True
        return None

    def _sympystr(self, printer: StrPrinter) -> str:
        """``int(H*0.7)``: torch's own computation, valid Python for an int H."""
        n = self.args[0]
        inner = printer._print(n)
        if not (n.is_Symbol or n.is_Integer):
            inner = f"({inner})"
        return f"int({inner}*{self.scale!r})"


def scaled_size(n: sympy.Expr, s: float) -> sympy.Expr:
    """``ScaledSize(n, s)`` with ``s`` kept exactly."""
    return ScaledSize(n, sympy.Rational(*Fraction(s).as_integer_ratio()))


def _proved(D: Fraction, r: Fraction) -> bool:
    """Is ``n*r`` never an integer closer than the rounding error (for every n <= SCALE_LIMIT)?"""
    return SCALE_LIMIT * (abs(D - r) + D / 2**53) < Fraction(1, r.denominator) and SCALE_LIMIT * r < 2**52


def _candidates(s: float) -> list[Fraction]:
    D = Fraction(s)
    out = []
    try:
        out.append(Fraction(repr(s)))  # the decimal the scale was written as
    except (ValueError, ZeroDivisionError):  # pragma: no cover - repr of a finite float parses
        pass
    out.append(D.limit_denominator(4096))
    return [r for r in out if r > 0 and r.denominator <= MAX_DENOMINATOR]


def _misses(s: float, r: Fraction) -> list[Seg]:
    """The sizes ``n <= SCALE_LIMIT`` with ``int(n*s) == n*r - 1`` (``n*r`` an integer)."""
    p, q = r.numerator, r.denominator
    D = Fraction(s)
    if D >= r:
        return []  # the product is at least the integer k = n*r, and below k + 1
    m_top = SCALE_LIMIT // q

    def miss(m: int) -> bool:
        return scale_int(q * m, s) != p * m

    segs: list[Seg] = []
    j = 0
    while 2**j <= p * m_top:
        lo_k, hi_k = 2**j, 2 ** (j + 1) - 1  # the binade of k = p*m
        if lo_k % p == 0 and miss(lo_k // p):  # a power of two: its own spacing below
            segs.append(Seg(q * (lo_k // p), q * (lo_k // p), 1, frozenset({0})))
        a, b = lo_k // p + 1, min(hi_k // p, m_top)  # the m with 2**j < p*m < 2**(j+1)
        if a <= b and miss(b):
            while a < b:  # the first miss: misses are the k above a threshold in a binade
                mid = (a + b) // 2
                if miss(mid):
                    b = mid
                else:
                    a = mid + 1
            last = min(hi_k // p, m_top)
            segs.append(Seg(q * a, q * last, q, frozenset({0})))
        j += 1
    return segs


@cache
def scale_split(s: float) -> tuple[Fraction, USet] | None:
    """``(r, M)`` with ``int(n*s) == floor(n*r) - [n in M]`` for ``0 <= n <= SCALE_LIMIT``
    (``s > 0``), or None where no rational with a denominator up to MAX_DENOMINATOR is close
    enough to ``s`` for that (then the size is kept as a relation, decided size by size)."""
    if not s > 0:
        return None
    D = Fraction(s)
    for r in _candidates(s):
        if _proved(D, r):
            return r, USet(_misses(s, r))
    return None


__all__ = ["SCALE_LIMIT", "ScaledSize", "scale_int", "scale_split", "scaled_size"]
