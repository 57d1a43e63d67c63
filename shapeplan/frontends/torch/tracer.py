"""Tracing forward with sizes that are formulas, and questions about them that are decisions.

A torch.fx tracer whose proxies carry shapeplan's values (imports torch; imported only when a
module is traced).  Every call forward makes is interpreted the moment it is made
(:class:`~.interpreter.Interpreter`), so that forward may look at what it computed:

- ``x.shape``, ``x.size(2)``, ``x.ndim`` are plain ints where the size is fixed, and
  :class:`SizeProxy` where it depends on the input size (``H // 2``): arithmetic on them
  stays a formula, ``math.ceil(h / 32)`` too;
- a question Python must answer (``if h % 32:``, ``assert x.shape[1] == 3``, ``torch._assert``,
  ``x.shape[-2:] != skip.shape[-2:]``) goes to the run's
  :class:`~shapeplan.analysis.region.Decider`: answered where the sizes of this path agree,
  else a decision point, whose other side is traced by another run;
- a ``raise`` or a failed assert on a path makes that path's sizes a refusal of the model.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import sympy
import torch
import torch.fx as fx
import torch.nn as nn

from ...analysis.region import Decider
from ...core.conditions import eq
from ...core.dims import Shape, fmt
from ...core.errors import Diagnostic
from ...ops import REGISTRY
from .interpreter import Interpreter
from .locate import caller_location, node_location
from .modules import is_leaf_module
from .values import Deferred, Extreme, Opaque, Pieces, SizeTest, TensorValue, Unsupported, is_symbolic, leaves


class _ValuesIndices(NamedTuple):
    """What torch.max(x, dim) returns: ``values`` (followed) and ``indices``."""

    values: Any
    indices: Any


class Stop(Exception):
    """Ends a path: a call shapeplan cannot follow (the diagnostic is already recorded)."""


class TensorProxy(fx.Proxy):
    """A tensor of the traced forward: a layer's output, with its symbolic shape."""

    def __init__(self, node: fx.Node, tracer: LiveTracer, value: TensorValue | Opaque | Deferred) -> None:
        super().__init__(node, tracer)
        self._sp_value = value

    @property
    def sp_value(self) -> TensorValue | Opaque:
        """The layer (or opaque value) this proxy stands for; a deferred one is made now."""
        if isinstance(self._sp_value, Deferred):
            self._sp_value = self._sp_value.get()
        return self._sp_value

    def __getattr__(self, k: str) -> Any:
        tracer: LiveTracer = self.tracer  # type: ignore[assignment]
        if k == "shape":
            return tracer.shape_of(self)
        if k == "ndim":
            return len(tracer.shape_of(self))
        if k in ("T", "mT", "mH", "H"):
            return tracer.transposed(self, k)
        if k == "dtype":
            return tracer.dtype
        if k == "device":
            return tracer.device
        if k == "layout":
            return torch.strided
        if k in ("is_cuda", "requires_grad", "is_sparse", "is_quantized", "is_meta", "is_nested", "is_mkldnn"):
            return tracer.device.type == "meta" if k == "is_meta" else tracer.device.type == "cuda" if k == "is_cuda" \
                else False
        if k == "grad_fn":
            return None
        return super().__getattr__(k)

    def __len__(self) -> int:
        shape = self.tracer.shape_of(self)  # type: ignore[attr-defined]
        if not shape:
            raise TypeError("len() of a 0-d tensor")
        if isinstance(shape[0], SizeProxy):
            raise Unsupported("symbolic-int", f"len() of a tensor whose first dim is {shape[0]}, which depends on the "
                                              "input size", "use x.shape[0] or x.size(0)")
        return int(shape[0])

    def __setitem__(self, key: Any, value: Any) -> None:
        """``x[a:b, ..., c:d] = number`` leaves x's shape as it is and cannot fail (slices never
        raise); other item assignments (an integer or tensor index, a tensor value, whose
        shapes torch checks) are refused."""
        keys = key if isinstance(key, tuple) else (key,)
        if isinstance(value, (bool, int, float)) and all(
                k is None or k is Ellipsis or (isinstance(k, slice) and all(
                    b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in (k.start, k.stop, k.step))
                    and k.step in (None, 1)) for k in keys):
            return
        raise Unsupported("unsupported-method", "item assignment into a tensor (x[...] = v) other than a number "
                                                "into slices")

    def __repr__(self) -> str:
        return f"TensorProxy({self.node.name})"


