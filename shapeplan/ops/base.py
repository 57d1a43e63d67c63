"""The op registry: parameter signatures, argument binding, and the rule interface.

An op is one :class:`OpSpec`: its PyTorch name, its parameters (in PyTorch's positional
order, with defaults), how many tensor inputs it reads, and a *rule*: a pure function

    rule(ctx, xs, a) -> Shape

``xs`` are the input shapes, ``a`` the bound, normalised arguments.  The rule returns the
output shape and states, through ``ctx.require(...)``, every condition under which PyTorch
accepts the input.  Conditions are data (:class:`Cond`), decided later: concretely when
all sizes are known, symbolically (for every input size at once) otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import sympy

from ..dims import Dim, Shape, fmt, norm

# --------------------------------------------------------------------------- conditions

CondKind = Literal["ge", "eq", "dvd"]


class Cond(NamedTuple):
    """``lhs >= rhs`` (ge), ``lhs == rhs`` (eq), or ``lhs % rhs == 0`` (dvd, rhs > 0)."""

    kind: CondKind
    lhs: Dim
    rhs: Dim

    def concrete(self) -> bool | None:
        """True/False when decidable from the values alone (no symbols), else None."""
        lhs, rhs = norm(self.lhs), norm(self.rhs)
        if self.kind != "dvd" and not (isinstance(lhs, int) and isinstance(rhs, int)):
            diff = norm(sympy.expand(lhs - rhs)) if not (isinstance(lhs, int) and isinstance(rhs, int)) else lhs - rhs
            if isinstance(diff, int):
                return diff >= 0 if self.kind == "ge" else diff == 0
            return None
        if isinstance(lhs, int) and isinstance(rhs, int):
            if self.kind == "ge":
                return lhs >= rhs
            if self.kind == "eq":
                return lhs == rhs
            return rhs != 0 and lhs % rhs == 0
        if self.kind == "dvd" and isinstance(rhs, int) and rhs > 0:
            m = sympy.Mod(lhs, rhs)
            if m.is_Integer:
                return int(m) == 0
        if self.kind == "dvd" and not isinstance(rhs, int):
            q = sympy.cancel(sympy.sympify(lhs) / rhs)
            if q.is_integer:
                return True
        return None

    def holds_at(self, env: Mapping[str, int]) -> bool:
        from ..dims import evaluate

        lhs, rhs = evaluate(self.lhs, env), evaluate(self.rhs, env)
        if self.kind == "ge":
            return lhs >= rhs
        if self.kind == "eq":
            return lhs == rhs
        return rhs != 0 and lhs % rhs == 0


def ge(a: Dim, b: Dim) -> Cond:
    return Cond("ge", norm(a), norm(b))


def eq(a: Dim, b: Dim) -> Cond:
    return Cond("eq", norm(a), norm(b))


def dvd(a: Dim, m: Dim) -> Cond:
    """``a`` is a multiple of ``m``."""
    return Cond("dvd", norm(a), norm(m))


@dataclass(frozen=True)
class Requirement:
    """A condition PyTorch checks, with what to say when it fails."""

    cond: Cond
    code: str
    message: str
    hint: str | None = None
    show: Dim | None = None  # an expression whose value at example sizes helps the reader
    param: str | None = None  # the argument to point at in the source


class RuleError(Exception):
    """Raised inside a rule for a failure that leaves no output shape (wrong rank...)."""

    def __init__(self, code: str, message: str, hint: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.hint, self.param = code, message, hint, param


class ArgError(Exception):
    """A bad argument value (exit code 2): wrong type, out of range, unknown name."""

    def __init__(self, message: str, param: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.hint = message, param, hint


@dataclass
class RuleCtx:
    """What a rule may do besides computing: state requirements, or fail outright."""

    requirements: list[Requirement] = field(default_factory=list)

    def require(
        self,
        cond: Cond,
        code: str,
        message: str,
        hint: str | None = None,
        show: Dim | None = None,
        param: str | None = None,
    ) -> None:
        if cond.concrete() is True:
            return
        self.requirements.append(Requirement(cond, code, message, hint, show, param))

    def fail(self, code: str, message: str, hint: str | None = None, param: str | None = None) -> None:
        raise RuleError(code, message, hint, param)

    def rank(self, x: Shape, allowed: Sequence[int], what: str) -> None:
        if len(x) not in allowed:
            want = " or ".join(f"{r}D" for r in allowed)
            self.fail("rank", f"expects a {want} input ({what}), got {len(x)}D {_fs(x)}")


def _fs(x: Shape) -> str:
    return "(" + ", ".join(fmt(d) for d in x) + ")"


# --------------------------------------------------------------------------- parameter types

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
    less: :mod:`shapeplan.schema` builds ``net.schema.json`` from these, and
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
    from ..expr import ExprError, parse_size

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


# --------------------------------------------------------------------------- op specs


@dataclass(frozen=True)
class Param:
    name: str
    conv: Converter
    default: Any = REQUIRED
    auto: Callable[[Sequence[Shape]], Any] | None = None  # how `auto` is inferred
    solvable: bool = False  # may be `solve`
    doc: str = ""


Rule = Callable[[RuleCtx, list[Shape], dict[str, Any]], Shape]
ParamCount = Callable[[dict[str, Any]], Dim]
CallStyle = Literal["args", "list", "method", "method_star", "getitem", "parameter", "buffer"]


@dataclass(frozen=True)
class OpSpec:
    """One op: its PyTorch name, signature, arity and shape rule."""

    name: str
    kind: Literal["module", "function"]
    params: tuple[Param, ...]
    rule: Rule
    n_inputs: tuple[int, int | None] = (1, 1)  # (min, max); max None: any number
    param_count: ParamCount | None = None
    torch_name: str = ""  # e.g. "nn.Conv2d", "torch.cat", "F.interpolate", "Tensor.view"
    doc: str = ""
    # how a function op is called: f(x, y, kw=..) ("args"), f([x, y], kw=..) ("list"),
    # x.f(kw=..) ("method"), x.f(*shape) ("method_star": the first parameter is unpacked), or
    # x[index] ("getitem": the first parameter is the index).  A module op with no input is a
    # tensor attribute, used as ``self.name`` in forward: nn.Parameter(torch.zeros(shape))
    # ("parameter") or self.register_buffer(name, torch.zeros(shape)) ("buffer").
    call_style: CallStyle = "args"
    # torch's names of the tensor inputs, for an op whose optional inputs are passed by keyword
    # (F.layer_norm(x, weight=w, bias=b)): inputs past the n_inputs[0] required ones are
    # written as ``name=value`` in emitted code
    input_names: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None


REGISTRY: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    if spec.name in REGISTRY:
        raise ValueError(f"op {spec.name} registered twice")
    REGISTRY[spec.name] = spec
    return spec


def op(
    name: str,
    *params: Param,
    kind: Literal["module", "function"] | None = None,
    n_inputs: tuple[int, int | None] = (1, 1),
    param_count: ParamCount | None = None,
    torch_name: str = "",
    aliases: Sequence[str] = (),
    call_style: CallStyle = "args",
    input_names: Sequence[str] = (),
) -> Callable[[Rule], Rule]:
    """Decorator: register ``rule`` under ``name`` (and ``aliases``) with its signature.

    ``torch_name`` says what emitted code calls: ``nn.X`` for modules (default), else
    ``torch.f`` (default for functions), ``F.f`` (torch.nn.functional) or ``Tensor.f``
    (a method, with ``call_style="method"``).  For aliases the alias name replaces the
    last component of ``torch_name``.
    """

    def deco(rule: Rule) -> Rule:
        k = kind or ("module" if name[:1].isupper() else "function")
        for n in (name, *aliases):
            if torch_name:
                tn = torch_name if n == name else torch_name.rsplit(".", 1)[0] + "." + n
            else:
                tn = f"nn.{n}" if k == "module" else f"torch.{n}"
            register(OpSpec(n, k, tuple(params), rule, n_inputs, param_count, tn, (rule.__doc__ or "").strip(),
                            call_style, tuple(input_names)))
        return rule

    return deco


def py_value(v: Any) -> str:
    """A bound argument value as Python source (sizes print as expressions of the symbols)."""
    from ..dims import fmt

    if isinstance(v, (tuple, list)):
        inner = ", ".join(py_value(x) for x in v)
        return f"({inner},)" if isinstance(v, tuple) and len(v) == 1 else (
            f"({inner})" if isinstance(v, tuple) else f"[{inner}]")
    if isinstance(v, float) and not math.isfinite(v):
        return f"float({str(v)!r})"
    if isinstance(v, (bool, str, float)) or v is None:
        return repr(v)
    if v is Ellipsis:
        return "..."
    if isinstance(v, slice):  # only valid inside a subscript (getitem)
        parts = ["" if x is None else py_value(x) for x in (v.start, v.stop, v.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if v.step is not None else "")
    return fmt(v)


def call_source(spec: OpSpec, inputs: Sequence[str], args: Mapping[str, Any], self_name: str | None = None) -> str:
    """The Python expression that applies ``spec`` (function ops) or constructs it (modules).

    Only arguments that differ from their defaults are written, by keyword.  Values are
    bound, validated values (never raw YAML text).
    """
    kw = [(p.name, args[p.name]) for p in spec.params
          if p.name in args and (p.default is REQUIRED or not _same(args[p.name], p.default, p))]
    if spec.call_style in ("parameter", "buffer"):
        return _attribute_source(spec, args, kw, self_name)
    if spec.kind == "module":
        return f"{spec.torch_name}({', '.join(f'{k}={py_value(v)}' for k, v in kw)})"
    if spec.call_style == "getitem":
        index = args[spec.params[0].name]
        text = ", ".join(py_value(i) for i in index) if index else "()"
        return f"{inputs[0]}[{text}]"
    if spec.input_names and len(inputs) > spec.n_inputs[0]:
        k = spec.n_inputs[0]
        inputs = [*inputs[:k], *(f"{n}={v}" for n, v in zip(spec.input_names[k:], inputs[k:], strict=False))]
    fn = spec.torch_name.rsplit(".", 1)[-1]
    kws = [f"{k}={py_value(v)}" for k, v in kw]
    if spec.call_style == "list":
        return f"{spec.torch_name}([{', '.join(inputs)}]{''.join(', ' + k for k in kws)})"
    if spec.call_style == "method":
        return f"{inputs[0]}.{fn}({', '.join([*inputs[1:], *kws])})"
    if spec.call_style == "method_star":
        first = spec.params[0].name
        star = [py_value(x) for x in args[first]]
        rest = [f"{k}={py_value(v)}" for k, v in kw if k != first]
        return f"{inputs[0]}.{fn}({', '.join([*star, *rest])})"
    return f"{spec.torch_name}({', '.join([*inputs, *kws])})"


def _attribute_source(spec: OpSpec, args: Mapping[str, Any], kw: Sequence[tuple[str, Any]],
                      self_name: str | None) -> str:
    """A tensor attribute: ``nn.Parameter(torch.zeros(shape))``, or with ``self_name`` for a
    buffer, the ``self.register_buffer(name, torch.zeros(shape))`` statement."""
    zeros = f"torch.zeros({py_value(tuple(args['shape']))})"
    extra = "".join(f", {k}={py_value(v)}" for k, v in kw if k != "shape")
    if spec.call_style == "parameter":
        return f"nn.Parameter({zeros}{extra})"
    if self_name is None:
        return zeros
    return f"self.register_buffer({self_name!r}, {zeros}{extra})"


def _same(value: Any, default: Any, p: Param) -> bool:
    return bool(value == _default(p)) if default is not None else value is None


# --------------------------------------------------------------------------- shape helpers used by rules


def channels(dim: int = 1, batched_rank: int | None = None) -> Callable[[Sequence[Shape]], Dim]:
    """`auto` inference: the size of ``dim`` of the first input.

    With ``batched_rank``, an input of rank ``batched_rank - 1`` is unbatched and the
    channel dim shifts left by one (torch's Conv/Pool accept both).
    """

    def infer(xs: Sequence[Shape]) -> Dim:
        x = xs[0]
        d = dim
        if batched_rank is not None and len(x) == batched_rank - 1 and dim > 0:
            d = dim - 1
        if not -len(x) <= d < len(x):
            raise ArgError(f"cannot infer: input {_fs(x)} has no dim {dim}")
        return x[d]

    return infer


def last_dim(xs: Sequence[Shape]) -> Dim:
    if not xs[0]:
        raise ArgError("cannot infer from a 0-d input")
    return xs[0][-1]


def norm_dim(d: int, rank: int, ctx: RuleCtx, what: str = "dim") -> int:
    """Wrap a possibly negative dim index as torch does; fail when out of range."""
    r = max(rank, 1)
    if not -r <= d < r:
        ctx.fail("dim", f"{what}={d} is out of range for a {rank}D input (expected -{r} to {r - 1})")
    return d % r


def bind(spec: OpSpec, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Bind YAML ``args`` / keyword values to ``spec``'s parameters, as Python would.

    Values are converted and checked; ``auto`` and ``solve`` stay as markers.  Raises
    :class:`ArgError` naming the parameter.
    """
    names = [p.name for p in spec.params]
    if len(args) > len(names):
        raise ArgError(
            f"{spec.name} takes at most {len(names)} positional arguments ({', '.join(names) or 'none'}), got {len(args)}"
        )
    raw: dict[str, Any] = {}
    for p, v in zip(spec.params, args):
        raw[p.name] = v
    for k, v in kwargs.items():
        if k not in names:
            close = [n for n in names if n.replace("_", "") == k.replace("_", "").lower()]
            hint = f"did you mean {close[0]!r}?" if close else (
                f"{spec.name} takes: {', '.join(names)}" if names else f"{spec.name} takes no arguments"
            )
            raise ArgError(f"{spec.name} got an unexpected argument {k!r}", param=k, hint=hint)
        if k in raw:
            raise ArgError(f"{spec.name} got multiple values for argument {k!r}", param=k)
        raw[k] = v
    out: dict[str, Any] = {}
    for p in spec.params:
        if p.name not in raw:
            if p.default is REQUIRED:
                hint = f"add {p.name}: auto" if p.auto else f"add {p.name}: <value>"
                raise ArgError(f"{spec.name} is missing the required argument {p.name!r}", param=p.name, hint=hint)
            out[p.name] = _default(p)
            continue
        v = raw[p.name]
        if v == "auto" and isinstance(v, str):
            if p.auto is None:
                raise ArgError(f"{p.name} cannot be 'auto' (it is not inferred from the input shape)", param=p.name)
            out[p.name] = AUTO
            continue
        if v == "solve" and isinstance(v, str):
            if not p.solvable:
                raise ArgError(f"{p.name} cannot be 'solve'", param=p.name)
            out[p.name] = SOLVE
            continue
        try:
            out[p.name] = p.conv(v)
        except ArgError as e:
            raise ArgError(f"{spec.name} argument {p.name}: {e.message}", param=p.name, hint=e.hint) from None
    return out


def _default(p: Param) -> Any:
    if p.default is None:
        return None
    try:
        return p.conv(p.default)
    except ArgError:
        return p.default


def resolve_auto(spec: OpSpec, bound: dict[str, Any], xs: Sequence[Shape]) -> dict[str, Any]:
    """Replace ``auto`` markers by the values inferred from the input shapes."""
    out = dict(bound)
    for p in spec.params:
        if out.get(p.name) is AUTO:
            assert p.auto is not None
            out[p.name] = p.auto(xs)
    return out
