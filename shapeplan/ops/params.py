"""Parameter types: converters that check and normalise an argument value (from YAML or from
a traced call), each carrying the JSON Schema of the values it accepts; and the markers
``auto`` / ``solve`` / required.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import sympy

from ..core.dims import Dim, norm
from .ctx import ArgError

Converter = Callable[[Any], Any]


class Auto:
    """Marker for ``auto``: the value is inferred from the incoming shape."""

    def __repr__(self) -> str:
        return "auto"


class Solve:
    """Marker for ``solve``: an unknown the solver must find."""

    def __repr__(self) -> str:
        return "solve"


AUTO = Auto()
TENSOR = "tensor"  # in an advanced index: the place of an index tensor (an input of the op)
SOLVE = Solve()
REQUIRED: Any = object()


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


MAX_INT = 2**40  # larger sizes are certainly a mistake (and would overflow torch's int64 products)

JSONSchema = dict[str, Any]
_SCHEMA_ATTR = "json_schema"


def with_schema(conv: Converter, schema: JSONSchema | None) -> Converter:
    """Attach to ``conv`` the JSON Schema (draft-07) of the YAML values it accepts.

    The schema may accept more than ``conv`` (the checker has the last word) but never
    less: :mod:`shapeplan.render.schema` builds ``net.schema.json`` from these, and
    ``tests/test_schema.py`` compares every converter with its schema on probe values.
    ``None`` (an inner converter without a schema) leaves ``conv`` without one.
    """
    if schema is not None:
        setattr(conv, _SCHEMA_ATTR, schema)
    return conv


def schema_of(conv: Converter) -> JSONSchema | None:
    """The JSON Schema attached by :func:`with_schema`, or None."""
    s = getattr(conv, _SCHEMA_ATTR, None)
    return s if isinstance(s, dict) else None


def _int_schema(minimum: int | None, maximum: int | None) -> JSONSchema:
    s: JSONSchema = {"type": "integer"}
    if minimum is not None:
        s["minimum"] = minimum
    if maximum is not None:
        s["maximum"] = maximum
    return s


def _compose(make: Callable[..., JSONSchema], *convs: Converter) -> JSONSchema | None:
    parts = [schema_of(c) for c in convs]
    return None if any(x is None for x in parts) else make(*parts)


def int_t(minimum: int | None = 0, maximum: int | None = MAX_INT) -> Converter:
    def conv(v: Any) -> int:
        if not _is_int(v):
            raise ArgError(f"expected an integer, got {_show(v)}")
        if minimum is not None and v < minimum:
            raise ArgError(f"must be >= {minimum}, got {v}")
        if maximum is not None and v > maximum:
            raise ArgError(f"must be <= {maximum}, got {v}")
        return int(v)

    conv.__name__ = f"int>={minimum}" if minimum is not None else "int"
    return with_schema(conv, _int_schema(minimum, maximum))


def ints_t(n: int, minimum: int | None = 0) -> Converter:
    """An int (repeated n times) or a list of exactly n ints, as torch's ``_pair`` etc."""
    one = int_t(minimum)

    def conv(v: Any) -> tuple[int, ...]:
        if isinstance(v, (list, tuple)):
            if len(v) != n:
                raise ArgError(f"expected {n} values, got {len(v)}")
            return tuple(one(x) for x in v)
        return (one(v),) * n

    conv.__name__ = f"int or list of {n} ints"
    return with_schema(conv, _compose(
        lambda s: {"anyOf": [s, {"type": "array", "items": s, "minItems": n, "maxItems": n}]}, one))


