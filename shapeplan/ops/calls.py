"""An op as Python source: the expression that constructs a module or applies a function, with
the arguments that differ from their defaults (for emitted code)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .params import REQUIRED, TENSOR, TorchName
from .registry import OpSpec, Param, _default


def py_value(v: Any) -> str:
    """A bound argument value as Python source (sizes print as expressions of the symbols)."""
    from ..core.dims import fmt

    if isinstance(v, TorchName):  # torch.float32, torch.channels_last: an attribute of torch, not a string
        return str(v)
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

    Only arguments that differ from their defaults are written, by keyword (the leading
    ones by position for ``call_style="positional"``).  Values are bound, validated values
    (never raw YAML text).  A function op whose torch call returns a tuple is indexed
    (``torch.topk(x, k=3)[0]``); see :func:`module_call_source` for modules.
    """
    kw = [(p.name, args[p.name]) for p in spec.params
          if p.name in args and (p.default is REQUIRED or not _same(args[p.name], p.default, p))]
    if spec.call_style in ("parameter", "buffer"):
        return _attribute_source(spec, args, kw, self_name)
    if spec.kind == "module":
        return f"{spec.torch_name}({', '.join(f'{k}={py_value(v)}' for k, v in kw)})"
    if "item" in args and spec.param("item") is not None:  # one tensor of the tuple torch returns
        kw = [(n, v) for n, v in kw if n != "item"]
        return f"{_function_source(spec, inputs, args, kw)}[{args['item']}]"
    return _function_source(spec, inputs, args, kw) + _index(spec, args)


def module_call_source(spec: OpSpec, module: str, inputs: Sequence[str], args: Mapping[str, Any] | None = None) -> str:
    """The Python expression that calls a constructed module op on its inputs (indexed when
    torch returns a tuple, as nn.MultiheadAttention does)."""
    return f"{module}({', '.join(inputs)})" + _index(spec, args)


def _index(spec: OpSpec, args: Mapping[str, Any] | None = None) -> str:
    """``[i]`` where torch returns a tuple and the op's output is its item i: always for some
    ops, for others by an argument (``return_indices=True``, ``torch.max(x, dim)``)."""
    if spec.output_index is not None:
        return f"[{spec.output_index}]"
    a = args or {}
    if a.get("return_indices") is True or (spec.name in ("max", "min") and a.get("dim") is not None):
        return "[0]"
    return ""


def _function_source(spec: OpSpec, inputs: Sequence[str], args: Mapping[str, Any],
                     kw: Sequence[tuple[str, Any]]) -> str:
    if spec.call_style == "index":  # x[..., idx, :]: the index tensors are inputs 1.. in order
        tensors = iter(inputs[1:])
        items = [next(tensors) if i == TENSOR else py_value(i) for i in args[spec.params[0].name]]
        return f"{inputs[0]}[{', '.join(items) if items else '()'}]"
    if spec.call_style == "getitem":
        index = args[spec.params[0].name]
        text = ", ".join(py_value(i) for i in index) if index else "()"
        return f"{inputs[0]}[{text}]"
    k = spec.n_inputs[0] if spec.positional_inputs is None else spec.positional_inputs
    absent = set(args.get("absent") or ())  # optional tensors passed as None (F.batch_norm's running stats)
    if absent:  # None in their places, up to the last one left out; the rest by keyword
        kw = [(n, v) for n, v in kw if n != "absent"]
        upto = max(i for i, n in enumerate(spec.input_names) if n in absent) + 1
        supplied = iter(inputs)
        first_ones = ["None" if n in absent else next(supplied) for n in spec.input_names[:upto]]
        inputs = [*first_ones, *(f"{n}={v}" for n, v in zip(spec.input_names[upto:], supplied, strict=False))]
    elif spec.input_names and len(inputs) > k:
        inputs = [*inputs[:k], *(f"{n}={v}" for n, v in zip(spec.input_names[k:], inputs[k:], strict=False))]
    fn = spec.torch_name.rsplit(".", 1)[-1]
    kws = [f"{k}={py_value(v)}" for k, v in kw]
    if spec.call_style == "list":
        return f"{spec.torch_name}([{', '.join(inputs)}]{''.join(', ' + k for k in kws)})"
    if spec.call_style == "method":
        return f"{inputs[0]}.{fn}({', '.join([*inputs[1:], *kws])})"
    if spec.call_style in ("method_star", "star"):
        first = spec.params[0].name
        star = [py_value(x) for x in args[first]] or ["()"]  # torch.zeros(()) is 0-d; torch.zeros() fails
        rest = [f"{k}={py_value(v)}" for k, v in kw if k != first]
        if spec.call_style == "star":
            return f"{spec.torch_name}({', '.join([*inputs, *star, *rest])})"
        return f"{inputs[0]}.{fn}({', '.join([*inputs[1:], *star, *rest])})"
    if spec.call_style == "positional":  # up to the last one given; a None ends them (the rest by keyword)
        lead = [p for p in spec.params if not p.kw_only]
        given = [i for i, p in enumerate(lead) if p.name in dict(kw)]
        upto = max(given, default=0) + 1 if lead else 0
        nones = [i for i, p in enumerate(lead[:upto]) if args.get(p.name) is None]
        upto = min([upto, *nones])
        pos = [py_value(args[p.name]) for p in lead[:upto]]
        named = {p.name for p in lead[:upto]}
        rest = [f"{k}={py_value(v)}" for k, v in kw if k not in named]
        return f"{spec.torch_name}({', '.join([*inputs, *pos, *rest])})"
    if spec.call_style == "params_first":
        names = [p.name for p in spec.params if p.default is REQUIRED and not p.kw_only]
        later = [f"{k}={py_value(v)}" for k, v in kw if k not in names]
        return f"{spec.torch_name}({', '.join([*(py_value(args[n]) for n in names), *inputs, *later])})"
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
