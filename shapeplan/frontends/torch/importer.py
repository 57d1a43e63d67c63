"""The torch front end: an ``nn.Module`` -> :class:`~shapeplan.core.ir.Network`, through torch.fx.

The module is traced with ``torch.fx`` (in eval mode, on whatever device it lives, the meta
device included: nothing is run).  Then the graph is interpreted once, node by node, with
symbolic values:

- a tensor is the name of the layer (or input) that produces it, and its shape is known
  symbolically as soon as the layer exists (the op rules of the registry compute it);
- a size (``x.size(2)``, ``x.shape[-2:]``, ``h // 2``) is an int or a sympy expression in
  the input symbols, so ``F.pad(x1, [diff // 2, ...])`` and ``F.interpolate(x, size=...)``
  become layers with symbolic arguments;
- ``chunk``/``split``/``unbind`` become ``narrow``/``getitem`` layers, one per piece used.

Modules map to the op of their exact ``torch.nn`` class, functions and tensor methods to
the registry op of the same name (``F.relu``, ``torch.cat``, ``x.view``...), Python
operators to ``add``/``sub``/``mul``/``div``/``matmul``.  Anything else (a module, function
or method with no rule) is a diagnostic naming it and the node: nothing is silently
treated as shape-preserving.

Layers are named after the module they come from: ``layer1.0.conv1`` for a submodule, and
``layer1.0.add`` for a function called inside ``layer1.0``'s forward.
"""

from __future__ import annotations

import inspect
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy

from ...core.dims import Dim, Shape, floordiv, norm, sym, valid_symbol_name
from ...core.errors import Diagnostic, InputError, Location
from ...core.ir import Layer, Network
from ...ops import REGISTRY, OpSpec
from ...ops.ctx import ArgError, RuleCtx, RuleError
from ...ops.registry import bind, resolve_auto
from ..yaml.document import valid_layer_name
from .modules import module_kwargs

InputShape = Sequence[int | str]


@dataclass(frozen=True)
class _Tensor:
    """A tensor value: the layer or input that produces it."""

    name: str


@dataclass(frozen=True)
class _Pieces:
    """The result of chunk/split/unbind: pieces of ``src`` along ``dim``."""

    src: _Tensor
    dim: int
    pieces: tuple[tuple[int, int], ...]  # (start, length); length -1: one index (unbind)
    base: str


@dataclass(frozen=True)
class _Extreme:
    """torch.max/min(x, dim): (values, indices); shapeplan follows the values (amax/amin)."""

    values: _Tensor
    what: str


@dataclass(frozen=True)
class _Opaque:
    """A value shapeplan does not model (a dtype, a device): fine to pass, not to compute with."""

    what: str
    failed: bool = False  # the value of a node that could not be imported (already reported)


class _Unsupported(Exception):
    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


# Python operators on tensors -> registry ops
_OPERATORS: dict[Any, str] = {
    operator.add: "add", operator.iadd: "add", operator.sub: "sub", operator.isub: "sub",
    operator.mul: "mul", operator.imul: "mul", operator.truediv: "div", operator.itruediv: "div",
    operator.matmul: "matmul", operator.neg: "neg", operator.pow: "pow",
}
# method names whose value is not a tensor, or that need the importer's own handling
_SPECIAL_METHODS = {"size", "dim", "numel", "chunk", "split", "unbind", "view_as", "reshape_as", "__getitem__"}
# arguments that may be dropped without changing any shape
_HARMLESS = {"inplace"}