def float_t(minimum: float | None = None, positive: bool = False) -> Converter:
    def conv(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ArgError(f"expected a number, got {_show(v)}")
        f = float(v)
        if not math.isfinite(f):
            raise ArgError(f"expected a finite number, got {v}")
        if minimum is not None and f < minimum:
            raise ArgError(f"must be >= {minimum}, got {v}")
        if positive and f <= 0:
            raise ArgError(f"must be > 0, got {v}")
        return f

    conv.__name__ = "number"
    schema: JSONSchema = {"type": "number"}
    if minimum is not None:
        schema["minimum"] = minimum
    if positive:
        schema["exclusiveMinimum"] = 0
    return with_schema(conv, schema)


def bool_t(v: Any) -> bool:  # noqa: D103
    if not isinstance(v, bool):
        raise ArgError(f"expected true or false, got {_show(v)}")
    return v


bool_t.__name__ = "bool"
with_schema(bool_t, {"type": "boolean"})


def choice_t(*options: str) -> Converter:
    def conv(v: Any) -> str:
        if v not in options:
            raise ArgError(f"expected one of {', '.join(repr(o) for o in options)}, got {_show(v)}")
        return str(v)

    conv.__name__ = "one of " + "|".join(options)
    return with_schema(conv, {"enum": list(options)})


def opt_t(inner: Converter) -> Converter:
    def conv(v: Any) -> Any:
        return None if v is None else inner(v)

    conv.__name__ = f"optional {getattr(inner, '__name__', '')}"
    return with_schema(conv, _compose(lambda s: {"anyOf": [{"type": "null"}, s]}, inner))


def union_t(*options: Converter) -> Converter:
    def conv(v: Any) -> Any:
        errors = []
        for o in options:
            try:
                return o(v)
            except ArgError as e:
                errors.append(e.message)
        raise ArgError(errors[-1] if len(errors) == 1 else "; or ".join(errors))

    conv.__name__ = " or ".join(getattr(o, "__name__", "?") for o in options)
    return with_schema(conv, _compose(lambda *ss: {"anyOf": list(ss)}, *options))


def any_t(v: Any) -> Any:
    return v


with_schema(any_t, {})


def dim_t(allow_minus_one: bool = False, minimum: int = 0) -> Converter:
    """One size: an int, a symbol name or a size expression (``H // 2``) -> Dim.

    Already-parsed sympy expressions pass through (for networks built in Python).
    """
    def conv(v: Any) -> Any:
        if isinstance(v, (sympy.Expr, str)):
            return _expression(v)
        if not _is_int(v):
            raise ArgError(f"expected a size (an integer or an expression such as H // 2), got {_show(v)}")
        if allow_minus_one and v == -1:
            return -1
        if v < minimum:
            raise ArgError(f"a size must be >= {minimum}, got {v}")
        if v > MAX_INT:
            raise ArgError(f"size {v} is too large")
        return int(v)

    conv.__name__ = "size"
    ints: list[JSONSchema] = [{"type": "integer", "minimum": minimum, "maximum": MAX_INT}]
    if allow_minus_one and minimum > -1:
        ints.append({"const": -1})
    return with_schema(conv, {"anyOf": [*ints, {"type": "string"}]})  # a string: a symbol or an expression


def dims_t(n: int | None = None, allow_minus_one: bool = False, minimum: int = 0, scalar: bool = True) -> Converter:
    """A list of sizes (or, with ``scalar``, one size repeated ``n`` times / a 1-tuple)."""
    one = dim_t(allow_minus_one, minimum)

    def conv(v: Any) -> tuple[Any, ...]:
        if isinstance(v, (list, tuple)):
            if n is not None and len(v) != n:
                raise ArgError(f"expected {n} sizes, got {len(v)}")
            if len(v) > 64:
                raise ArgError(f"too many sizes ({len(v)})")
            return tuple(one(x) for x in v)
        if not scalar:
            raise ArgError(f"expected a list of sizes, got {_show(v)}")
        return (one(v),) * (n or 1)

    conv.__name__ = "size or list of sizes"

    def schema(s: JSONSchema) -> JSONSchema:
        arr: JSONSchema = {"type": "array", "items": s, "maxItems": 64}
        if n is not None:
            arr.update(minItems=n, maxItems=min(n, 64))
        return {"anyOf": [s, arr]} if scalar else arr

    return with_schema(conv, _compose(schema, one))


def _expression(v: sympy.Expr | str) -> Dim:
    """A sympy expression (networks built in Python), or a size expression parsed by the
    whitelisted grammar (``H // 2``)."""
    from ..core.expr import ExprError, parse_size

    if isinstance(v, sympy.Expr):
        return norm(v)
    try:
        return parse_size(v)
    except ExprError as e:
        raise ArgError(f"bad size expression {v[:40]!r}: {e}") from None


def signed_size(v: Any) -> Dim:
    """An int of any sign, a size expression (``H - 3``), or a sympy expression."""
    if isinstance(v, (sympy.Expr, str)):
        return _expression(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ArgError(f"expected an integer or a size expression, got {v!r}"[:80])
    if abs(v) > MAX_INT:
        raise ArgError(f"{v} is too large")
    return int(v)


signed_size.__name__ = "integer or size expression"
SIGNED_SCHEMA = {"anyOf": [{"type": "integer", "minimum": -MAX_INT, "maximum": MAX_INT}, {"type": "string"}]}
with_schema(signed_size, SIGNED_SCHEMA)


def int_list_t(n: int | None = None) -> Converter:
    """A list of (possibly negative) ints, e.g. dims for permute; an int alone is a 1-list."""

    def conv(v: Any) -> tuple[int, ...]:
        items = v if isinstance(v, (list, tuple)) else [v]
        if n is not None and len(items) != n:
            raise ArgError(f"expected {n} integers, got {len(items)}")
        if len(items) > 64:
            raise ArgError(f"too many values ({len(items)})")
        out = []
        for x in items:
            if not _is_int(x) or abs(x) > MAX_INT:
                raise ArgError(f"expected integers, got {_show(x)}")
            out.append(int(x))
        return tuple(out)

    conv.__name__ = "list of ints"
    item = _int_schema(-MAX_INT, MAX_INT)
    arr: JSONSchema = {"type": "array", "items": item, "maxItems": 64}
    if n is not None:
        arr.update(minItems=n, maxItems=min(n, 64))
    return with_schema(conv, {"anyOf": [item, arr]} if n in (None, 1) else arr)


def _show(v: object) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------- scalars and torch attributes


def scalar_t(v: Any) -> bool | int | float:
    """A Python number as torch takes it for a scalar operand (``x > 0``, ``masked_fill(m, -inf)``):
    a bool, an int or a float (inf and nan too), kept as given (an int stays an int)."""
    if isinstance(v, (bool, int, float)):
        if _is_int(v) and abs(v) > 2**63 - 1:
            raise ArgError(f"{v} does not fit in a 64-bit integer"[:80])
        return v
    raise ArgError(f"expected a number, got {_show(v)}")


scalar_t.__name__ = "number"
with_schema(scalar_t, {"type": ["number", "boolean"]})


class TorchName(str):
    """An attribute of torch written by its source name (``torch.float32``,
    ``torch.channels_last``): emitted code writes it bare, not as a string."""

    __slots__ = ()


def torch_attr_t(kind: str, names: tuple[str, ...]) -> Converter:
    """A torch dtype / memory format / layout: None, its name (``float32``, ``torch.float32``),
    or the torch object itself (from a traced call) -> :class:`TorchName` (``torch.float32``)."""

    def conv(v: Any) -> TorchName | None:
        if v is None:
            return None
        text = v if isinstance(v, str) else (str(v) if type(v).__module__ == "torch" else None)
        name = text[6:] if text is not None and text.startswith("torch.") else text
        if name not in names:
            raise ArgError(f"expected a torch {kind} ({', '.join(names[:6])}, ...), got {_show(v)}")
        return TorchName("torch." + name)

    conv.__name__ = f"torch {kind}"
    return with_schema(conv, {"anyOf": [{"type": "null"}, {"enum": [*names, *("torch." + n for n in names)]}]})


DTYPES = ("float32", "float", "float64", "double", "float16", "half", "bfloat16", "complex64", "cfloat",
          "complex128", "cdouble", "uint8", "int8", "int16", "short", "int32", "int", "int64", "long", "bool",
          "uint16", "uint32", "uint64")
dtype_t = torch_attr_t("dtype", DTYPES)
# torch's dtype aliases by their canonical names (``torch.long`` is int64)
_DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "cfloat": "complex64",
                  "cdouble": "complex128", "short": "int16", "int": "int32", "long": "int64"}
FLOATING_DTYPES = frozenset(("float32", "float64", "float16", "bfloat16", "complex64", "complex128"))


def canonical_dtype(dtype: str) -> str:
    """``torch.long`` -> ``int64``: a dtype (as dtype_t gives it) by its canonical name."""
    name = dtype.removeprefix("torch.")
    return _DTYPE_ALIASES.get(name, name)
memory_format_t = torch_attr_t("memory format", ("contiguous_format", "preserve_format", "channels_last",
                                                 "channels_last_3d"))
_layout = torch_attr_t("layout", ("strided",))


def layout_t(v: Any) -> None:
    """torch's layout= (only torch.strided, dense tensors): checked, then dropped (no shape effect)."""
    _layout(v)
    return None


layout_t.__name__ = "torch layout"
with_schema(layout_t, schema_of(_layout))


def device_t(v: Any) -> None:
    """device=: a device name or torch.device, checked and dropped (shapes do not depend on it;
    emitted code creates tensors on the default device)."""
    if v is None or (isinstance(v, str) and v.split(":")[0] in ("cpu", "cuda", "meta", "mps", "xpu")):
        return None
    if type(v).__module__ == "torch" and type(v).__name__ == "device":
        return None
    if _is_int(v) and v >= 0:
        return None
    raise ArgError(f"expected a device ('cpu', 'cuda:0', ...), got {_show(v)}")


device_t.__name__ = "device"
with_schema(device_t, {"anyOf": [{"type": "null"}, {"type": "string"}, {"type": "integer", "minimum": 0}]})


def dropped_bool_t(v: Any) -> bool:
    """A bool that is checked and dropped (``pin_memory=``: no shape effect)."""
    bool_t(v)
    return False


dropped_bool_t.__name__ = "bool"
with_schema(dropped_bool_t, {"type": "boolean"})


def pair_item_t(v: Any) -> int:
    """Which tensor of the pair torch returns (values, indices): 0 or 1."""
    if isinstance(v, bool) or v not in (0, 1):
        raise ArgError(f"expected 0 (the values) or 1 (the indices), got {_show(v)}")
    return int(v)


with_schema(pair_item_t, {"enum": [0, 1]})
