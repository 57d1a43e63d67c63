"""Calls whose torch result is a pair: torch.max/min(x, dim), sort, topk, var_mean / std_mean,
max pools with ``return_indices``, nn.MultiheadAttention.  shapeplan follows the first item;
the second is a layer of its own, made only where forward uses it (:class:`~.values.Deferred`):
an op of torch's for it (argmax, argsort, mean), or the call's item 1; the attention weights
are opaque."""

from __future__ import annotations

import re
from typing import Any

from .values import Deferred, Extreme, TensorValue


def extreme(interp: Any, node: Any, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Extreme:
    """torch.max/min(x, dim): the values (amax/amin) and, where forward uses them, the indices
    (argmax/argmin)."""
    x, rest = args[0], list(args[1:])
    dim = rest.pop(0) if rest else kwargs.get("dim")
    keepdim = rest.pop(0) if rest else kwargs.get("keepdim", False)
    values = interp.add_layer(interp.scoped(node, "a" + op), "a" + op, [x], {"dim": dim, "keepdim": keepdim})
    indices = Deferred(lambda: interp.add_layer(interp.scoped(node, "arg" + op), "arg" + op, [x],
                                                {"dim": dim, "keepdim": keepdim}))
    return Extreme(values, f"torch.{op}(x, dim)", second=indices)


def second_item(interp: Any, node: Any, spec: Any, inputs: list[TensorValue],
                params: dict[str, Any]) -> Deferred | None:
    """The other item of a pair, made only if forward uses it: its own op where torch has one
    (sort's indices are argsort's, var_mean's mean is mean's), else the call's item 1 (topk,
    the max pools with indices); None for a call without one (nn.MultiheadAttention)."""
    x = inputs[0] if inputs else None
    if spec.name == "sort" and x is not None:
        kw: dict[str, Any] = {k: params[k] for k in ("dim", "descending") if k in params}
        if params.get("stable") is not None:
            kw["stable"] = params["stable"]
        return Deferred(lambda: interp.add_layer(interp.scoped(node, "argsort"), "argsort", [x], kw))
    if spec.name in ("var_mean", "std_mean") and x is not None:
        dim = params.get("dim")
        if dim is None or isinstance(dim, bool):
            dim = list(range(len(interp.shape(x))))
        means: dict[str, Any] = {"dim": dim, "keepdim": params.get("keepdim", False)}
        return Deferred(lambda: interp.add_layer(interp.scoped(node, "mean"), "mean", [x], means))
    if spec.paired and spec.param("item") is not None:  # topk, max pools with indices: the call's item 1
        return Deferred(lambda: interp.add_layer(interp.scoped(node, spec.name), spec.name, inputs,
                                                 {**params, "item": 1}))
    return None


def with_indices(op: str, ctor: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """nn.MaxPool2d(..., return_indices=True) returns (values, indices): the functional op
    that returns them (F.max_pool2d_with_indices), with the module's arguments."""
    m = re.fullmatch(r"(Adaptive)?MaxPool([123])d", op)
    if m is None or not ctor.get("return_indices"):
        return op, ctor
    return (f"adaptive_max_pool{m[2]}d_with_indices" if m[1] else f"max_pool{m[2]}d_with_indices"), ctor


def tuple_result(spec: Any, value: TensorValue, second: Deferred | None = None) -> Any:
    """An op whose torch result is a tuple ((values, indices), (attn_output, attn_weights)):
    the item shapeplan follows, and the other (:func:`second_item`; None: opaque, ``x, _ =
    attn(x, x, x)`` unpacks)."""
    if spec.output_index is None:
        return value
    return Extreme(value, f"{spec.torch_name or spec.name}(...)", second=second)