def _symbolic_trace(module: Any, concrete: dict[str, Any]) -> Any:
    import torch.fx as fx
    import torch.nn as nn

    class Tracer(fx.Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            # torch.nn classes are leaves (they have rules, or a clear "no rule");
            # containers and user classes (even subclasses of torch.nn ones) are traced through
            cls = type(m)
            if cls in (nn.Sequential, nn.ModuleList, nn.ModuleDict):
                return False
            return getattr(nn, cls.__name__, None) is cls

    tracer = Tracer()
    tracer.record_stack_traces = True  # so that a diagnostic can point at the line of forward
    graph = tracer.trace(module, concrete_args=concrete or None)
    return graph


def _function_table() -> dict[Any, str]:
    import torch
    import torch.nn.functional as F

    table: dict[Any, str] = {}
    for name, spec in REGISTRY.items():
        if spec.kind != "function":
            continue
        for ns in (F, torch, torch.special, torch.linalg):
            obj = getattr(ns, name, None)
            if obj is not None and callable(obj):
                try:
                    table.setdefault(obj, name)
                except TypeError:  # unhashable
                    continue
    table.update(_OPERATORS)
    return table


def _describe_target(target: Any) -> str:
    mod = getattr(target, "__module__", None) or ""
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    if mod in ("torch._C._nn", "torch._C._VariableFunctions", "torch._C._VariableFunctionsClass"):
        mod = "torch"
    return f"{mod}.{name}" if mod and mod != "builtins" else str(name)


def _is_size(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or isinstance(v, sympy.Expr)


class _Importer:
    def __init__(self, module: Any, name: str) -> None:
        self.module = module
        self.name = name
        self.layers: list[Layer] = []
        self.shapes: dict[str, Shape | None] = {}
        self.inputs: dict[str, Shape] = {}
        self.diags: list[Diagnostic] = []
        self.used: set[str] = set()
        self.attrs: dict[str, _Tensor] = {}
        self.failures: dict[str, str] = {}  # layer -> why its shape could not be computed
        self.functions = _function_table()

    # ------------------------------------------------------------------ names and layers

    def _unique(self, base: str) -> str:
        base = base if valid_layer_name(base) else _sanitize(base)
        if base not in self.used:
            self.used.add(base)
            return base
        i = 1
        while f"{base}_{i}" in self.used:
            i += 1
        self.used.add(f"{base}_{i}")
        return f"{base}_{i}"

    def _scoped(self, node: Any, base: str) -> str:
        stack = node.meta.get("nn_module_stack") or {}
        prefix = next(reversed(stack), "") if stack else ""
        return f"{prefix}.{base}" if prefix else base

    def _shape(self, t: _Tensor) -> Shape:
        shape = self.shapes.get(t.name)
        if shape is None:
            why = self.failures.get(t.name, "its layer failed")
            raise _Unsupported("upstream", f"the shape of {t.name} is needed here, but it is unknown: {why}")
        return shape

    def add_layer(self, name: str, op: str, inputs: Sequence[_Tensor], kwargs: Mapping[str, Any]) -> _Tensor:
        spec = REGISTRY[op]
        clean = {k: _plain(v) for k, v in kwargs.items()}
        layer = Layer(self._unique(name), op, tuple(t.name for t in inputs), (), clean)
        self.layers.append(layer)
        shapes = [self.shapes.get(t.name) for t in inputs]
        out: Shape | None = None
        if all(s is not None for s in shapes):
            ins = [s for s in shapes if s is not None]
            try:
                args = resolve_auto(spec, bind(spec, (), clean), ins)
                out = tuple(norm(d) for d in spec.rule(RuleCtx(), ins, args))
            except (ArgError, RuleError) as e:
                out = None  # `check` reports it with the full message
                self.failures[layer.name] = f"{layer.name} ({op}) {e.message}"
        self.shapes[layer.name] = out
        return _Tensor(layer.name)

    # ------------------------------------------------------------------ the walk

    def run(self, graph: Any, input_shapes: Mapping[str, Shape]) -> tuple[list[str], dict[str, str]]:
        env: dict[Any, Any] = {}
        for node in graph.nodes:
            if node.op == "placeholder" and node.target in input_shapes:  # others: concrete defaults
                name = self._unique(node.target if valid_symbol_name(node.target) else "x")
                self.inputs[name] = input_shapes[node.target]
                self.shapes[name] = input_shapes[node.target]
                env[node] = _Tensor(name)
        out = self._walk(graph, env)
        return self._outputs(out)

    def _walk(self, graph: Any, env: dict[Any, Any], scope: str | None = None) -> Any:
        """Interpret ``graph``'s nodes; ``env`` holds the placeholders' values.  The value of
        the output node is returned.  ``scope`` names the layers of an inlined function."""
        for node in graph.nodes:
            if node.op == "placeholder":
                continue
            if node.op == "output":
                return _map(node.args[0], env)
            args = _map(node.args, env)
            kwargs = _map(node.kwargs, env)
            if any(isinstance(v, _Opaque) and v.failed for v in _leaves((args, kwargs))):
                env[node] = _Opaque(f"the failed node {node.name}", failed=True)  # reported upstream
                continue
            if scope is not None:
                node.meta["nn_module_stack"] = {scope: (scope, None)} if scope else {}
            try:
                env[node] = self._node(node, args, kwargs)
            except _Unsupported as e:
                self.diags.append(Diagnostic("error", e.code, f"node {node.name!r}: {e.message}", layer=node.name,
                                             hint=e.hint, location=_source_location(node)))
                env[node] = _Opaque(f"the failed node {node.name}", failed=True)
        return None

    def _inline(self, node: Any, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A Python function that torch.fx kept as a leaf (``torch.fx.wrap``): trace its body
        with the tensors as placeholders and the other arguments as the values they have."""
        import torch.fx as fx
        from torch import nn

        slots: list[_Tensor] = []

        def swap(v: Any, proxies: list[Any]) -> Any:
            if isinstance(v, _Tensor):
                slots.append(v)
                return proxies[len(slots) - 1]
            if isinstance(v, (list, tuple)):
                return type(v)(swap(x, proxies) for x in v)
            if isinstance(v, dict):
                return {k: swap(x, proxies) for k, x in v.items()}
            return v

        n_tensors = sum(isinstance(v, _Tensor) for v in _leaves((args, kwargs)))
        tracer = fx.Tracer()
        tracer.root = nn.Module()
        tracer.graph = fx.Graph(tracer_cls=type(tracer))
        tracer.tensor_attrs = {}
        proxies = [tracer.create_proxy("placeholder", f"t{i}", (), {}) for i in range(n_tensors)]
        try:
            new_args = swap(args, proxies)
            new_kwargs = swap(kwargs, proxies)
            result = fn(*new_args, **new_kwargs)
            tracer.create_node("output", "output", (tracer.create_arg(result),), {})
        except Exception:  # noqa: BLE001 - not traceable: reported as a function with no rule
            return None
        env: dict[Any, Any] = {}
        placeholders = [n for n in tracer.graph.nodes if n.op == "placeholder"]
        for ph, t in zip(placeholders, slots):
            env[ph] = t
        stack = node.meta.get("nn_module_stack") or {}
        scope = next(reversed(stack), "") if stack else ""
        return self._walk(tracer.graph, env, scope)

    def _outputs(self, value: Any) -> tuple[list[str], dict[str, str]]:
        found: list[tuple[str, str]] = []

        def walk(v: Any, key: str) -> None:
            if isinstance(v, _Tensor):
                found.append((key, v.name))
            elif isinstance(v, Mapping):
                for k, x in v.items():
                    walk(x, f"{key}.{k}" if key else str(k))
            elif isinstance(v, (list, tuple)):
                for i, x in enumerate(v):
                    walk(x, f"{key}.{i}" if key else str(i))

        walk(value, "")
        if not found and not any(d.severity == "error" for d in self.diags):
            self.diags.append(Diagnostic("error", "no-output", "the module returns no tensor",
                                         hint="shapeplan follows the tensors the forward returns"))
        names: list[str] = []
        for _, n in found:
            if n not in names:
                names.append(n)
        return names, {k: n for k, n in found if k}

    def _node(self, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if node.op == "get_attr":
            return self._get_attr(node.target)
        if node.op == "call_module":
            return self._call_module(node, args, kwargs)
        if node.op == "call_method":
            return self._call_method(node, args, kwargs)
        if node.op == "call_function":
            return self._call_function(node, args, kwargs)
        raise _Unsupported("unsupported-node", f"unknown fx node kind {node.op!r}")

    def _get_attr(self, target: str) -> Any:
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
        t = self.add_layer(_attr_name(target), op, [], kwargs)
        self.attrs[target] = t
        return t

    def _call_module(self, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        sub = self.module.get_submodule(node.target)
        try:
            op, ctor = module_kwargs(sub)
        except InputError as e:
            raise _Unsupported("unsupported-module",
                               f"no shape rule for module {node.target!r} "
                               f"({type(sub).__module__}.{type(sub).__qualname__})",
                               e.hint) from None
        tensors = [a for a in args if isinstance(a, _Tensor)]
        if len(tensors) != len(args) or kwargs:
            raise _Unsupported("unsupported-call", f"module {node.target!r} ({op}) is called with arguments "
                                                   "other than tensors, which shapeplan does not model")
        spec = REGISTRY[op]
        lo, hi = spec.n_inputs
        if len(tensors) < lo or (hi is not None and len(tensors) > hi):
            raise _Unsupported("arity", f"module {node.target!r} ({op}) takes {lo}..{hi} tensors, "
                                        f"got {len(tensors)}")
        return self.add_layer(node.target, op, tensors, ctor)

    def _call_method(self, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        name: str = node.target
        self_v = args[0] if args else None
        if not isinstance(self_v, _Tensor):
            raise _Unsupported("unsupported-method", f"method .{name}() on a {type(self_v).__name__}, not a tensor")
        if name in _SPECIAL_METHODS:
            return self._special(node, name, self_v, args[1:], kwargs)
        op = name if name in REGISTRY else name.rstrip("_") if name.endswith("_") else None
        if op is None or op not in REGISTRY or REGISTRY[op].kind != "function":
            raise _Unsupported("unsupported-method", f"no shape rule for the tensor method .{name}()",
                               "see `shapeplan ops` for the supported ops")
        if op in ("max", "min") and _has_dim(args[1:], kwargs):
            return self._extreme(node, op, args, kwargs)
        return self._apply(node, REGISTRY[op], None, args, kwargs)

    def _extreme(self, node: Any, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Extreme:
        x, rest = args[0], list(args[1:])
        dim = rest.pop(0) if rest else kwargs.get("dim")
        keepdim = rest.pop(0) if rest else kwargs.get("keepdim", False)
        values = self.add_layer(self._scoped(node, "a" + op), "a" + op, [x], {"dim": dim, "keepdim": keepdim})
        return _Extreme(values, f"torch.{op}(x, dim)")

    def _call_function(self, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        fn = node.target
        if fn is operator.getitem:
            return self._getitem(node, args[0], args[1])
        if fn is getattr:
            return self._getattr_value(args[0], args[1])
        pieces = _pieces_function(fn)
        if pieces is not None and args and isinstance(args[0], _Tensor):
            return self._pieces(node, pieces, args[0], args[1:], kwargs)
        tensors = [a for a in _leaves((args, kwargs)) if isinstance(a, _Tensor)]
        if not tensors and fn in _SIZE_OPS:
            return _SIZE_OPS[fn](*args)
        try:
            op = self.functions.get(fn)
        except TypeError:
            op = None
        if op is None and _inlinable(fn):
            inlined = self._inline(node, fn, args, kwargs)
            if inlined is not None:
                return inlined
        if op is None:
            hint = None
            if getattr(fn, "__name__", "") in ("_assert", "_assert_async"):
                hint = "torch._assert checks values at run time; remove it from the traced module or wrap it"
            raise _Unsupported("unsupported-function", f"no shape rule for function {_describe_target(fn)}",
                               hint or "see `shapeplan ops` for the supported ops")
        if op in ("max", "min") and args and isinstance(args[0], _Tensor) and _has_dim(args[1:], kwargs):
            return self._extreme(node, op, args, kwargs)
        if fn in _OPERATORS and len(args) == 2 and not isinstance(args[0], _Tensor) and isinstance(args[1], _Tensor):
            return self._reflected(node, op, args[0], args[1])
        return self._apply(node, REGISTRY[op], fn, args, kwargs)

    def _reflected(self, node: Any, op: str, scalar: Any, t: _Tensor) -> _Tensor:
        """``2 * x``, ``1 - x``, ``1 / x``: the scalar on the left."""
        base = self._scoped(node, op)
        if op in ("add", "mul"):
            return self.add_layer(base, op, [t], {"other": scalar})
        if op == "sub":  # c - x = (-x) + c
            neg = self.add_layer(self._scoped(node, "neg"), "neg", [t], {})
            return self.add_layer(base, "add", [neg], {"other": scalar})
        if op == "div":  # c / x = (1/x) * c
            rec = self.add_layer(self._scoped(node, "reciprocal"), "reciprocal", [t], {})
            return self.add_layer(base, "mul", [rec], {"other": scalar})
        raise _Unsupported("unsupported-function", f"{op} with a number on the left and a tensor on the right")

    # ------------------------------------------------------------------ binding arguments to an op

    def _apply(self, node: Any, spec: OpSpec, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Tensor:
        inputs, params = _bind_call(spec, fn, args, kwargs)
        if any(isinstance(v, (_Opaque, _Pieces)) for v in _leaves(params)):
            bad = next(v for v in _leaves(params) if isinstance(v, (_Opaque, _Pieces)))
            what = bad.what if isinstance(bad, _Opaque) else "a chunk/split result"
            raise _Unsupported("unsupported-argument", f"{spec.name} receives {what} as an argument")
        lo, hi = spec.n_inputs
        if len(inputs) < lo or (hi is not None and len(inputs) > hi):
            raise _Unsupported("arity", f"{spec.name} takes {lo}..{hi if hi is not None else 'any'} tensors, "
                                        f"got {len(inputs)}")
        glob = self._global_pool(spec.name, inputs, params)
        if glob is not None:
            return self.add_layer(self._scoped(node, glob), glob, inputs, {"output_size": 1})
        return self.add_layer(self._scoped(node, spec.name), spec.name, inputs, params)

    def _global_pool(self, op: str, inputs: list[_Tensor], params: dict[str, Any]) -> str | None:
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
        if any(v not in (0, 1, None) for v in _leaves([dil])) or any(v not in (0, None) for v in _leaves([pad])):
            return None
        if m.group(1) == "avg" and (params.get("divisor_override") is not None):
            return None
        return f"adaptive_{m.group(1)}_pool{n}d"

    # ------------------------------------------------------------------ sizes, indexing, pieces

    def _getattr_value(self, obj: Any, attr: str) -> Any:
        if isinstance(obj, _Extreme):
            if attr == "values":
                return obj.values
            raise _Unsupported("unsupported-index", f"the {attr!r} of {obj.what} (shapeplan follows the values)")
        if isinstance(obj, _Tensor):
            if attr == "shape":
                return tuple(self._shape(obj))
            if attr == "ndim":
                return len(self._shape(obj))
            if attr in ("dtype", "device", "layout", "is_cuda", "requires_grad"):
                return _Opaque(f"the tensor attribute .{attr}")
            if attr == "T":
                raise _Unsupported("unsupported-method", "the tensor attribute .T has no rule; use .permute")
            raise _Unsupported("unsupported-method", f"the tensor attribute .{attr}")
        try:
            return getattr(obj, attr)
        except AttributeError:
            raise _Unsupported("unsupported-function", f"getattr({type(obj).__name__}, {attr!r})") from None

    def _special(self, node: Any, name: str, t: _Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        shape = self._shape(t)
        if name == "size":
            d = args[0] if args else kwargs.get("dim")
            return tuple(shape) if d is None else shape[_dim_index(d, len(shape))]
        if name == "dim":
            return len(shape)
        if name == "numel":
            return norm(_prod(shape))
        if name in ("view_as", "reshape_as"):
            other = args[0] if args else kwargs.get("other")
            if not isinstance(other, _Tensor):
                raise _Unsupported("unsupported-method", f".{name}() needs a tensor")
            op = "view" if name == "view_as" else "reshape"
            return self.add_layer(self._scoped(node, op), op, [t], {REGISTRY[op].params[0].name: list(self._shape(other))})
        if name in ("chunk", "split", "unbind"):
            return self._pieces(node, name, t, args, kwargs)
        raise _Unsupported("unsupported-method", f"no shape rule for the tensor method .{name}()")

    def _pieces(self, node: Any, how: str, t: _Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Pieces:
        shape = self._shape(t)
        if how == "unbind":
            dim = _dim_index(args[0] if args else kwargs.get("dim", 0), len(shape))
            n = shape[dim]
            if not isinstance(n, int):
                raise _Unsupported("symbolic-split", f"unbind along dim {dim} of symbolic size {n}")
            return _Pieces(t, dim, tuple((i, -1) for i in range(n)), self._scoped(node, how))
        first = args[0] if args else kwargs.get("chunks", kwargs.get("split_size_or_sections", kwargs.get("split_size")))
        dim = _dim_index(args[1] if len(args) > 1 else kwargs.get("dim", 0), len(shape))
        size = shape[dim]
        if not isinstance(size, int):
            raise _Unsupported("symbolic-split", f"{how} along dim {dim}, whose size {size} depends on the input "
                                                 "size", "shapeplan splits only dims of a fixed size (channels)")
        if how == "chunk":
            if not isinstance(first, int) or first < 1:
                raise _Unsupported("bad-argument", f"chunk expects a positive number of chunks, got {first!r}")
            step = -(-size // first) if size else 0
            sizes = [min(step, size - s) for s in range(0, size, step)] if step else [0] * first
        elif isinstance(first, int):
            if first < 1 and size:
                raise _Unsupported("bad-argument", f"split size must be positive, got {first}")
            sizes = [min(first, size - s) for s in range(0, size, first)] if size else [0]
        else:
            if not isinstance(first, (list, tuple)) or not all(isinstance(v, int) for v in first):
                raise _Unsupported("bad-argument", f"split sizes must be ints, got {first!r}")
            sizes = [int(v) for v in first]
            if sum(sizes) != size:
                raise _Unsupported("split-sizes", f"split sizes {sizes} do not add up to the size {size} of dim {dim}")
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return _Pieces(t, dim, tuple(zip(starts, sizes)), self._scoped(node, how))

    def _getitem(self, node: Any, obj: Any, index: Any) -> Any:
        if isinstance(obj, _Extreme):
            if index == 0:
                return obj.values
            raise _Unsupported("unsupported-index", f"item {index!r} of {obj.what} (shapeplan follows the values)")
        if isinstance(obj, _Pieces):
            if not isinstance(index, int):
                raise _Unsupported("unsupported-index", f"indexing {obj.base} with {index!r}")
            if not -len(obj.pieces) <= index < len(obj.pieces):
                raise _Unsupported("index", f"{obj.base} has {len(obj.pieces)} pieces, index {index} is out of range")
            start, length = obj.pieces[index]
            i = index % len(obj.pieces)
            if length < 0:  # unbind: select one index
                idx: list[Any] = [":"] * obj.dim + [start]
                return self.add_layer(f"{obj.base}.{i}", "getitem", [obj.src], {"index": idx})
            return self.add_layer(f"{obj.base}.{i}", "narrow", [obj.src], {"dim": obj.dim, "start": start,
                                                                            "length": length})
        if isinstance(obj, _Tensor):
            items = index if isinstance(index, tuple) else (index,)
            return self.add_layer(self._scoped(node, "getitem"), "getitem", [obj], {"index": [_index_item(x) for x in items]})
        if isinstance(obj, (tuple, list, Mapping)):
            try:
                return obj[index]
            except (IndexError, KeyError, TypeError) as e:
                raise _Unsupported("index", f"cannot index {type(obj).__name__} with {index!r}: {e}") from None
        raise _Unsupported("unsupported-index", f"indexing a {type(obj).__name__}")


# ---------------------------------------------------------------------- helpers


def _pieces_function(fn: Any) -> str | None:
    """torch.split / torch.chunk / torch.unbind as functions (tensor methods go elsewhere)."""
    import torch

    for name in ("split", "chunk", "unbind"):
        if fn is getattr(torch, name, None):
            return name
    return None


def _has_dim(rest: Sequence[Any], kwargs: Mapping[str, Any]) -> bool:
    """torch.max(x, dim) (a reduction with indices), not torch.max(x) or torch.max(x, y)."""
    if "dim" in kwargs:
        return True
    return bool(rest) and isinstance(rest[0], int) and not isinstance(rest[0], bool)


def _source_location(node: Any) -> Location | None:
    """The line of the user's Python code that made ``node`` (from fx's stack trace)."""
    trace = getattr(node, "stack_trace", None) or ""
    found = re.findall(r'File "([^"]+)", line (\d+)', trace)
    if not found:
        return None
    import torch

    root = str(__import__("pathlib").Path(torch.__file__).parent)
    mine = [(f, n) for f, n in found if not f.startswith(root)]
    if not mine:
        return None
    file, line = mine[-1]
    return Location(file, int(line))


def _inlinable(fn: Any) -> bool:
    """A plain Python function outside torch (e.g. one registered with ``torch.fx.wrap``)."""
    mod = getattr(fn, "__module__", "") or ""
    return inspect.isfunction(fn) and not mod.startswith("torch")


def _index_item(x: Any) -> Any:
    if x is None or (isinstance(x, int) and not isinstance(x, bool)):
        return x
    if x is Ellipsis:
        return "..."
    if isinstance(x, slice):
        parts = [x.start, x.stop, x.step]
        if not all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
            raise _Unsupported("unsupported-index", f"a slice with non-integer bounds {x}")
        text = ":".join("" if p is None else str(p) for p in parts[:2])
        return text + (f":{x.step}" if x.step is not None else "")
    raise _Unsupported("unsupported-index", f"indexing a tensor with {type(x).__name__} (advanced indexing)")


def _size_floordiv(a: Any, b: Any) -> Any:
    if isinstance(a, float) or isinstance(b, float):
        return a // b
    return floordiv(a, b)


def _size_mod(a: Any, b: Any) -> Any:
    if isinstance(a, float) or isinstance(b, float):
        return a % b
    return norm(a - b * floordiv(a, b))


def _size_truediv(a: Any, b: Any) -> Any:
    if isinstance(a, sympy.Expr) or isinstance(b, sympy.Expr):
        return sympy.Rational(1, 1) * a / b
    return a / b


_SIZE_OPS: dict[Any, Any] = {
    operator.add: lambda a, b: _size_arith(a, b, operator.add),
    operator.sub: lambda a, b: _size_arith(a, b, operator.sub),
    operator.mul: lambda a, b: _size_arith(a, b, operator.mul),
    operator.floordiv: _size_floordiv,
    operator.mod: _size_mod,
    operator.truediv: _size_truediv,
    operator.neg: lambda a: norm(-a) if _is_size(a) else -a,
}


def _size_arith(a: Any, b: Any, f: Any) -> Any:
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return f(a, b)  # torch.Size + tuple, tuple * 2
    r = f(a, b)
    return norm(r) if isinstance(r, sympy.Expr) else r


def _prod(shape: Iterable[Dim]) -> Dim:
    out: Dim = 1
    for d in shape:
        out = out * d
    return out


def _dim_index(d: Any, rank: int) -> int:
    if not isinstance(d, int) or isinstance(d, bool) or not -rank <= d < max(rank, 1):
        raise _Unsupported("dim", f"dim {d!r} is out of range for a tensor with {rank} dims")
    return d % rank if rank else 0


def _map(v: Any, env: Mapping[Any, Any]) -> Any:
    import torch.fx as fx

    if isinstance(v, fx.Node):
        return env[v]
    if isinstance(v, tuple):
        return tuple(_map(x, env) for x in v)
    if isinstance(v, list):
        return [_map(x, env) for x in v]
    if isinstance(v, dict):
        return {k: _map(x, env) for k, x in v.items()}
    if isinstance(v, slice):
        return slice(_map(v.start, env), _map(v.stop, env), _map(v.step, env))
    return v


def _leaves(v: Any) -> Iterable[Any]:
    if isinstance(v, (list, tuple)):
        for x in v:
            yield from _leaves(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from _leaves(x)
    else:
        yield v


def _plain(v: Any) -> Any:
    """Arguments as YAML-able values: tuples -> lists, torch.Size -> list, sympy kept."""
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, sympy.Integer):
        return int(v)
    return v


def _sanitize(name: str) -> str:
    parts = [p if (p.isidentifier() or p.isdigit()) else "".join(c if c.isalnum() and c.isascii() else "_" for c in p)
             for p in name.split(".") if p]
    parts = [p or "_" for p in parts] or ["layer"]
    if not parts[0].isidentifier():
        parts.insert(0, "layers")
    out = ".".join(parts)[:200]
    return out if valid_layer_name(out) else "layer"


def _attr_name(target: str) -> str:
    return target


def _bind_call(spec: OpSpec, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[_Tensor], dict[str, Any]]:
    """Split a call's arguments into tensor inputs and the op's parameters, by name where
    the function has a Python signature, else by position (tensors first, then the op's
    parameters in torch's order)."""
    sig = _signature(fn)
    inputs: list[_Tensor] = []
    params: dict[str, Any] = {}
    if sig is not None:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            raise _Unsupported("bad-argument", f"{spec.name}: {e}") from None
        items = list(bound.arguments.items())
        for i, (pname, value) in enumerate(items):
            if value is None and spec.param(pname) is None and any(isinstance(v, _Tensor) for _, v in items[i + 1:]):
                later = next(k for k, v in items[i + 1:] if isinstance(v, _Tensor))
                raise _Unsupported("unsupported-argument", f"{spec.name} with {pname}=None but a tensor {later}: "
                                                           "shapeplan passes optional tensors by position")
            _take(spec, pname, value, sig.parameters[pname].default, inputs, params)
        return inputs, params
    pos = list(args)
    if spec.call_style == "list":
        first = pos.pop(0) if pos else kwargs.pop("tensors", [])
        inputs = [t for t in first if isinstance(t, _Tensor)]
        if len(inputs) != len(first):
            raise _Unsupported("unsupported-argument", f"{spec.name} of a list that holds non-tensors")
    elif spec.call_style == "method_star":
        if pos and isinstance(pos[0], _Tensor):
            inputs.append(pos.pop(0))
        first = spec.params[0].name
        if first in kwargs:
            params[first] = kwargs.pop(first)
        else:
            params[first] = list(pos[0]) if len(pos) == 1 and isinstance(pos[0], (list, tuple)) else pos
        pos = []
    else:
        hi = spec.n_inputs[1]
        while pos and isinstance(pos[0], _Tensor) and (hi is None or len(inputs) < hi):
            inputs.append(pos.pop(0))
    names = [p.name for p in spec.params if p.name not in params]
    if len(pos) > len(names):
        raise _Unsupported("bad-argument", f"{spec.name} takes {len(names)} arguments besides its tensors, "
                                           f"got {len(pos)}")
    for pname, value in zip(names, pos):
        _take(spec, pname, value, inspect.Parameter.empty, inputs, params)
    for pname, value in kwargs.items():
        _take(spec, pname, value, inspect.Parameter.empty, inputs, params)
    return inputs, params


def _take(spec: OpSpec, pname: str, value: Any, default: Any, inputs: list[_Tensor], params: dict[str, Any]) -> None:
    if isinstance(value, _Tensor):
        if spec.param(pname) is not None:
            raise _Unsupported("unsupported-argument", f"{spec.name}: a tensor as {pname!r} (a size or number "
                                                       "is expected)")
        inputs.append(value)
        return
    if spec.param(pname) is not None:
        params[pname] = value
        return
    if pname in _HARMLESS or value is None or (default is not inspect.Parameter.empty and _equal(value, default)):
        return
    raise _Unsupported("unsupported-argument", f"{spec.name}: argument {pname}={value!r} has no rule")


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - tensors and other odd defaults
        return False


def _signature(fn: Any) -> inspect.Signature | None:
    if fn is None or fn in _OPERATORS or not inspect.isfunction(fn):
        return None
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values()):
        return None
    return sig


def _input_shapes(placeholders: list[Any], input_shape: Any) -> tuple[dict[str, Shape], dict[str, Any]]:
    """Shapes for the forward's parameters; the others are traced at their defaults."""
    if isinstance(input_shape, Mapping):
        given = {str(k): v for k, v in input_shape.items()}
    elif input_shape and all(isinstance(s, (list, tuple)) for s in input_shape):
        given = {p.target: s for p, s in zip(placeholders, input_shape)}
    else:
        given = {placeholders[0].target: input_shape} if placeholders else {}
    shapes: dict[str, Shape] = {}
    for name, shape in given.items():
        if not isinstance(shape, (list, tuple)):
            raise InputError(f"the input shape of {name!r} must be a list of sizes, got {shape!r}", code="bad-input")
        dims: list[Dim] = []
        for d in shape:
            if isinstance(d, str):
                if not valid_symbol_name(d):
                    raise InputError(f"{d!r} is not a valid symbol name", code="bad-input",
                                     hint="use names such as N, H, W")
                dims.append(sym(d))
            elif isinstance(d, int) and not isinstance(d, bool) and d >= 0:
                dims.append(d)
            else:
                raise InputError(f"a size must be a non-negative int or a symbol name, got {d!r}", code="bad-input")
        shapes[name] = tuple(dims)
    return shapes, {}


def from_torch(module: Any, input_shape: Any = ("N", 3, "H", "W"), *, name: str | None = None) -> Network:
    """Trace ``module`` with torch.fx and return its :class:`Network`.

    ``input_shape``: the shape of the forward's first argument, ints and symbol names
    (``("N", 3, "H", "W")``); for several tensor arguments, a list of shapes or a dict from
    argument name to shape.  Other arguments of ``forward`` keep their default values.  The
    module is traced in eval mode (the mode shapeplan's domain is about) and put back in
    the mode it was in; it may live on any device, ``meta`` included.
    """
    import torch.fx as fx
    import torch.nn as nn

    if not isinstance(module, nn.Module):
        raise InputError(f"from_torch expects an nn.Module, got {type(module).__name__}", code="bad-input")
    sig = inspect.signature(module.forward)
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    fake = [type("P", (), {"target": p.name})() for p in params]
    shapes, _ = _input_shapes(fake, input_shape)
    unknown = [k for k in shapes if k not in {p.name for p in params}]
    if unknown:
        raise InputError(f"forward() has no argument {unknown[0]!r}", code="bad-input",
                         hint=f"its arguments are: {', '.join(p.name for p in params)}")
    concrete: dict[str, Any] = {}
    for p in params:
        if p.name in shapes:
            continue
        if p.default is inspect.Parameter.empty:
            raise InputError(f"no input shape for forward()'s argument {p.name!r}", code="bad-input",
                             hint="pass input_shape as a dict {argument: shape} or a list of shapes")
        concrete[p.name] = p.default
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        graph = _symbolic_trace(module, concrete)
    except Exception as e:  # noqa: BLE001 - torch.fx raises many kinds of errors
        raise InputError(f"torch.fx could not trace {type(module).__name__}: {type(e).__name__}: {e}"[:1000],
                         code="trace", hint="shapeplan needs a module that torch.fx.symbolic_trace can trace "
                                            "(no Python control flow on tensor values or sizes)") from None
    finally:
        for m, mode in modes:  # every submodule back in its own mode
            m.training = mode
    net_name = name or type(module).__name__
    if not valid_symbol_name(net_name):
        net_name = "Net"
    imp = _Importer(module, net_name)
    del fx
    outputs, _keys = imp.run(graph, shapes)
    errors = [d for d in imp.diags if d.severity == "error"]
    if errors:
        raise InputError(f"cannot import {type(module).__name__}: {errors[0].message}", code=errors[0].code,
                         diagnostics=imp.diags)
    net = Network(net_name, imp.inputs, tuple(imp.layers), tuple(outputs), {}, None)
    notes = [d for d in imp.diags if d.severity != "error"] + _unused_modules(module, net)
    if notes:
        object.__setattr__(net, "_load_diagnostics", tuple(notes))
    return net


def _unused_modules(module: Any, net: Network) -> list[Diagnostic]:
    """Submodules with parameters that the traced forward never reaches (an auxiliary
    classifier used only in training): a note, since their parameters are not counted."""
    names = {layer.name for layer in net.layers}
    used = set(names)
    for n in names:
        parts = n.split(".")
        used.update(".".join(parts[:i]) for i in range(1, len(parts)))
    out: list[Diagnostic] = []
    for qual, child in module.named_children():
        if qual in used:
            continue
        count = sum(p.numel() for p in child.parameters())
        if count:
            out.append(Diagnostic("note", "unused-module",
                                  f"module {qual!r} ({type(child).__name__}, {count:,} parameters) is not used by "
                                  "forward in eval mode; it is not part of the imported network"))
    return out
