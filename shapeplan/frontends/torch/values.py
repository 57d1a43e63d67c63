"""The values a traced forward computes with, as shapeplan models them.

- a tensor is :class:`TensorValue`: the name of the layer (or input) that produces it;
- a size is an ``int`` or a sympy expression in the input symbols (``H // 2``);
- a question about sizes (``h == w``, ``h % 32``) is a :class:`SizeTest`, answered by the
  trace's :class:`~shapeplan.analysis.region.Decider` when Python needs a bool;
- ``chunk``/``split``/``unbind`` give :class:`Pieces`, ``torch.max(x, dim)`` an :class:`Extreme`;
- anything shapeplan does not model but may pass along (a dtype, a device) is :class:`Opaque`.

Size arithmetic follows Python's integer semantics exactly (floor division and modulo of
sizes stay formulas).  No torch import here.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sympy

from ...core.conditions import Cond, eq, ge
from ...core.dims import Dim, floordiv, fmt, norm


@dataclass(frozen=True)
class TensorValue:
    """A tensor: the layer or input that produces it."""

    name: str


@dataclass(frozen=True)
class Pieces:
    """The result of chunk/split/unbind: pieces of ``src`` along ``dim``."""

    src: TensorValue
    dim: int
    pieces: tuple[tuple[int, int], ...]  # (start, length); length -1: one index (unbind)
    base: str


class Deferred:
    """A tensor whose layer is made only where forward uses it: the second item of a pair (the
    indices of ``x.max(1)`` are an argmax layer; see :mod:`.pairs`)."""

    def __init__(self, make: Callable[[], TensorValue]) -> None:
        self.make = make
        self.value: TensorValue | None = None

    def get(self) -> TensorValue:
        if self.value is None:
            self.value = self.make()
        return self.value


@dataclass(frozen=True)
class Extreme:
    """A call that returns a pair: torch.max/min(x, dim), sort, topk: (values, indices);
    var_mean: (var, mean); nn.MultiheadAttention: (output, weights).  ``second``: the other
    item, made where forward uses it, or None where shapeplan does not follow it (opaque)."""

    values: TensorValue
    what: str
    second: Deferred | None = None


@dataclass(frozen=True)
class Opaque:
    """A value shapeplan does not model (a dtype, a device): fine to pass, not to compute with."""

    what: str
    failed: bool = False  # the value of a call that could not be imported (already reported)


TestKind = Literal["eq", "ne", "ge", "gt", "le", "lt", "nonzero"]


@dataclass(frozen=True)
class SizeTest:
    """A comparison of sizes whose answer depends on the input size (``h == w``, ``h % 32``)."""

    kind: TestKind
    lhs: Dim
    rhs: Dim = 0

    def condition(self) -> tuple[Cond, bool]:
        """The test as (condition, truth): it holds where ``cond`` is ``truth``."""
        a, b = self.lhs, self.rhs
        if self.kind == "eq":
            return eq(a, b), True
        if self.kind == "ne":
            return eq(a, b), False
        if self.kind == "nonzero":
            return eq(a, 0), False
        if self.kind == "ge":
            return ge(a, b), True
        if self.kind == "gt":
            return ge(a, norm(b + 1)), True
        if self.kind == "le":
            return ge(b, a), True
        return ge(b, norm(a + 1)), True  # lt

    def __str__(self) -> str:
        if self.kind == "nonzero":
            return f"{fmt(self.lhs)} != 0"
        op = {"eq": "==", "ne": "!=", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[self.kind]
        return f"{fmt(self.lhs)} {op} {fmt(self.rhs)}"


class Unsupported(Exception):
    """A call or value shapeplan cannot follow; becomes a diagnostic at the user's line."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def is_size(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, sympy.Expr) and not v.is_Boolean)


def is_symbolic(v: Any) -> bool:
    return isinstance(v, sympy.Expr) and bool(v.free_symbols)


# ---------------------------------------------------------------------- size arithmetic


def _floordiv(a: Any, b: Any) -> Any:
    if isinstance(a, float) or isinstance(b, float):
        return a // b
    return floordiv(a, b)


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, float) or isinstance(b, float):
        return a % b
    return norm(a - b * floordiv(a, b))


