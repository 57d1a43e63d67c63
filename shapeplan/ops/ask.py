"""Questions about sizes for the layout rules (:mod:`.layout`): comparisons of sizes and
strides of tensors that have elements, asked of the analysis only where the answer matters.

:class:`Ask` compares products of sizes knowing that every size is at least 1 (common
factors cancel: ``W < H*W`` is ``H >= 2``), so that what reaches the analysis is a question
about a few sizes (``H == 1``), in the exact fragment where possible.  :func:`settle` first
tries every answer to a computation's questions hypothetically: where the result does not
depend on them (a ``view`` that works whether or not ``H`` is 1), nothing is asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from math import gcd
from typing import Any, Protocol, TypeVar

import sympy

from ..core.conditions import Cond, eq, ge
from ..core.dims import Dim, Shape, norm, prod

T = TypeVar("T")


class Decides(Protocol):
    """What answers a question about sizes (a :class:`~shapeplan.ops.ctx.RuleCtx`)."""

    def decide(self, cond: Cond, prefer: bool | None = None) -> bool: ...


class Ask:
    """Comparisons of sizes and strides, as questions to ``by``: answered where the sizes
    decide them, else a case of the analysis.  Except in :meth:`empty`, every size is at
    least 1 (the tensors have elements).  Each question is asked so that its generic answer
    (large sizes) is False where possible.  ``local``: ``by`` answers hypothetically
    (:func:`settle`), so nothing is remembered."""

    def __init__(self, by: Decides, local: bool = False) -> None:
        self.by = by
        self.local = local
        self.memo: dict[int, tuple[Any, Any]] = {}  # layouts resolved under a local Ask's answers

    def _holds(self, cond: Cond, generic: bool) -> bool:
        known = cond.concrete()
        if known is not None:
            return known
        if generic:
            flipped = Cond("ne", cond.lhs, cond.rhs) if cond.kind == "eq" else Cond("ge", cond.rhs, norm(cond.lhs + 1))
            return not self.by.decide(flipped, prefer=False)
        return self.by.decide(cond, prefer=False)

    def empty(self, shape: Shape) -> bool:
        """Has a tensor of this shape no elements?  (Sizes may be 0 here.)"""
        if all(_positive(d) for d in shape):
            return False
        return self._holds(eq(prod(shape), 0), False)

    def eq(self, a: Dim, b: Dim) -> bool:
        a, b = _cancel(a, b)
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        if isinstance(a, int) or isinstance(b, int):  # c == k * (positive factors)
            k, p = (a, b) if isinstance(a, int) else (b, a)
            c, rest = _coeff(p)
            if k < c or k % c:
                return False
            return self._holds(eq(rest, k // c), False)
        return self._holds(eq(a, b), False)

    def lt(self, a: Dim, b: Dim) -> bool:
        """``a < b``."""
        a, b = _cancel(a, b)
        if isinstance(a, int) and isinstance(b, int):
            return a < b
        if isinstance(a, int):  # a < c * rest
            c, rest = _coeff(b)
            need = -(-(a + 1) // c)  # rest >= ceil((a + 1) / c)
            if need <= 1:
                return True
            if need == 2:
                return not self._holds(eq(rest, 1), False)
            return self._holds(ge(rest, need), True)
        if isinstance(b, int):  # c * rest < b
            c, rest = _coeff(a)
            most = (b - 1) // c  # rest <= floor((b - 1) / c)
            if most < 1:
                return False
            if most == 1:
                return self._holds(eq(rest, 1), False)
            return self._holds(ge(most, rest), False)
        return self._holds(ge(b, norm(a + 1)), False)

    def one(self, d: Dim) -> bool:
        """Is the size ``d`` 1?"""
        return self.eq(d, 1)

    def same(self, a: Sequence[Dim], b: Sequence[Dim]) -> bool:
        return len(a) == len(b) and all(self.eq(x, y) for x, y in zip(a, b, strict=True))


# --------------------------------------------------------------------------- answers that do not matter


class _Script:
    """Answers questions from a script of answers (then the generic answer, recording the
    other as a path to try); a size answered to be some number is that number afterwards."""

    def __init__(self, script: tuple[bool, ...]) -> None:
        self.script = script
        self.taken: list[bool] = []
        self.pending: list[tuple[bool, ...]] = []
        self.memo: dict[Cond, bool] = {}
        self.env: dict[sympy.Symbol, int] = {}

    def decide(self, cond: Cond, prefer: bool | None = None) -> bool:
        if cond.negative:
            return not self.decide(cond.positive, prefer)
        if self.env:
            cond = Cond(cond.kind, norm(sympy.sympify(cond.lhs).xreplace(self.env)),
                        norm(sympy.sympify(cond.rhs).xreplace(self.env)))
        known = cond.concrete()
        if known is not None:
            return known
        lhs = sympy.sympify(cond.lhs)
        if cond.kind == "eq" and cond.rhs == 1 and (lhs.is_Mul or lhs.is_Pow):
            # a product of sizes >= 1 is 1 where each factor is: one question per size
            return all(self.decide(eq(b, 1)) for b in (f.as_base_exp()[0] for f in sympy.Mul.make_args(lhs)))
        if cond in self.memo:
            return self.memo[cond]
        k = len(self.taken)
        if k < len(self.script):
            answer = self.script[k]
        else:
            answer = False
            self.pending.append((*self.taken, True))
        self.taken.append(answer)
        self.memo[cond] = answer
        if answer and cond.kind == "eq" and isinstance(lhs, sympy.Symbol) and isinstance(cond.rhs, int):
            self.env[lhs] = cond.rhs
        return answer


MAX_LOCAL_PATHS = 32
_MIXED = object()


def settle(by: Decides, run: Callable[[Ask], T]) -> T:
    """``run``'s result, where it does not depend on the answers to its questions (tried
    hypothetically, up to MAX_LOCAL_PATHS ways: with ``by.fork`` where ``by`` has one, which
    skips the answers no size allows), without asking ``by``; else (or where a hypothetical
    run raises) ``run`` asking ``by`` (each question whose answer depends on the sizes is then
    a case, and what raises does so in its own cases)."""
    # the analysis' own decider (a rule's context asks its oracle) answers hypothetically in a
    # fork, skipping the answers that no size allows
    fork = getattr(getattr(by, "oracle", by), "fork", None)
    todo: list[tuple[bool, ...]] = [()]
    seen: object = _MIXED
    tried = 0
    while todo and tried < MAX_LOCAL_PATHS:
        script = fork(todo.pop()) if fork is not None else _Script(todo.pop())
        tried += 1
        try:
            got = run(Ask(script, local=True))
        except Exception:  # noqa: BLE001 - it fails on some answers (a layout that refuses to answer): ask for real
            break
        if seen is not _MIXED and got != seen:
            break
        seen = got
        todo.extend(script.pending)
    else:
        if not todo:
            return seen  # type: ignore[return-value]
    return run(Ask(by))


def _positive(d: Dim) -> bool:
    return d > 0 if isinstance(d, int) else bool(sympy.sympify(d).is_positive)


def _coeff(e: Dim) -> tuple[int, Dim]:
    c, rest = sympy.sympify(e).as_coeff_Mul()
    if c.is_Integer and int(c) > 0:
        return int(c), norm(rest)
    return 1, norm(e)


def _factors(e: Dim) -> tuple[int, dict[sympy.Expr, int]]:
    c, rest = _coeff(e)
    out: dict[sympy.Expr, int] = {}
    for f in sympy.Mul.make_args(sympy.sympify(rest)):
        if f == 1:
            continue
        b, k = f.as_base_exp()
        if not (k.is_Integer and int(k) > 0):
            b, k = f, sympy.Integer(1)
        out[b] = out.get(b, 0) + int(k)
    return c, out


@lru_cache(maxsize=1 << 14)
def _cancel(a: Dim, b: Dim) -> tuple[Dim, Dim]:
    """``a`` and ``b`` divided by their common factors (all factors are sizes >= 1 here, or
    positive integers), so that any comparison of the two is unchanged."""
    a, b = norm(a), norm(b)
    if isinstance(a, int) and isinstance(b, int):
        return a, b
    if isinstance(a, int) and a == 0 or isinstance(b, int) and b == 0:
        return a, b
    ca, fa = _factors(a)
    cb, fb = _factors(b)
    g = gcd(ca, cb)
    ca, cb = ca // g, cb // g
    for base in list(fa):
        if base in fb:
            k = min(fa[base], fb[base])
            fa[base] -= k
            fb[base] -= k
    na = norm(ca * sympy.Mul(*(x**k for x, k in fa.items())))
    nb = norm(cb * sympy.Mul(*(x**k for x, k in fb.items())))
    return na, nb


def generic() -> Ask:
    """Questions answered as for large sizes (for messages: nothing is asked)."""
    return Ask(_Script(()), local=True)
