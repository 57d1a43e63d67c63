"""The one printed form of a formula: equal formulas print the same, whatever their construction.

A formula built by the YAML front end and the same formula built by the torch bridge are often
different sympy trees (``16*(H//4 - 3)*(W//4 - 3)`` and ``(16*(H//4) - 48)*(W//4 - 3)``, or an
expanded sum).  :func:`canonical` first takes the formula to a normal form that depends only on
its value: a polynomial, expanded, in *atoms* (symbols, ``FloorDiv``, ``min``/``max``, ``%``),
each atom's own arguments in normal form.  Then it writes that polynomial for reading, by rules
that look only at the polynomial:

- the integer content and the atoms common to every term come out first: ``16*N*(...)``;
- terms that share no atom form separate groups; a group that is a product of shifted atoms
  plus a constant is written so: ``16*(H//4 - 3)*(W//4 - 3) + 1`` (each shift an integer);
- a group that is none of these, if small, is factored by sympy (``(H//4 - 3)**2``);
- what is left is printed expanded, in sympy's order.

:func:`fmt_expr` prints the result in Python syntax (``(H + 2)//4``, ``min(H, W)``, ``H % 32``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from .floordiv import FloorDiv

MAX_FACTOR_TERMS = 12  # sympy.factor is tried on sums of at most this many terms (it is slow)
MAX_PRODUCT_ATOMS = 6  # a product of shifted atoms is looked for among at most this many


class PyPrinter(StrPrinter):
    """Python-syntax printing: ``(H - 12)//4``, ``min(a, b)``, ``H % 32``."""

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


PRINTER = PyPrinter()

Monomial = tuple[tuple[sympy.Expr, int], ...]  # (atom, exponent), sorted


# --------------------------------------------------------------------------- the normal form


@cache
def normal(e: sympy.Expr) -> sympy.Expr:
    """The normal form of ``e``: expanded, every atom's arguments in normal form (equal
    formulas have equal normal forms, up to what sympy's ``expand`` decides)."""
    out = e
    for _ in range(4):  # a FloorDiv whose base expands may evaluate to a sum: expand again
        nxt = sympy.expand(out)
        if nxt == out:
            break
        out = nxt
    return out


def _terms(p: sympy.Expr) -> list[tuple[int, Monomial]] | None:
    """``p`` (expanded) as integer-coefficient terms over atoms, or None when it is not one."""
    out: list[tuple[int, Monomial]] = []
    for t in sympy.Add.make_args(p):
        c, rest = t.as_coeff_Mul()
        if not c.is_Integer:
            return None
        mono: dict[sympy.Expr, int] = {}
        for f in sympy.Mul.make_args(rest):
            if f == 1:
                continue
            base, exp = f.as_base_exp()
            if not (exp.is_Integer and int(exp) > 0) or base.is_Add or base.is_Mul or base.is_Number:
                return None
            mono[base] = mono.get(base, 0) + int(exp)
        out.append((int(c), tuple(sorted(mono.items(), key=lambda kv: sympy.default_sort_key(kv[0])))))
    return out


def _mono_expr(mono: Monomial) -> sympy.Expr:
    return sympy.Mul(*[_atom(a) if n == 1 else sympy.Pow(_atom(a), n, evaluate=False) for a, n in mono],
                     evaluate=False) if len(mono) > 1 else (
        _atom(mono[0][0]) if mono[0][1] == 1 else sympy.Pow(_atom(mono[0][0]), mono[0][1], evaluate=False))


def _term_expr(c: int, mono: Monomial) -> sympy.Expr:
    if not mono:
        return sympy.Integer(c)
    m = _mono_expr(mono)
    if c == 1:
        return m
    return sympy.Mul(sympy.Integer(c), *(m.args if isinstance(m, sympy.Mul) else (m,)), evaluate=False)


def _atom(a: sympy.Expr) -> sympy.Expr:
    """An atom, its arguments written for reading."""
    if isinstance(a, FloorDiv):
        return FloorDiv(_pretty(a.args[0]), a.args[1], evaluate=False)
    if isinstance(a, (sympy.Min, sympy.Max, sympy.Mod)):
        return type(a)(*[_pretty(x) for x in a.args], evaluate=False)
    return a


