"""What torch calls map to: tables from torch functions, Python operators and tensor methods to
registry ops (data, not branches).  torch is imported when a table is first built."""

from __future__ import annotations

import operator
from functools import cache
from typing import Any

from ...ops import REGISTRY

# Python operators on tensors -> registry ops
OPERATORS: dict[Any, str] = {
    operator.add: "add", operator.iadd: "add", operator.sub: "sub", operator.isub: "sub",
    operator.mul: "mul", operator.imul: "mul", operator.truediv: "div", operator.itruediv: "div",
    operator.matmul: "matmul", operator.neg: "neg", operator.pow: "pow",
    operator.gt: "gt", operator.lt: "lt", operator.ge: "ge", operator.le: "le", operator.eq: "eq", operator.ne: "ne",
    operator.and_: "bitwise_and", operator.or_: "bitwise_or", operator.xor: "bitwise_xor",
    operator.invert: "bitwise_not", operator.floordiv: "floor_divide", operator.mod: "remainder",
}
# tensor methods whose value is not a tensor, or that need the interpreter's own handling
SPECIAL_METHODS = frozenset({"size", "dim", "numel", "chunk", "split", "unbind", "view_as", "reshape_as",
                             "__getitem__", "ndimension", "nelement", "is_contiguous", "type", "to", "cpu",
                             "cuda", "detach", "requires_grad_", "get_device"})
# methods that return the tensor itself as far as shapes go (device, dtype, autograd)
IDENTITY_METHODS = frozenset({"to", "cpu", "cuda", "detach", "requires_grad_", "type"})
# arguments that may be dropped without changing any shape
HARMLESS = frozenset({"inplace"})
# keyword arguments of a module's forward that change no output shape (beside those passed as None)
# (with the values they may take: is_causal=True needs a mask)
MODULE_CALL_HARMLESS: dict[str, dict[str, tuple[Any, ...]]] = {
    "MultiheadAttention": {"need_weights": (True, False), "average_attn_weights": (True, False),
                           "is_causal": (False,)},
}
# tensor attributes that are not sizes: what the trace answers for them
ATTRIBUTE_VALUES = ("dtype", "device", "layout", "is_cuda", "requires_grad", "is_sparse", "is_quantized",
                    "is_meta", "is_nested", "grad_fn")


@cache
def function_table() -> dict[Any, str]:
    """torch / torch.nn.functional / Python operator callables -> registry op names."""
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
    table.update({fn: op for fn, op in OPERATORS.items() if op in REGISTRY})
    # one name, two functions: F.unfold is im2col (Tensor.unfold is the registry's unfold);
    # torch.linalg.norm is not torch.norm
    table.update({F.unfold: "im2col", torch.linalg.norm: "linalg_norm"})
    return table


@cache
def pieces_functions() -> dict[Any, str]:
    """torch.split / torch.chunk / torch.unbind as functions (tensor methods go elsewhere)."""
    import torch

    return {getattr(torch, name): name for name in ("split", "chunk", "unbind") if hasattr(torch, name)}


def describe_target(target: Any) -> str:
    """``torch.nn.functional.fold`` style name of a called function, for messages."""
    mod = getattr(target, "__module__", None) or ""
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    if mod in ("torch._C._nn", "torch._C._VariableFunctions", "torch._C._VariableFunctionsClass"):
        mod = "torch"
    return f"{mod}.{name}" if mod and mod != "builtins" else str(name)