class SizeProxy(fx.Proxy):
    """A size (or a comparison of sizes) that depends on the input size."""

    def __init__(self, node: fx.Node, tracer: LiveTracer, value: Any) -> None:
        super().__init__(node, tracer)
        self.sp_value = value

    def _plain(self, what: str) -> Any:
        raise Unsupported("symbolic-int", f"the size {self} depends on the input size, but is used where Python "
                                          f"needs a plain {what}",
                          "keep sizes as they are (x.size(2) // 2) instead of int(...), or pin the input size")

    def __index__(self) -> int:
        return self._plain("int")  # type: ignore[no-any-return]

    def __int__(self) -> int:
        return self._plain("int")  # type: ignore[no-any-return]

    def __float__(self) -> float:
        return self._plain("number")  # type: ignore[no-any-return]

    def __str__(self) -> str:
        return str(self.sp_value) if isinstance(self.sp_value, SizeTest) else fmt(self.sp_value)

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _inlinable(fn: Any) -> bool:
    """A plain Python function outside torch (one registered with ``torch.fx.wrap``)."""
    import inspect

    mod = (getattr(fn, "__module__", "") or "").split(".")[0]
    return inspect.isfunction(fn) and mod not in ("torch", "shapeplan")


class LiveTracer(fx.Tracer):
    """torch.fx's tracer, interpreting each call as it is recorded (see the module docstring)."""

    def __init__(self, interp: Interpreter, decider: Decider, inputs: Mapping[str, Shape], device: Any) -> None:
        super().__init__(autowrap_modules=(math,))
        self.record_stack_traces = False  # the user's line is found by a cheap walk (caller_location)
        self.interp, self.decider, self.input_shapes = interp, decider, inputs
        self.device = device
        self.dtype = torch.get_default_dtype()
        self.returned: Any = None
        self.interpreting = False  # module attributes are plain values while a call is interpreted
        self.concrete: dict[str, Any] = {}

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return is_leaf_module(m)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
        if self.interpreting:
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    # ------------------------------------------------------------------ the values of calls

    def create_proxy(self, kind: str, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                     name: str | None = None, type_expr: Any | None = None, proxy_factory_fn: Any = None) -> Any:
        if kind == "call_function" and target is torch._assert:
            return self.model_assert(*args, **kwargs)
        if kind == "call_function" and _inlinable(target):
            return target(*args, **kwargs)
        node = super().create_proxy(kind, target, args, kwargs, name, type_expr).node
        node.meta["sp_location"] = caller_location()
        if kind == "placeholder":
            shape = self.input_shapes.get(str(target))
            if shape is None:
                return fx.Proxy(node, self)
            return TensorProxy(node, self, self.interp.add_input(str(target), shape))
        try:
            vargs, vkwargs = self.unwrap(args), self.unwrap(kwargs)
            if any(isinstance(v, Opaque) and v.failed for v in leaves((vargs, vkwargs))):
                return TensorProxy(node, self, Opaque(f"the failed node {node.name}", failed=True))
            self.interpreting = True
            try:
                value = self.interp.node(node, vargs, vkwargs)
            finally:
                self.interpreting = False
        except Unsupported as e:
            self.interp.diags.append(Diagnostic("error", e.code, f"node {node.name!r}: {e.message}", layer=node.name,
                                                hint=e.hint, location=node_location(node)))
            return TensorProxy(node, self, Opaque(f"the failed node {node.name}", failed=True))
        return self.wrap(node, value)

    def unwrap(self, v: Any) -> Any:
        """A call's argument as shapeplan's value (a tensor constant becomes a Buffer layer)."""
        if isinstance(v, (TensorProxy, SizeProxy)):
            if v.tracer is not self:
                raise Unsupported("state", "forward uses a value kept from an earlier call (a cache in a module's "
                                           "attributes?): shapeplan traces forward afresh for each path",
                                  "compute the value in forward, or keep it in a buffer")
            return v.sp_value
        if isinstance(v, fx.Proxy):
            raise Unsupported("unsupported-method", f"the value {v.node.name} ({v.node.target}) of a traced call")
        if isinstance(v, torch.Tensor):
            return self.interp.constant(v)
        if isinstance(v, torch.Size):
            return tuple(int(x) for x in v)
        if isinstance(v, tuple):
            return tuple(self.unwrap(x) for x in v)
        if isinstance(v, list):
            return [self.unwrap(x) for x in v]
        if isinstance(v, dict):
            return {k: self.unwrap(x) for k, x in v.items()}
        if isinstance(v, slice):
            return slice(self.unwrap(v.start), self.unwrap(v.stop), self.unwrap(v.step))
        return v

    def _proxy_placeholder(self, name: str, concrete_args: Any, sig: Any, fn_for_analysis: Any) -> Any:
        """forward's arguments: the shaped ones are placeholders, the others keep their
        default values (no guard nodes), and ``*args`` / ``**kwargs`` are empty."""
        if name.startswith("**"):
            return {}
        if name.startswith("*"):
            return ()
        if name in self.concrete:
            return self.concrete[name]
        return super()._proxy_placeholder(name, None, sig, fn_for_analysis)

    def create_args_for_root(self, root_fn: Any, is_module: bool, concrete_args: Any = None) -> tuple[Any, Any]:
        fn, args = super().create_args_for_root(root_fn, is_module, concrete_args)

        def capture(*a: Any) -> None:  # keep what forward returns as it is (proxies, dicts, ...)
            self.returned = fn(*a)

        return capture, args

    def wrap(self, node: fx.Node, value: Any) -> Any:
        if isinstance(value, (TensorValue, Opaque, Deferred)):
            return TensorProxy(node, self, value)
        if isinstance(value, SizeTest) or is_symbolic(value):
            return SizeProxy(node, self, value)
        if isinstance(value, sympy.Basic):
            if value.is_Integer:
                return int(value)
            if value in (sympy.true, sympy.false):
                return bool(value)
            return float(value)
        if isinstance(value, Pieces):
            return tuple(TensorProxy(node, self, self.interp.piece(value, i)) for i in range(len(value.pieces)))
        if isinstance(value, Extreme):
            indices = TensorProxy(node, self, value.second if value.second is not None
                                  else Opaque(f"the second item of {value.what}"))
            return _ValuesIndices(TensorProxy(node, self, value.values), indices)
        if isinstance(value, (tuple, list)):
            items = [self.wrap(self._item_node(node, i), v) if _needs_proxy(v) else self.wrap(node, v)
                     for i, v in enumerate(value)]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, dict):
            return {k: self.wrap(node, v) for k, v in value.items()}
        return value

    def _item_node(self, node: fx.Node, i: int) -> fx.Node:
        return super().create_proxy("call_function", operator.getitem, (fx.Proxy(node, self), i), {}).node

    def shape_of(self, t: TensorProxy) -> tuple[Any, ...]:
        value = t.sp_value
        if isinstance(value, Opaque):
            if value.failed:
                raise Stop(f"the shape of {value.what}")
            raise Unsupported("unsupported-method", f"the shape of {value.what}")
        try:
            shape = self.interp.shape(value)
        except Unsupported as e:
            self.interp.diags.append(Diagnostic("error", e.code, e.message, location=node_location(t.node)))
            raise Stop(e.message) from None
        node = super().create_proxy("call_function", getattr, (fx.Proxy(t.node, self), "shape"), {}).node
        return tuple(self.wrap(self._item_node(node, i), d) if is_symbolic(d) else int(d) for i, d in enumerate(shape))

    def transposed(self, t: TensorProxy, k: str) -> Any:
        rank = len(self.shape_of(t))
        if k in ("T", "H"):
            return t.permute(*reversed(range(rank)))
        return t.transpose(-2, -1)

    # ------------------------------------------------------------------ questions

    def to_bool(self, obj: fx.Proxy) -> bool:
        value = getattr(obj, "sp_value", None)
        if isinstance(value, Opaque) and value.failed:
            raise Stop("a failed value decides a branch")
        if isinstance(value, SizeTest):
            cond, truth = value.condition()
        elif is_symbolic(value):
            cond, truth = eq(value, 0), False
        else:
            raise Unsupported("trace", "forward branches on the values of a tensor (as in `if x.sum() > 0:`); "
                                       "shapeplan, like torch.fx, follows sizes, not values",
                              "move the branch out of forward, or make it depend on sizes only")
        return self.decider.decide(cond) == truth

    def iter(self, obj: fx.Proxy) -> Iterator[Any]:
        if isinstance(obj, TensorProxy):
            n = len(obj)
            return (obj[i] for i in range(n))  # type: ignore[index]
        raise Unsupported("symbolic-int", f"iterating over {obj}, whose length depends on the input size")

    def model_assert(self, condition: Any, message: Any = None) -> None:
        """``torch._assert``: the model's own check; where it fails, forward raises."""
        if not bool(condition):
            raise AssertionError(message)