# --------------------------------------------------------------------------- writing it for reading


def _product(terms: list[tuple[int, Monomial]], big: int | None = None) -> tuple[sympy.Expr, int] | None:
    """Terms (no constant) that are ``K*(x1 - r1)*...*(xk - rk)`` minus its constant, for k >= 2
    distinct atoms each of degree 1: that product, and its constant.  With ``big``, the
    product's factor is ``big`` instead of the top term's coefficient K, and the terms are
    that product plus ``(K - big)`` times the top term."""
    top = max(terms, key=lambda t: len(t[1]))
    atoms = [a for a, _ in top[1]]
    k = len(atoms)
    if k < 2 or k > MAX_PRODUCT_ATOMS or any(n != 1 for _, n in top[1]):
        return None
    if sum(1 for t in terms if len(t[1]) == k) != 1:
        return None
    coeff = {m: c for c, m in terms}
    big = top[0] if big is None else big
    shifts = []
    for i in range(k):
        c = coeff.get(tuple(kv for j, kv in enumerate(top[1]) if j != i), 0)
        if big == 0 or c % big:
            return None
        shifts.append(-c // big)
    expanded = _terms(sympy.expand(big * sympy.Mul(*[a - r for a, r in zip(atoms, shifts)])))
    if expanded is None:
        return None
    const = sum(c for c, m in expanded if not m)
    if {m: c for c, m in expanded if m} != {**coeff, top[1]: big}:
        return None
    factors = [_atom(a) if r == 0 else sympy.Add(_atom(a), sympy.Integer(-r), evaluate=False)
               for a, r in zip(atoms, shifts)]
    return (sympy.Mul(*([sympy.Integer(big)] if big != 1 else []), *factors, evaluate=False), const)


def _two_pieces(terms: list[tuple[int, Monomial]], const: int) -> sympy.Expr | None:
    """A whole sum (its terms and constant) as ``a*x1*...*xk + b*(x1 - r1)*...*(xk - rk)``: the
    activations of two layers at the same resolution, ``H*W + 12*(H - 4)*(W - 4)``."""
    top = max(terms, key=lambda t: len(t[1]))
    g = 0
    for c, m in terms:
        if len(m) == len(top[1]) - 1:
            g = math.gcd(g, c)
    divisors = sorted({d for d in range(1, math.isqrt(g) + 1) if g % d == 0 for d in (d, g // d)}, reverse=True)
    for big in [x for d in divisors for x in (d, -d)]:
        if big == top[0]:
            continue
        prod = _product(terms, big)
        if prod is not None and prod[1] == const:
            rest = _term_expr(top[0] - big, top[1])
            return sympy.Add(rest, prod[0], evaluate=False)
    return None


def _groups(terms: list[tuple[int, Monomial]]) -> list[list[tuple[int, Monomial]]]:
    """The non-constant terms, in groups that share no atom (connected by shared atoms)."""
    groups: list[tuple[set[sympy.Expr], list[tuple[int, Monomial]]]] = []
    for c, m in terms:
        if not m:
            continue
        atoms = {a for a, _ in m}
        joined = [g for g in groups if g[0] & atoms]
        for g in joined:
            groups.remove(g)
            atoms |= g[0]
        groups.append((atoms, [t for g in joined for t in g[1]] + [(c, m)]))
    return [g[1] for g in groups]


def _factored(p: sympy.Expr, n_terms: int) -> sympy.Expr | None:
    """sympy's factorization of a small sum, when it is a product (each factor written for reading)."""
    if n_terms > MAX_FACTOR_TERMS:
        return None
    f = sympy.factor(p)
    if not isinstance(f, (sympy.Mul, sympy.Pow)):
        return None
    parts = []
    for x in sympy.Mul.make_args(f):
        base, exp = x.as_base_exp()
        if exp.is_Integer and int(exp) > 1:
            parts.append(sympy.Pow(_pretty(normal(base)), exp, evaluate=False))
        else:
            parts.append(_pretty(normal(x)))
    return sympy.Mul(*parts, evaluate=False)


def _pretty_sum(p: sympy.Expr, terms: list[tuple[int, Monomial]]) -> sympy.Expr:
    """A sum with content 1 and no atom common to every term."""
    const = sum(c for c, m in terms if not m)
    groups = _groups(terms)
    pieces: list[sympy.Expr] = []
    for g in groups:
        prod = _product(g)
        if prod is not None:
            pieces.append(prod[0])
            const -= prod[1]
            continue
        if len(groups) == 1 and any(sum(n for _, n in m) > 1 for _, m in terms):
            f = _factored(p, len(terms)) or _two_pieces(g, const)
            if f is not None:
                return f
        pieces.extend(_term_expr(c, m) for c, m in g)
    if const:
        pieces.append(sympy.Integer(const))
    return pieces[0] if len(pieces) == 1 else sympy.Add(*pieces, evaluate=False)


def _pretty(p: sympy.Expr) -> sympy.Expr:
    """``p`` (in normal form) as a tree for reading (unevaluated)."""
    terms = _terms(p)
    if terms is None:
        return p
    if len(terms) == 1:
        c, m = terms[0]
        return _term_expr(c, m)
    g = 0
    for c, _ in terms:
        g = math.gcd(g, c)
    common = dict(terms[0][1])
    for _, m in terms[1:]:
        mine = dict(m)
        common = {a: min(n, mine[a]) for a, n in common.items() if a in mine}
    if g > 1 or common:
        shared = tuple(sorted(common.items(), key=lambda kv: sympy.default_sort_key(kv[0])))
        rest = [(c // g, tuple((a, n - common.get(a, 0)) for a, n in m if n > common.get(a, 0)))
                for c, m in terms]
        inner = _pretty_sum(sympy.Add(*[sympy.Integer(c) * _plain(m) for c, m in rest]), rest)
        head = [sympy.Integer(g)] if g > 1 else []
        if shared:
            mono = _mono_expr(shared)
            head.extend(mono.args if isinstance(mono, sympy.Mul) else [mono])
        return sympy.Mul(*head, *(inner.args if isinstance(inner, sympy.Mul) else (inner,)), evaluate=False)
    return _pretty_sum(p, terms)


def _plain(mono: Monomial) -> sympy.Expr:
    return sympy.Mul(*[a**n for a, n in mono])


@cache
def canonical(e: sympy.Expr) -> sympy.Expr:
    """``e`` as an unevaluated tree for printing, a function of the value of ``e`` only."""
    return _pretty(normal(e))


@cache
def fmt_expr(e: sympy.Expr) -> str:
    """The printed form of ``e``: :func:`canonical`, in Python syntax."""
    return str(PRINTER.doprint(canonical(e)))


def factor_values(e: sympy.Expr, env: Mapping[str, int]) -> str | None:
    """The printed form's factors, each at ``env``: ``16*6*6`` for ``16*(H//4 - 3)*(W//4 - 3)``
    at H=W=36; None when the printed form is not a product of several factors."""
    tree = canonical(e)
    if not isinstance(tree, sympy.Mul) or len(tree.args) < 2:
        return None
    parts: list[str] = []
    for f in tree.args:
        base, exp = f.as_base_exp() if isinstance(f, sympy.Pow) else (f, sympy.Integer(1))
        v = _value(normal(base), env)
        text = f"({v})" if v < 0 else str(v)
        parts.append(text if exp == 1 else f"{text}**{exp}")
    return "*".join(parts)


def _value(e: sympy.Expr, env: Mapping[str, int]) -> int:
    """``e`` at ``env`` (every symbol given)."""
    out = e.xreplace({s: sympy.Integer(env[s.name]) for s in e.free_symbols})
    if not out.is_Integer:
        raise ValueError(f"{e} is not an integer at {dict(env)}")
    return int(out)
