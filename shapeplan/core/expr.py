"""A small whitelisted parser for size expressions in net.yaml (``H // 2``, ``2*W + 1``).

Grammar (nothing else is accepted; no ``eval``, no ``sympify`` on user text)::

    expr   := term (('+' | '-') term)*
    term   := unary (('*' | '//' | '%') unary)*
    unary  := '-' unary | atom
    atom   := INT | NAME | '(' expr ')'

Division is floor division by a positive integer, as in Python.  Names are the network's
symbols.  Input length and nesting depth are bounded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import sympy

from .dims import Dim, floordiv, norm, sym, valid_symbol_name

MAX_LEN = 256
MAX_DEPTH = 32
MAX_INT = 10**12

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z_0-9]*)|(//|[-+*%()]))")


class ExprError(ValueError):
    """A size expression that does not parse; the message says where and why."""


def _tokenize(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExprError(f"unexpected character {text[pos:].lstrip()[:1]!r} at position {pos + 1}")
        if m.group(1):
            out.append(("int", m.group(1)))
        elif m.group(2):
            out.append(("name", m.group(2)))
        else:
            out.append(("op", m.group(3)))
        pos = m.end()
    return out


def parse_size(
    text: str,
    symbol_ok: Callable[[str], bool] | None = None,
    env: Mapping[str, Dim] | None = None,
) -> Dim:
    """Parse a size expression into an ``int`` or a sympy expression.

    Names found in ``env`` take its values (block parameters); other names are symbols,
    accepted when ``symbol_ok(name)`` says so (default: any valid name).
    """
    if len(text) > MAX_LEN:
        raise ExprError(f"size expression longer than {MAX_LEN} characters")
    toks = _tokenize(text)
    if not toks:
        raise ExprError("empty size expression")
    i = 0

    def peek() -> tuple[str, str] | None:
        return toks[i] if i < len(toks) else None

    def take() -> tuple[str, str]:
        nonlocal i
        tok = toks[i]
        i += 1
        return tok

    def expr(depth: int) -> Dim:
        if depth > MAX_DEPTH:
            raise ExprError("size expression nested too deeply")
        val = term(depth)
        while (t := peek()) and t[1] in "+-" and t[0] == "op":
            op = take()[1]
            rhs = term(depth)
            val = norm(val + rhs if op == "+" else val - rhs)
        return val

    def term(depth: int) -> Dim:
        val = unary(depth)
        while (t := peek()) and t[0] == "op" and t[1] in ("*", "//", "%"):
            op = take()[1]
            rhs = unary(depth)
            if op == "*":
                val = norm(val * rhs)
            else:
                if not isinstance(rhs, int) or rhs <= 0:
                    raise ExprError(f"'{op}' needs a positive integer on its right")
                val = floordiv(val, rhs) if op == "//" else norm(val - rhs * floordiv(val, rhs))
        return val

    def unary(depth: int) -> Dim:
        t = peek()
        if t and t == ("op", "-"):
            take()
            return norm(-unary(depth + 1))
        return atom(depth)

    def atom(depth: int) -> Dim:
        t = peek()
        if t is None:
            raise ExprError("size expression ends too early")
        take()
        kind, val = t
        if kind == "int":
            n = int(val)
            if n > MAX_INT:
                raise ExprError(f"integer {val[:20]} is too large")
            return n
        if kind == "name":
            if env is not None and val in env:
                return env[val]
            if not valid_symbol_name(val) or (symbol_ok is not None and not symbol_ok(val)):
                raise ExprError(f"unknown symbol {val!r}")
            return sym(val)
        if val == "(":
            inner = expr(depth + 1)
            if peek() != ("op", ")"):
                raise ExprError("missing ')'")
            take()
            return inner
        raise ExprError(f"unexpected {val!r}")

    result = expr(0)
    if i != len(toks):
        raise ExprError(f"unexpected {toks[i][1]!r}")
    if isinstance(result, sympy.Expr) and not result.is_integer:
        raise ExprError("size expression is not an integer")
    return result
