"""A traced call's arguments, split into the op's tensor inputs and its parameters."""

from __future__ import annotations

import inspect
from typing import Any

from ...ops import OpSpec
from ...ops.params import REQUIRED
from .tables import HARMLESS, OPERATORS
from .values import TensorValue, Unsupported


def bind_call(spec: OpSpec, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[TensorValue],
                                                                                               dict[str, Any]]:
    """Split a call's arguments into tensor inputs and the op's parameters, by name where
    the function has a Python signature, else by position (tensors first, then the op's
    parameters in torch's order)."""
    sig = _signature(fn)
    inputs: list[TensorValue] = []
    params: dict[str, Any] = {}
    if sig is not None:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            raise Unsupported("bad-argument", f"{spec.name}: {e}") from None
        items = list(bound.arguments.items())
        for i, (pname, value) in enumerate(items):
            later = any(isinstance(v, TensorValue) for _, v in items[i + 1:])
            if value is None and pname in spec.input_names and spec.param("absent") is not None and (
                    later or sig.parameters[pname].default is inspect.Parameter.empty):
                params["absent"] = [*params.get("absent", []), pname]  # an optional tensor the call leaves out
                continue
            if value is None and spec.param(pname) is None and later:
                which = next(k for k, v in items[i + 1:] if isinstance(v, TensorValue))
                raise Unsupported("unsupported-argument", f"{spec.name} with {pname}=None but a tensor {which}: "
                                                          "shapeplan passes optional tensors by position")
            _take(spec, pname, value, sig.parameters[pname].default, inputs, params)
        return inputs, params
    pos = list(args)
    kwargs = dict(kwargs)
    if spec.call_style == "list":
        first = pos.pop(0) if pos else kwargs.pop("tensors", [])
        inputs = [t for t in first if isinstance(t, TensorValue)]
        if len(inputs) != len(first):
            raise Unsupported("unsupported-argument", f"{spec.name} of a list that holds non-tensors")
    elif spec.call_style == "params_first":  # torch.einsum(eq, a, b) or torch.einsum(eq, [a, b])
        lead = [p.name for p in spec.params if p.default is REQUIRED and not p.kw_only]
        for pname in lead:
            if pname not in kwargs and pos and not isinstance(pos[0], TensorValue):
                params[pname] = pos.pop(0)
        if len(pos) == 1 and isinstance(pos[0], (list, tuple)):
            pos = list(pos[0])
        while pos and isinstance(pos[0], TensorValue):
            inputs.append(pos.pop(0))
    elif spec.call_style in ("method_star", "star"):  # x.view(2, 3) / torch.zeros(2, 3), or one sequence
        if spec.call_style == "method_star" and pos and isinstance(pos[0], TensorValue):
            inputs.append(pos.pop(0))
        first_param = spec.params[0].name
        if first_param in kwargs:
            params[first_param] = kwargs.pop(first_param)
        else:
            params[first_param] = list(pos[0]) if len(pos) == 1 and isinstance(pos[0], (list, tuple)) else pos
        pos = []
    else:
        hi, slot = spec.n_inputs[1], 0
        while pos and (hi is None or slot < hi) and (isinstance(pos[0], TensorValue) or _absent_slot(spec, slot, pos)):
            value = pos.pop(0)
            slot += 1
            if value is not None:
                inputs.append(value)
    names = [p.name for p in spec.params if p.name not in params]
    if len(pos) > len(names) and spec.input_names:
        pos = _trailing_tensors(spec, pos, len(names), inputs)
    if len(pos) > len(names):
        raise Unsupported("bad-argument", f"{spec.name} takes {len(names)} arguments besides its tensors, "
                                          f"got {len(pos)}")
    for pname, value in zip(names, pos):
        _take(spec, pname, value, inspect.Parameter.empty, inputs, params)
    for pname, value in kwargs.items():
        _take(spec, pname, value, inspect.Parameter.empty, inputs, params)
    return inputs, params


def _absent_slot(spec: OpSpec, slot: int, pos: list[Any]) -> bool:
    """``pos[0]`` is None in the place of an optional tensor (F.conv2d(x, w, None, 2)); a tensor
    after it would land in the wrong place, so that is refused."""
    if pos[0] is not None or slot < spec.n_inputs[0] or slot >= len(spec.input_names) \
            or spec.param(spec.input_names[slot]) is not None:
        return False
    if any(isinstance(v, TensorValue) for v in pos[1:len(spec.input_names) - slot]):
        raise Unsupported("unsupported-argument", f"{spec.name} with {spec.input_names[slot]}=None but a later "
                                                  "tensor: shapeplan passes optional tensors by position")
    return True


def _take(spec: OpSpec, pname: str, value: Any, default: Any, inputs: list[TensorValue],
          params: dict[str, Any]) -> None:
    if pname == "out" and value is not None:
        raise Unsupported("unsupported-argument", f"{spec.name}: out= (writing into a given tensor) has no rule",
                          "assign the result instead: y = f(...)")
    if isinstance(value, TensorValue):
        if spec.param(pname) is not None and pname not in spec.input_names:
            raise Unsupported("unsupported-argument", f"{spec.name}: a tensor as {pname!r} (a size or number "
                                                      "is expected)")
        inputs.append(value)
        return
    if spec.param(pname) is not None:
        params[pname] = value
        return
    if pname in HARMLESS or value is None or (default is not inspect.Parameter.empty and _equal(value, default)):
        return
    raise Unsupported("unsupported-argument", f"{spec.name}: argument {pname}={value!r} has no rule")


def _trailing_tensors(spec: OpSpec, pos: list[Any], n_params: int, inputs: list[TensorValue]) -> list[Any]:
    """torch.diff(x, 1, -1, prepend, append): optional tensors after the parameters, by
    position (the ones given, in order; an absent one before a given one is not modelled)."""
    rest = pos[n_params:]
    tensors = [t for t in rest if t is not None]
    if not all(isinstance(t, TensorValue) for t in tensors):
        return pos
    if None in rest and any(t is not None for t in rest[rest.index(None):]):
        raise Unsupported("unsupported-argument", f"{spec.name} with an optional tensor passed as None before "
                                                  "another: shapeplan passes optional tensors by position")
    inputs.extend(tensors)
    return pos[:n_params]


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - tensors and other odd defaults
        return False


def _signature(fn: Any) -> inspect.Signature | None:
    if fn is None or fn in OPERATORS or not inspect.isfunction(fn):
        return None
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values()):
        return None
    return sig
