"""Code generation: a Network as the source of the ``nn.Module`` a person would write.

Code is data here: a list of lines, and a namespace that turns layer names into legal,
unique Python identifiers.  Every value written into the source is a *bound* argument
(validated int, float, bool, tuple or a choice among torch's own strings), printed with
``repr`` or from a sympy tree: no text from the YAML file is pasted into code as is.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Mapping
from typing import Any

from .check import Report, run_check
from .dims import Dim, fmt, fmt_shape, free_symbols
from .errors import ShapeError
from .ir import Network
from .ops.base import call_source
from .propagate import layer_order

# attributes of nn.Module that a submodule must not shadow
_MODULE_ATTRS = frozenset({
    "forward", "training", "parameters", "buffers", "children", "modules", "state_dict", "load_state_dict",
    "to", "cuda", "cpu", "train", "eval", "apply", "zero_grad", "register_buffer", "register_parameter",
    "add_module", "named_modules", "named_parameters", "named_children", "named_buffers", "half", "float",
    "double", "type", "extra_repr", "requires_grad_", "share_memory", "get_submodule", "dump_patches",
    "call_super_init", "T_destination", "compile", "ipu", "xpu", "mtia", "bfloat16", "to_empty", "get_parameter",
    "get_buffer", "set_submodule", "register_module", "trace",
})
_MODULE_ATTRS = _MODULE_ATTRS | frozenset(a for a in dir(object))
_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins)) | {
    "self", "torch", "nn", "F", "_trace",
}

# modules whose size argument can be inferred by torch at the first forward
_LAZY = {
    "Linear": ("LazyLinear", "in_features"),
    "Conv1d": ("LazyConv1d", "in_channels"),
    "Conv2d": ("LazyConv2d", "in_channels"),
    "Conv3d": ("LazyConv3d", "in_channels"),
    "ConvTranspose1d": ("LazyConvTranspose1d", "in_channels"),
    "ConvTranspose2d": ("LazyConvTranspose2d", "in_channels"),
    "ConvTranspose3d": ("LazyConvTranspose3d", "in_channels"),
    "BatchNorm1d": ("LazyBatchNorm1d", "num_features"),
    "BatchNorm2d": ("LazyBatchNorm2d", "num_features"),
    "BatchNorm3d": ("LazyBatchNorm3d", "num_features"),
    "InstanceNorm1d": ("LazyInstanceNorm1d", "num_features"),
    "InstanceNorm2d": ("LazyInstanceNorm2d", "num_features"),
    "InstanceNorm3d": ("LazyInstanceNorm3d", "num_features"),
}


class Namespace:
    """Legal, unique Python identifiers for arbitrary names (as torch.fx does)."""

    def __init__(self, reserved: frozenset[str] = _RESERVED) -> None:
        self.reserved = set(reserved)
        self.used: set[str] = set()
        self.map: dict[str, str] = {}

    def name(self, raw: str) -> str:
        if raw in self.map:
            return self.map[raw]
        base = re.sub(r"[^0-9a-zA-Z_]", "_", raw.replace(".", "_"))
        if not base or base[0].isdigit():
            base = "v_" + base
        base = base.strip("_") if base.strip("_") else "v"
        if base[0].isdigit():
            base = "v_" + base
        cand, i = base, 1
        while cand in self.reserved or cand in self.used or keyword.iskeyword(cand):
            cand = f"{base}_{i}"
            i += 1
        self.used.add(cand)
        self.map[raw] = cand
        return cand


def _class_name(name: str) -> str:
    ident = re.sub(r"[^0-9a-zA-Z_]", "_", name) or "Net"
    if ident[0].isdigit() or keyword.iskeyword(ident) or ident in dir(builtins):
        ident = "Net_" + ident
    return ident


def _symbolic(v: Any) -> bool:
    if isinstance(v, (tuple, list)):
        return any(_symbolic(x) for x in v)
    return not isinstance(v, (bool, int, float, str, type(None))) and bool(free_symbols(v))


def emit(net: Network | Report, *, trace: bool = False) -> str:
    """Python source of an ``nn.Module`` for ``net`` (``auto`` filled in, shapes as comments).

    Raises ShapeError when the network has shape errors.  A constructor size that depends
    on the input size (``in_features: auto`` after a Flatten with H free) uses torch's Lazy
    module where one exists, else becomes an argument of ``__init__``.
    """
    rep = net if isinstance(net, Report) else run_check(net)
    if rep.errors:
        raise ShapeError(f"{rep.network.name} has shape errors; fix them before emitting code",
                         code="shape-errors", diagnostics=rep.errors)
    net = rep.network
    prop = rep.propagation
    attrs = Namespace(_RESERVED | _MODULE_ATTRS)
    local = Namespace()
    init_lines: list[str] = []
    fwd_lines: list[str] = []
    consumers: dict[str, int] = {}
    for layer in net.layers:
        for src in layer.inputs:
            consumers[src] = consumers.get(src, 0) + 1
    outputs = set(net.outputs)
    var: dict[str, str] = {}
    in_args = []
    for name in net.inputs:
        var[name] = local.name(name)
        in_args.append(var[name])
    used_symbols: set[str] = set()
    for layer in layer_order(net):
        res = prop.results[layer.name]
        spec = res.spec
        args = dict(res.args)
        comment = f"  # {fmt_shape(res.shape)}" if res.shape is not None else ""
        ins = [var[s] for s in layer.inputs]
        reuse = (len(layer.inputs) == 1 and consumers.get(layer.inputs[0], 0) == 1
                 and layer.inputs[0] not in outputs)
        out_var = ins[0] if reuse else local.name(layer.name)
        if spec.kind == "module":
            attr = attrs.name(layer.name)
            note = ""
            sym_params = [p.name for p in spec.params if _symbolic(args.get(p.name))]
            if sym_params:
                lazy = _LAZY.get(spec.name)
                if lazy and sym_params == [lazy[1]]:
                    formula = fmt(args.pop(lazy[1]))
                    src = call_source(spec, ins, args).replace(f"nn.{spec.name}(", f"nn.{lazy[0]}(", 1)
                    note = f"  # {lazy[1]} = {formula}"
                else:
                    for pname in sym_params:
                        used_symbols |= set(_syms(args[pname]))
                    src = call_source(spec, ins, args)
            else:
                src = call_source(spec, ins, args)
            init_lines.append(f"self.{attr} = {src}{note}")
            fwd_lines.append(f"{out_var} = self.{attr}({', '.join(ins)}){comment}")
        else:
            for p in spec.params:
                if _symbolic(args.get(p.name)):
                    used_symbols |= set(_syms(args[p.name]))
            fwd_lines.append(f"{out_var} = {call_source(spec, ins, args)}{comment}")
        if trace:
            fwd_lines.append(f"if _trace is not None: _trace[{layer.name!r}] = {out_var}")
        var[layer.name] = out_var
    # symbols used in forward come from the input shapes (N, _, H, W = x.shape)
    fwd_syms = {s for line in fwd_lines for s in used_symbols if re.search(rf"\b{s}\b", line)}
    unpack = _unpack_symbols(net, var, fwd_syms)
    ctor_syms = sorted({s for s in used_symbols if any(re.search(rf"\b{s}\b", ln) for ln in init_lines)}
                       | (fwd_syms - set(unpack)))
    lines = ["import torch", "import torch.nn as nn", "import torch.nn.functional as F", "", ""]
    cls = _class_name(net.name)
    lines.append(f"class {cls}(nn.Module):")
    doc = [f'"""Generated by shapeplan from {_safe_doc(net.source or "a net.yaml")}.', ""]
    for name, shape in net.inputs.items():
        doc.append(f"Input {name}: {fmt_shape(shape)}.")
    doc.append(f"Valid input sizes: {rep.domain}.")
    doc.append('"""')
    lines += ["    " + d if d else "" for d in doc]
    lines.append("")
    sig = "self" + "".join(f", {s}: int" for s in ctor_syms)
    lines.append(f"    def __init__({sig}) -> None:")
    lines.append("        super().__init__()")
    for s in ctor_syms:
        lines.append(f"        self.{s} = {s}  # the input size this instance is built for")
    lines += ["        " + line for line in init_lines]
    lines.append("")
    fwd_args = ", ".join(f"{a}: torch.Tensor" for a in in_args)
    ret_t = "torch.Tensor" if len(net.outputs) == 1 else "tuple[torch.Tensor, ...]"
    extra = ", _trace: dict | None = None" if trace else ""
    lines.append(f"    def forward(self, {fwd_args}{extra}) -> {ret_t}:")
    for stmt in dict.fromkeys(unpack.values()):
        lines.append("        " + stmt)
    for s in sorted(fwd_syms - set(unpack)):
        lines.append(f"        {s} = self.{s}")
    lines += ["        " + line for line in fwd_lines]
    outs = [var[o] for o in net.outputs]
    lines.append(f"        return {outs[0] if len(outs) == 1 else '(' + ', '.join(outs) + ',)'}")
    return "\n".join(lines) + "\n"