def _needs_proxy(v: Any) -> bool:
    return isinstance(v, (TensorValue, SizeTest)) or is_symbolic(v)


_STAR_FACTORIES = ("zeros", "ones", "empty", "rand", "randn")


def _star_factory(real: Any) -> Any:
    """``torch.zeros(n, 48)`` with a size that is a formula: torch's argument parser looks for
    traced values inside a size tuple only, so the sizes are passed as one (same call)."""

    @functools.wraps(real)
    def call(*size: Any, **kwargs: Any) -> Any:
        if len(size) > 1 and any(isinstance(s, fx.Proxy) for s in size):
            return real(tuple(size), **kwargs)
        return real(*size, **kwargs)

    return call


def trace_path(module: nn.Module, interp: Interpreter, decider: Decider, inputs: Mapping[str, Shape],
               concrete: dict[str, Any]) -> Any:
    """Trace ``module``'s forward once, along the path ``decider`` chooses; returns what
    forward returned (proxies and Python values)."""
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    tracer = LiveTracer(interp, decider, inputs, device)
    tracer.concrete = dict(concrete)
    real_isinstance = torch.jit.isinstance
    torch.jit.isinstance = _jit_isinstance  # type: ignore[assignment]
    factories = {name: getattr(torch, name) for name in _STAR_FACTORIES}
    for name, real in factories.items():
        setattr(torch, name, _star_factory(real))
    saved = _module_state(module)
    try:
        tracer.trace(module)
    finally:
        torch.jit.isinstance = real_isinstance  # type: ignore[assignment]
        for name, real in factories.items():
            setattr(torch, name, real)
        _restore_state(saved)
    return tracer.returned


