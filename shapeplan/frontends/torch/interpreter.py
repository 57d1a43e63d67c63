"""The meaning of each traced call: a layer of the registry, a size, or a value passed along.

The tracer (:mod:`.tracer`) hands every call that forward makes (a module, a function, a
tensor method, an attribute) to :meth:`Interpreter.node`, with its arguments as shapeplan's
values (:mod:`.values`).  A call on tensors becomes a :class:`~shapeplan.core.ir.Layer`
whose output shape the op rules compute at once, so that forward can ask about it
(``x.shape``, ``x.size(2)``) before the next call; a call on sizes is size arithmetic.

Modules map to the op of their exact ``torch.nn`` class (Lazy modules to the module they
become), functions and tensor methods to the registry op of the same name (``F.relu``,
``torch.cat``, ``x.view``...), Python operators to ``add``/``sub``/``mul``/``div``/``matmul``.
Anything else is :class:`~.values.Unsupported`, never silently treated as shape-preserving.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from ...core.dims import Shape, floordiv, norm, valid_symbol_name
from ...core.errors import Diagnostic, InputError, Location
from ...core.ir import Layer
from ...ops import REGISTRY, OpSpec
from ...ops.apply import apply_rule
from ...ops.ctx import ArgError, Oracle, RuleError
from ...ops.registry import bind, resolve_auto
from ..yaml.document import valid_layer_name
from .binding import bind_call
from .items import ItemsMixin
from .modules import module_kwargs
from .pairs import extreme, second_item, tuple_result, with_indices
from .sources import constructor_location
from .tables import (
    MODULE_CALL_HARMLESS,
    OPERATORS,
    SPECIAL_METHODS,
    describe_target,
    function_table,
    pieces_functions,
)
from .values import (
    SIZE_OPS,
    Extreme,
    Opaque,
    Pieces,
    TensorValue,
    Unsupported,
    has_dim,
    is_size,
    leaves,
    plain,
)


def sanitize(name: str) -> str:
    """A layer name made of the parts of ``name`` that are legal (``features.0.conv``)."""
    parts = [p if (p.isidentifier() or p.isdigit()) else "".join(c if c.isalnum() and c.isascii() else "_" for c in p)
             for p in name.split(".") if p]
    parts = [p or "_" for p in parts] or ["layer"]
    if not parts[0].isidentifier():
        parts.insert(0, "layers")
    out = ".".join(parts)[:200]
    return out if valid_layer_name(out) else "layer"


# ops whose output holds booleans (a mask: indexing with it has a data-dependent size)
_BOOL_OPS = frozenset({"gt", "lt", "ge", "le", "eq", "ne", "logical_and", "logical_or", "logical_not", "logical_xor",
                       "isnan", "isinf", "isfinite"})
# the functions themselves: torch.fx replaces the names in ``math`` while it traces
_CEIL, _FLOOR = math.ceil, math.floor


def _size_math(fn: Any, args: Sequence[Any]) -> Any:
    """math.ceil / math.floor of sizes (``math.ceil(H / 32)``), as exact formulas."""
    if len(args) != 1 or not isinstance(args[0], sympy.Expr) or not args[0].free_symbols:
        return fn(*args)
    num, den = sympy.fraction(sympy.together(args[0]))
    if fn in (_CEIL, _FLOOR) and den.is_Integer and int(den) > 0:
        d = int(den)
        return norm(floordiv(num + d - 1, d)) if fn is _CEIL else norm(floordiv(num, d))
    raise Unsupported("unsupported-size", f"{getattr(fn, '__name__', fn)} of the size {args[0]}",
                      "sizes are followed through +, -, *, //, %, math.ceil and math.floor of a ratio")


class Interpreter(ItemsMixin):
    """Builds the layers of one traced path of forward."""

    def __init__(self, module: Any, oracle: Oracle | None = None) -> None:
        self.module = module
        self.oracle = oracle
        self.layers: list[Layer] = []
        self.shapes: dict[str, Shape | None] = {}
        self.inputs: dict[str, Shape] = {}
        self.diags: list[Diagnostic] = []
        self.used: set[str] = set()
        self.attrs: dict[str, TensorValue] = {}
        self.failures: dict[str, str] = {}  # layer -> why its shape could not be computed
        self.kept: list[Any] = []
        self.bool_tensors: set[str] = set()  # layers known to hold booleans (masks)
        self.node_loc: Location | None = None  # the user's line of the call being interpreted
        self.functions = function_table()

    # ------------------------------------------------------------------ names and layers

    def unique(self, base: str) -> str:
        base = base if valid_layer_name(base) else sanitize(base)
        if base not in self.used:
            self.used.add(base)
            return base
        i = 1
        while f"{base}_{i}" in self.used:
            i += 1
        self.used.add(f"{base}_{i}")
        return f"{base}_{i}"

    def scoped(self, node: Any, base: str) -> str:
        stack = node.meta.get("nn_module_stack") or {}
        prefix = next(reversed(stack), "") if stack else ""
        return f"{prefix}.{base}" if prefix else base

    def add_input(self, name: str, shape: Shape) -> TensorValue:
        name = self.unique(name if valid_symbol_name(name) else "x")
        self.inputs[name] = shape
        self.shapes[name] = shape
        return TensorValue(name)

    def constant(self, t: Any) -> TensorValue:
        """A tensor that forward makes from no input (``torch.zeros(3)``, a plain attribute)."""
        key = f"constant{id(t)}"
        if key not in self.attrs:
            self.kept.append(t)  # alive for the trace, so that its id stays its own
            self.attrs[key] = self.add_layer("constant", "Buffer", [], {"shape": list(t.shape)})
            if str(t.dtype) == "torch.bool":
                self.bool_tensors.add(self.attrs[key].name)
        return self.attrs[key]

    def shape(self, t: TensorValue) -> Shape:
        shape = self.shapes.get(t.name)
        if shape is None:
            why = self.failures.get(t.name, "its layer failed")
            raise Unsupported("upstream", f"the shape of {t.name} is needed here, but it is unknown: {why}")
        return shape

    def add_layer(self, name: str, op: str, inputs: Sequence[TensorValue], kwargs: Mapping[str, Any],
                  locs: Mapping[str, Location] | None = None) -> TensorValue:
        spec = REGISTRY[op]
        clean = {k: plain(v) for k, v in kwargs.items()}
        where = dict(locs or {})
        if "" not in where and self.node_loc is not None:
            where[""] = self.node_loc
        layer = Layer(self.unique(name), op, tuple(t.name for t in inputs), (), clean, locs=where)
        self.layers.append(layer)
        shapes = [self.shapes.get(t.name) for t in inputs]
        out: Shape | None = None
        if all(s is not None for s in shapes):
            ins = [s for s in shapes if s is not None]
            try:
                args = resolve_auto(spec, bind(spec, (), clean), ins)
                out, requirements, _ = apply_rule(spec, ins, args, self.oracle)
                if self.oracle is not None:  # later branches are asked only where the layer runs
                    for req in requirements:
                        self.oracle.assume(req.cond)
            except (ArgError, RuleError) as e:
                out = None  # `check` reports it with the full message
                self.failures[layer.name] = f"{layer.name} ({op}) {e.message}"
        else:  # an input's layer failed: say which, and why
            first = next(t.name for t, s in zip(inputs, shapes, strict=True) if s is None)
            self.failures[layer.name] = self.failures.get(first, f"{first} failed")
        self.shapes[layer.name] = out
        if op in _BOOL_OPS:
            self.bool_tensors.add(layer.name)
        return TensorValue(layer.name)

    # ------------------------------------------------------------------ dispatch

    def node(self, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.node_loc = node.meta.get("sp_location")
        if node.op == "get_attr":
            return self.get_attr(node.target)
        if node.op == "call_module":
            return self.call_module(node, args, kwargs)
        if node.op == "call_method":
            return self.call_method(node, args, kwargs)
        if node.op == "call_function":
            return self.call_function(node, args, kwargs)
        raise Unsupported("unsupported-node", f"unknown fx node kind {node.op!r}")

    def get_attr(self, target: str) -> Any:
        import torch

        if target in self.attrs:
            return self.attrs[target]
        obj: Any = self.module
        for part in target.split("."):
            obj = getattr(obj, part)
        if not isinstance(obj, torch.Tensor):
            return obj
        op = "Parameter" if isinstance(obj, torch.nn.Parameter) else "Buffer"
        kwargs: dict[str, Any] = {"shape": list(obj.shape)}
        if op == "Parameter" and not obj.requires_grad:
            kwargs["requires_grad"] = False
        t = self.add_layer(target, op, [], kwargs)
        if obj.dtype == torch.bool:
            self.bool_tensors.add(t.name)
        self.attrs[target] = t
        return t

    def call_module(self, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        sub = self.module.get_submodule(node.target)
        try:
            op, ctor = module_kwargs(sub)
        except InputError as e:
            raise Unsupported("unsupported-module",
                              f"no shape rule for module {node.target!r} "
                              f"({type(sub).__module__}.{type(sub).__qualname__})", e.hint) from None
        op, ctor = with_indices(op, ctor)
        tensors, rest = _module_call_tensors(op, args, kwargs)
        if rest:
            raise Unsupported("unsupported-call", f"module {node.target!r} ({op}) is called with arguments "
                                                  f"other than tensors ({', '.join(rest)}), which shapeplan does "
                                                  "not model")
        spec = REGISTRY[op]
        lo, hi = spec.n_inputs
        if len(tensors) < lo or (hi is not None and len(tensors) > hi):
            raise Unsupported("arity", f"module {node.target!r} ({op}) takes {lo}..{hi} tensors, got {len(tensors)}")
        built = constructor_location(self.module, node.target)
        locs = {k: built for k in ctor} if built is not None else {}
        if built is not None:
            locs["module"] = built
        out = self.add_layer(node.target, op, tensors, ctor, locs)
        if op == "MultiheadAttention" and kwargs.get("need_weights") is False:
            return (out, None)  # torch returns no weights
        return tuple_result(spec, out, second_item(self, node, spec, tensors, ctor))

    def call_method(self, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        name: str = node.target
        self_v = args[0] if args else None
        if not isinstance(self_v, TensorValue):
            raise Unsupported("unsupported-method", f"method .{name}() on a {type(self_v).__name__}, not a tensor")
        if name in SPECIAL_METHODS:
            return self.special(node, name, self_v, args[1:], kwargs)
        op = name if name in REGISTRY else name.rstrip("_") if name.endswith("_") else None
        if op is None or op not in REGISTRY or REGISTRY[op].kind != "function":
            raise Unsupported("unsupported-method", f"no shape rule for the tensor method .{name}()",
                              "see `shapeplan ops` for the supported ops")
        if op in ("max", "min") and has_dim(args[1:], kwargs):
            return self.extreme(node, op, args, kwargs)
        return self.apply(node, REGISTRY[op], None, args, kwargs)

    def extreme(self, node: Any, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Extreme:
        return extreme(self, node, op, args, kwargs)

    def call_function(self, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        fn = node.target
        if fn is operator.getitem:
            return self.getitem(node, args[0], args[1])
        if fn is getattr:
            return self.getattr_value(args[0], args[1])
        pieces = pieces_functions().get(fn) if _hashable(fn) else None
        if pieces is not None and args and isinstance(args[0], TensorValue):
            return self.pieces(node, pieces, args[0], args[1:], kwargs)
        tensors = [a for a in leaves((args, kwargs)) if isinstance(a, TensorValue)]
        if not tensors:
            if _hashable(fn) and fn in SIZE_OPS:
                return SIZE_OPS[fn](*args)
            if getattr(fn, "__module__", None) == "math" or fn in (round, abs, min, max, int, float):
                return _size_math(fn, args)
        op = self.functions.get(fn) if _hashable(fn) else None
        if op is None:
            raise Unsupported("unsupported-function", f"no shape rule for function {describe_target(fn)}",
                              "see `shapeplan ops` for the supported ops")
        if op in ("max", "min") and args and isinstance(args[0], TensorValue) and has_dim(args[1:], kwargs):
            return self.extreme(node, op, args, kwargs)
        if op == "meshgrid":
            return self.meshgrid(node, args, kwargs)
        if fn in OPERATORS and len(args) == 2 and not isinstance(args[0], TensorValue) \
                and isinstance(args[1], TensorValue):
            return self.reflected(node, op, args[0], args[1])
        return self.apply(node, REGISTRY[op], fn, args, kwargs)

    def meshgrid(self, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[TensorValue, ...]:
        """torch.meshgrid(a, b, indexing=...) (or of a list): one layer per grid it returns."""
        items = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
        if not items or not all(isinstance(t, TensorValue) for t in items) or set(kwargs) - {"indexing"}:
            raise Unsupported("unsupported-argument", "meshgrid of anything but tensors (and indexing=)")
        params = {"indexing": kwargs.get("indexing")}
        return tuple(self.add_layer(self.scoped(node, "meshgrid"), "meshgrid", items, {**params, "item": i})
                     for i in range(len(items)))

    def reflected(self, node: Any, op: str, scalar: Any, t: TensorValue) -> TensorValue:
        """``2 * x``, ``1 - x``, ``1 / x``: the scalar on the left."""
        base = self.scoped(node, op)
        if op in ("add", "mul"):
            return self.add_layer(base, op, [t], {"other": scalar})
        if op == "sub":  # c - x = (-x) + c
            neg = self.add_layer(self.scoped(node, "neg"), "neg", [t], {})
            return self.add_layer(base, "add", [neg], {"other": scalar})
        if op == "div":  # c / x = (1/x) * c
            rec = self.add_layer(self.scoped(node, "reciprocal"), "reciprocal", [t], {})
            return self.add_layer(base, "mul", [rec], {"other": scalar})
        raise Unsupported("unsupported-function", f"{op} with a number on the left and a tensor on the right")

    # ------------------------------------------------------------------ binding arguments to an op

    def apply(self, node: Any, spec: OpSpec, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TensorValue:
        inputs, params = bind_call(spec, fn, args, kwargs)
        bad = next((v for v in leaves(params) if isinstance(v, (Opaque, Pieces, Extreme))), None)
        if bad is not None:
            what = bad.what if isinstance(bad, (Opaque, Extreme)) else "a chunk/split result"
            raise Unsupported("unsupported-argument", f"{spec.name} receives {what} as an argument")
        lo, hi = spec.n_inputs
        if len(inputs) < lo or (hi is not None and len(inputs) > hi):
            raise Unsupported("arity", f"{spec.name} takes {lo}..{hi if hi is not None else 'any'} tensors, "
                                       f"got {len(inputs)}")
        glob = self.global_pool(spec.name, inputs, params)
        if glob is not None:
            return self.add_layer(self.scoped(node, glob), glob, inputs, {"output_size": 1})
        out = self.add_layer(self.scoped(node, spec.name), spec.name, inputs, params)
        return tuple_result(spec, out, second_item(self, node, spec, inputs, params))

    def global_pool(self, op: str, inputs: list[TensorValue], params: dict[str, Any]) -> str | None:
        """``F.avg_pool2d(x, x.size()[2:])`` (CBAM, older ResNets): a window as large as the
        input, stride the window, no padding: one output per channel, at every size, which
        is the adaptive pool to 1 (the same values; a symbolic window has no other rule)."""
        m = re.fullmatch(r"(avg|max)_pool([123])d", op)
        if m is None or len(inputs) != 1:
            return None
        n = int(m.group(2))
        kernel = params.get("kernel_size")
        kernel = list(kernel) if isinstance(kernel, (list, tuple)) else [kernel] * n
        if not any(isinstance(k, sympy.Expr) and k.free_symbols for k in kernel):
            return None
        shape = self.shapes.get(inputs[0].name)
        if shape is None or len(shape) < n + 1 or [norm(k) for k in kernel] != list(shape[-n:]):
            return None
        stride = params.get("stride")
        stride = None if stride in (None, []) else list(stride) if isinstance(stride, (list, tuple)) else [stride] * n
        if stride is not None and [norm(v) for v in stride] != list(shape[-n:]):
            return None
        pad, dil = params.get("padding", 0), params.get("dilation", 1)
        if any(v not in (0, 1, None) for v in leaves([dil])) or any(v not in (0, None) for v in leaves([pad])):
            return None
        if m.group(1) == "avg" and (params.get("divisor_override") is not None):
            return None
        return f"adaptive_{m.group(1)}_pool{n}d"


def _hashable(fn: Any) -> bool:
    try:
        hash(fn)
    except TypeError:
        return False
    return True


__all__ = ["Interpreter", "sanitize", "is_size"]


def _module_call_tensors(op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[TensorValue],
                                                                                           list[str]]:
    """A module call's tensors, and the arguments shapeplan cannot model (by description): an
    argument passed as None (no mask) or one that changes no shape (``need_weights=False``) is
    fine."""
    pos = list(args)
    while pos and pos[-1] is None:
        pos.pop()
    tensors = [a for a in pos if isinstance(a, TensorValue)]
    rest = [f"argument {i + 1}" for i, a in enumerate(pos) if not isinstance(a, TensorValue)]
    harmless = MODULE_CALL_HARMLESS.get(op, {})
    rest += [f"{k}={v!r}"[:40] for k, v in kwargs.items()
             if v is not None and not (isinstance(v, bool) and v in harmless.get(k, ()))]
    return tensors, rest