def _truediv(a: Any, b: Any) -> Any:
    if isinstance(a, sympy.Expr) or isinstance(b, sympy.Expr):
        return sympy.Rational(1, 1) * a / b
    return a / b


def _arith(f: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
            return f(a, b)  # torch.Size + tuple, tuple * 2
        r = f(a, b)
        return norm(r) if isinstance(r, sympy.Expr) else r

    return apply


def _compare(kind: TestKind, py: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if is_symbolic(a) or is_symbolic(b):
            if is_size(a) and is_size(b):
                diff = norm(sympy.expand(a - b))
                if isinstance(diff, int):  # decided by the numbers alone (H - H)
                    return py(diff, 0)
                return SizeTest(kind, norm(a), norm(b))
            if kind in ("eq", "ne"):  # a size compared with a non-size (None, a string)
                return kind == "ne"
            raise Unsupported("unsupported-size", f"comparing the size {fmt(a) if is_size(a) else a!r} with "
                                                  f"{fmt(b) if is_size(b) else b!r}")
        return py(a, b)

    return apply


def _truth(v: Any) -> Any:
    """``bool(size)`` as a test: a symbolic size is true where it is not 0."""
    if is_symbolic(v):
        return SizeTest("nonzero", norm(v))
    return operator.truth(v)


SIZE_OPS: dict[Any, Callable[..., Any]] = {
    operator.add: _arith(operator.add),
    operator.sub: _arith(operator.sub),
    operator.mul: _arith(operator.mul),
    operator.floordiv: _floordiv,
    operator.mod: _mod,
    operator.truediv: _truediv,
    operator.neg: lambda a: norm(-a) if is_size(a) else -a,
    operator.pos: lambda a: a,
    operator.eq: _compare("eq", operator.eq),
    operator.ne: _compare("ne", operator.ne),
    operator.ge: _compare("ge", operator.ge),
    operator.gt: _compare("gt", operator.gt),
    operator.le: _compare("le", operator.le),
    operator.lt: _compare("lt", operator.lt),
    operator.truth: _truth,
}


# ---------------------------------------------------------------------- structure


def leaves(v: Any) -> Iterable[Any]:
    """Every value inside nested lists, tuples and dicts."""
    if isinstance(v, (list, tuple)):
        for x in v:
            yield from leaves(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from leaves(x)
    else:
        yield v


def plain(v: Any) -> Any:
    """Arguments as YAML-able values: tuples -> lists, torch.Size -> list, sympy kept."""
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, sympy.Integer):
        return int(v)
    return v


def prod(shape: Iterable[Dim]) -> Dim:
    out: Dim = 1
    for d in shape:
        out = out * d
    return out


def dim_index(d: Any, rank: int) -> int:
    if not isinstance(d, int) or isinstance(d, bool) or not -rank <= d < max(rank, 1):
        raise Unsupported("dim", f"dim {d!r} is out of range for a tensor with {rank} dims")
    return d % rank if rank else 0


def index_item(x: Any) -> Any:
    """One item of a tensor index as the getitem op writes it (ints, None, '...', 'a:b:c')."""
    if x is None or (isinstance(x, int) and not isinstance(x, bool)):
        return x
    if x is Ellipsis:
        return "..."
    if isinstance(x, slice):
        parts = [x.start, x.stop, x.step]
        if not all(p is None or is_size(p) for p in parts):
            raise Unsupported("unsupported-index", f"a slice with bounds that are not sizes: {x}")
        if any(isinstance(p, sympy.Expr) for p in parts):
            return slice(*parts)  # a size formula as a bound (x[:, :H]): the getitem op takes it as is
        text = ":".join("" if p is None else str(p) for p in parts[:2])
        return text + (f":{x.step}" if x.step is not None else "")
    raise Unsupported("unsupported-index", f"indexing a tensor with {type(x).__name__} (advanced indexing)")


def has_dim(rest: Sequence[Any], kwargs: dict[str, Any]) -> bool:
    """torch.max(x, dim) (a reduction with indices), not torch.max(x) or torch.max(x, y)."""
    if "dim" in kwargs:
        return True
    return bool(rest) and isinstance(rest[0], int) and not isinstance(rest[0], bool)