_OWN = frozenset({"_parameters", "_buffers", "_modules"})


def _module_state(module: nn.Module) -> list[tuple[nn.Module, dict[str, Any]]]:
    """Every submodule's plain attributes (containers copied one level): forward may keep things
    in them (timm's attention-bias cache), which must not leak from one traced path to the next."""
    out = []
    for m in module.modules():
        state = {k: (type(v)(v) if type(v) in (dict, list, set) else v) for k, v in m.__dict__.items() if k not in _OWN}
        out.append((m, state))
    return out


def _restore_state(saved: list[tuple[nn.Module, dict[str, Any]]]) -> None:
    for m, state in saved:
        for k in [k for k in m.__dict__ if k not in _OWN and k not in state]:
            del m.__dict__[k]
        m.__dict__.update(state)


def _jit_isinstance(obj: Any, target_type: Any) -> bool:
    """``torch.jit.isinstance`` while tracing: a traced tensor is a tensor (MONAI's UpCat asks)."""
    if isinstance(obj, TensorProxy) and target_type is torch.Tensor:
        return True
    return bool(_REAL_JIT_ISINSTANCE(obj, target_type))


_REAL_JIT_ISINSTANCE = torch.jit.isinstance


__all__ = ["LiveTracer", "SizeProxy", "Stop", "TensorProxy", "trace_path", "REGISTRY"]