def _safe_doc(text: str) -> str:
    """A file name made safe for a docstring."""
    return re.sub(r"[^\w./ -]", "_", text)[:200]


def _syms(v: Any) -> list[str]:
    if isinstance(v, (tuple, list)):
        return [s for x in v for s in _syms(x)]
    if isinstance(v, (bool, int, float, str, type(None))):
        return []
    return sorted(free_symbols(v))


def _unpack_symbols(net: Network, var: Mapping[str, str], wanted: set[str]) -> dict[str, str]:
    """``N, _, H, W = x.shape`` lines that bind the wanted symbols from the input shapes."""
    out: dict[str, str] = {}
    for name, shape in net.inputs.items():
        names = []
        hit = False
        for d in shape:
            s = fmt(d)
            if not isinstance(d, int) and s in wanted and s not in out:
                names.append(s)
                hit = True
            else:
                names.append("_")
        if hit:
            stmt = f"{', '.join(names)}{',' if len(names) == 1 else ''} = {var[name]}.shape"
            for s in names:
                if s != "_":
                    out[s] = stmt
    return out


def build(net: Network | Report, sizes: Mapping[str, int] | None = None, *, trace: bool = False) -> Any:
    """An ``nn.Module`` instance for ``net`` (imports torch).

    ``sizes`` gives the input size for constructor arguments that depend on it (see emit).
    """
    import torch  # noqa: F401 - the bridge needs torch

    src = emit(net, trace=trace)
    namespace: dict[str, Any] = {"__name__": "shapeplan_built"}
    exec(compile(src, "<shapeplan-emit>", "exec"), namespace)  # noqa: S102 - generated from validated values
    rep = net if isinstance(net, Report) else None
    network = rep.network if rep else net
    assert isinstance(network, Network)
    cls = namespace[_class_name(network.name)]
    import inspect

    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    kwargs: dict[str, Dim] = {}
    for p in params:
        if not sizes or p not in sizes:
            raise ShapeError(f"{network.name} needs the input size {p} to be built (a layer's size depends on it)",
                             code="needs-size", hint=f"pass sizes={{'{p}': ...}}, or pin {p} in the input")
        kwargs[p] = sizes[p]
    return cls(**kwargs)
