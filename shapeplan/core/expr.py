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
    return _Parser(toks, symbol_ok, env).parse()


class _Parser:
    """Recursive descent over the tokens: one method per rule of the grammar above."""

    def __init__(self, toks: list[tuple[str, str]], symbol_ok: Callable[[str], bool] | None,
                 env: Mapping[str, Dim] | None) -> None:
        self.toks = toks
        self.i = 0
        self.symbol_ok = symbol_ok
        self.env = env

    def parse(self) -> Dim:
        """The whole token list as one integer-valued expression."""
        result = self.expr(0)
        if self.i != len(self.toks):
            raise ExprError(f"unexpected {self.toks[self.i][1]!r}")
        if isinstance(result, sympy.Expr) and not result.is_integer:
            raise ExprError("size expression is not an integer")
        return result

    def peek(self) -> tuple[str, str] | None:
        """The next token, None at the end."""
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        """Consume the next token."""
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expr(self, depth: int) -> Dim:
        """expr := term (('+' | '-') term)*"""
        if depth > MAX_DEPTH:
            raise ExprError("size expression nested too deeply")
        val = self.term(depth)
        while (t := self.peek()) and t[1] in "+-" and t[0] == "op":
            op = self.take()[1]
            rhs = self.term(depth)
            val = norm(val + rhs if op == "+" else val - rhs)
        return val

    def term(self, depth: int) -> Dim:
        """term := unary (('*' | '//' | '%') unary)*; '//' and '%' by a positive integer."""
        val = self.unary(depth)
        while (t := self.peek()) and t[0] == "op" and t[1] in ("*", "//", "%"):
            op = self.take()[1]
            rhs = self.unary(depth)
            if op == "*":
                val = norm(val * rhs)
            else:
                if not isinstance(rhs, int) or rhs <= 0:
                    raise ExprError(f"'{op}' needs a positive integer on its right")
                val = floordiv(val, rhs) if op == "//" else norm(val - rhs * floordiv(val, rhs))
        return val

    def unary(self, depth: int) -> Dim:
        """unary := '-' unary | atom"""
        t = self.peek()
        if t and t == ("op", "-"):
            self.take()
            return norm(-self.unary(depth + 1))
        return self.atom(depth)

    def atom(self, depth: int) -> Dim:
        """atom := INT | NAME | '(' expr ')'"""
        t = self.peek()
        if t is None:
            raise ExprError("size expression ends too early")
        self.take()
        kind, val = t
        if kind == "int":
            return _integer(val)
        if kind == "name":
            return self.name(val)
        if val == "(":
            inner = self.expr(depth + 1)
            if self.peek() != ("op", ")"):
                raise ExprError("missing ')'")
            self.take()
            return inner
        raise ExprError(f"unexpected {val!r}")

    def name(self, val: str) -> Dim:
        """A name: its value in ``env``, else a symbol that ``symbol_ok`` accepts."""
        if self.env is not None and val in self.env:
            return self.env[val]
        if not valid_symbol_name(val) or (self.symbol_ok is not None and not self.symbol_ok(val)):
            raise ExprError(f"unknown symbol {val!r}")
        return sym(val)


def _integer(val: str) -> int:
    """An integer literal, at most MAX_INT."""
    n = int(val)
    if n > MAX_INT:
        raise ExprError(f"integer {val[:20]} is too large")
    return n
