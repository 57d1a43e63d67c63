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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy

from ..analysis.check import Report, run_check
from ..analysis.propagate import LayerResult, layer_order
from ..core.dims import Dim, fmt, fmt_shape, free_symbols, sym
from ..core.errors import ShapeError
from ..core.ir import Network
from ..ops.calls import call_source, module_call_source

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
        """The identifier of ``raw`` (the same one each time it is asked for)."""
        if raw in self.map:
            return self.map[raw]
        self.map[raw] = self.fresh(raw)
        return self.map[raw]

    def fresh(self, raw: str) -> str:
        """A new identifier like ``raw``, unused so far (not remembered under ``raw``)."""
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
        return cand


def _class_name(name: str) -> str:
    ident = re.sub(r"[^0-9a-zA-Z_]", "_", name) or "Net"
    if not ident.strip("_"):
        ident = "Net"
    if ident[0].isdigit() or ident in _RESERVED:  # e.g. `nn` would shadow torch.nn in the methods
        ident = "Net_" + ident
    return ident


def _symbol_vars(net: Network, extra: set[str] | None = None) -> tuple[Namespace, dict[str, str]]:
    """The local-variable namespace of ``forward``: inputs first, then the symbols.

    A symbol's variable is its own name unless that is taken (an input named like it) or
    reserved in the emitted code (``self``, ``torch``, ``nn``, ``F``): then a fresh one.
    Layers get their variables afterwards, so a layer named ``H`` cannot clobber ``H``.
    """
    local = Namespace()
    for name in net.inputs:
        local.name(name)
    names = dict.fromkeys(net.symbol_names())
    names.update(dict.fromkeys(sorted(extra or ())))
    return local, {s: local.fresh(s) for s in names}


def _renamer(symvar: Mapping[str, str]) -> Any:
    """A function that renames symbols in a bound argument value (sympy trees, tuples)."""
    table = {sym(s): sym(v) for s, v in symvar.items() if s != v}

    def ren(v: Any) -> Any:
        if isinstance(v, tuple):
            return tuple(ren(x) for x in v)
        if isinstance(v, list):
            return [ren(x) for x in v]
        if table and isinstance(v, sympy.Basic):
            return v.xreplace(table)
        return v

    return ren


def _symbolic(v: Any) -> bool:
    if isinstance(v, slice):  # getitem's index
        v = (v.start, v.stop, v.step)
    if isinstance(v, (tuple, list)):
        return any(_symbolic(x) for x in v)
    return not isinstance(v, (bool, int, float, str, type(None), type(Ellipsis))) and bool(free_symbols(v))


def solved_report(net: Network | Report) -> Report:
    """The report to emit from: `solve` unknowns take their first (smallest) solution."""
    if isinstance(net, Report):
        return net
    from ..analysis.solve import solve, unknowns

    if not unknowns(net):
        return run_check(net)
    res = solve(net, limit=1)
    if not res.solutions:
        raise ShapeError(f"{net.name}: no values of the `solve` unknowns make the network valid",
                         code="no-solution", diagnostics=res.diagnostics or None)
    return res.solutions[0].report


def emit(net: Network | Report, *, trace: bool = False, guard: bool = False) -> str:
    """Python source of an ``nn.Module`` for ``net`` (``auto`` filled in, shapes as comments).

    With ``guard``, forward first checks the input sizes against the domain and raises a
    ValueError (the sizes, the rule, the nearest valid sizes) exactly where torch would fail,
    and the class docstring has an "Input sizes" section (:mod:`.guard`).

    Raises ShapeError when the network has shape errors.  A constructor size that depends
    on the input size (``in_features: auto`` after a Flatten with H free) uses torch's Lazy
    module where one exists, else becomes an argument of ``__init__``.
    """
    rep = solved_report(net)
    if rep.errors:
        raise ShapeError(f"{rep.network.name} has shape errors; fix them before emitting code",
                         code="shape-errors", diagnostics=rep.errors)
    local, symvar = _symbol_vars(rep.network, _arg_symbols(rep))
    body = _Body(Namespace(_RESERVED | _MODULE_ATTRS), local, _renamer(symvar), trace, guard)
    in_args = [body.input_var(name) for name in rep.network.inputs]
    _write_layers(rep, body)
    return _class_source(rep, body, symvar, in_args)


def _arg_symbols(rep: Report) -> set[str]:
    """The symbols that appear in any layer's bound arguments."""
    return {s for r in rep.propagation.results.values() for v in r.args.values() for s in _syms(v)}


@dataclass
class _Body:
    """The class body being written: the constructor's and forward's lines, the symbols each
    needs, and the variable that holds each tensor in forward."""

    attrs: Namespace  # attribute names (self.conv1)
    local: Namespace  # forward's local variables
    ren: Callable[[Any], Any]  # renames symbols in argument values to their variables
    trace: bool
    guard: bool = False
    init_lines: list[str] = field(default_factory=list)
    fwd_lines: list[str] = field(default_factory=list)
    init_syms: set[str] = field(default_factory=set)  # symbols the constructor needs
    fwd_syms: set[str] = field(default_factory=set)  # symbols forward needs
    var: dict[str, str] = field(default_factory=dict)

    def input_var(self, name: str) -> str:
        """The variable of input ``name`` (an argument of forward)."""
        self.var[name] = self.local.name(name)
        return self.var[name]


def _write_layers(rep: Report, body: _Body) -> None:
    """Each layer, in order, as constructor and forward lines; a tensor read once (and not an
    output) reuses its reader's variable."""
    net = rep.network
    consumers: dict[str, int] = {}
    for layer in net.layers:
        for src in layer.inputs:
            consumers[src] = consumers.get(src, 0) + 1
    outputs = set(net.outputs)
    for layer in layer_order(net):
        ins = [body.var[s] for s in layer.inputs]
        reuse = (len(layer.inputs) == 1 and consumers.get(layer.inputs[0], 0) == 1
                 and layer.inputs[0] not in outputs)
        out_var = ins[0] if reuse else body.local.name(layer.name)
        _write_layer(body, layer.name, rep.propagation.results[layer.name], ins, out_var)
        if body.trace:
            body.fwd_lines.append(f"if _trace is not None: _trace[{layer.name!r}] = {out_var}")
        body.var[layer.name] = out_var


def _write_layer(body: _Body, name: str, res: LayerResult, ins: list[str], out_var: str) -> None:
    """One layer: a tensor attribute, a submodule called in forward, or a function call."""
    spec = res.spec
    args = {k: body.ren(v) for k, v in res.args.items()}
    comment = f"  # {fmt_shape(res.shape)}" if res.shape is not None else ""
    if spec.call_style in ("parameter", "buffer"):  # a tensor attribute: no call in forward
        attr = body.attrs.name(name)
        src = call_source(spec, ins, args, self_name=attr)
        body.init_lines.append(src if spec.call_style == "buffer" else f"self.{attr} = {src}")
        body.fwd_lines.append(f"{out_var} = self.{attr}{comment}")
    elif spec.kind == "module":
        attr = body.attrs.name(name)
        src, note = _module_source(body, res, ins, args)
        body.init_lines.append(f"self.{attr} = {src}{note}")
        body.fwd_lines.append(f"{out_var} = {module_call_source(spec, 'self.' + attr, ins, args)}{comment}")
    else:
        for p in spec.params:
            if _symbolic(res.args.get(p.name)):
                body.fwd_syms |= set(_syms(res.args[p.name]))
        body.fwd_lines.append(f"{out_var} = {call_source(spec, ins, args)}{comment}")


def _module_source(body: _Body, res: LayerResult, ins: list[str], args: dict[str, Any]) -> tuple[str, str]:
    """A module's constructor call and a trailing comment.  A size that depends on the input
    size becomes torch's Lazy module where one exists, else a constructor argument."""
    spec = res.spec
    sym_params = [p.name for p in spec.params if _symbolic(args.get(p.name))]
    if not sym_params:
        return call_source(spec, ins, args), ""
    lazy = _LAZY.get(spec.name)
    if lazy and sym_params == [lazy[1]]:
        args.pop(lazy[1])
        formula = fmt(res.args[lazy[1]])
        src = call_source(spec, ins, args).replace(f"nn.{spec.name}(", f"nn.{lazy[0]}(", 1)
        return src, f"  # {lazy[1]} = {formula}"
    for pname in sym_params:
        body.init_syms |= set(_syms(res.args[pname]))
    return call_source(spec, ins, args), ""


def _class_source(rep: Report, body: _Body, symvar: Mapping[str, str], in_args: list[str]) -> str:
    """The module's source: imports, the class and its docstring, ``__init__``, ``forward``."""
    net = rep.network
    # symbols used in forward come from the input shapes (N, _, H, W = x.shape), else
    # from the constructor's arguments (self.H, set in __init__)
    unpack = _unpack_symbols(net, body.var, body.fwd_syms, symvar)
    ctor_syms = sorted(body.init_syms | (body.fwd_syms - set(unpack)))
    sym_attr = {s: body.attrs.fresh(s) for s in ctor_syms}
    uses_f = any("F." in line for line in body.init_lines + body.fwd_lines)
    lines = ["import torch", *(["import torch.nn.functional as F"] if uses_f else []), "from torch import nn", "", ""]
    if body.guard:
        from .guard import guard_module_code

        lines += [*guard_module_code(rep.domain).strip("\n").split("\n"), "", ""]
    lines.append(f"class {_class_name(net.name)}(nn.Module):")
    lines += ["    " + d if d else "" for d in _class_doc(rep, body.guard)]
    lines.append("")
    sig = "self" + "".join(f", {symvar[s]}: int" for s in ctor_syms)
    lines.append(f"    def __init__({sig}) -> None:")
    lines.append("        super().__init__()")
    for s in ctor_syms:
        lines.append(f"        self.{sym_attr[s]} = {symvar[s]}  # the input size this instance is built for")
    lines += ["        " + line for line in body.init_lines]
    lines.append("")
    fwd_args = ", ".join(f"{a}: torch.Tensor" for a in in_args)
    ret_t = "torch.Tensor" if len(net.outputs) == 1 else "tuple[torch.Tensor, ...]"
    extra = ", _trace: dict | None = None" if body.trace else ""
    lines.append(f"    def forward(self, {fwd_args}{extra}) -> {ret_t}:")
    if body.guard:
        from .guard import guard_call_lines

        lines += ["        " + ln for ln in guard_call_lines(rep, {n: body.var[n] for n in net.inputs})]
    for stmt in dict.fromkeys(unpack.values()):
        lines.append("        " + stmt)
    for s in sorted(body.fwd_syms - set(unpack)):
        lines.append(f"        {symvar[s]} = self.{sym_attr[s]}")
    lines += ["        " + line for line in body.fwd_lines]
    outs = [body.var[o] for o in net.outputs]
    lines.append(f"        return {outs[0] if len(outs) == 1 else '(' + ', '.join(outs) + ',)'}")
    return "\n".join(lines) + "\n"


def _class_doc(rep: Report, guard: bool = False) -> list[str]:
    """The class docstring's lines: where it comes from, its inputs, the valid input sizes."""
    net = rep.network
    doc = [f'"""Generated by shapeplan from {_safe_doc(net.source or "a net.yaml")}.', ""]
    for name, shape in net.inputs.items():
        doc.append(f"Input {name}: {fmt_shape(shape)}.")
    doc.append(f"Valid input sizes: {rep.domain}.")
    if guard:
        from .guard import docstring_lines

        doc += ["", *docstring_lines(rep)]
    doc.append('"""')
    return doc


def _safe_doc(text: str) -> str:
    """A file name made safe for a docstring."""
    return re.sub(r"[^\w./ -]", "_", text)[:200]


def _syms(v: Any) -> list[str]:
    if isinstance(v, slice):  # getitem's index
        v = (v.start, v.stop, v.step)
    if isinstance(v, (tuple, list)):
        return [s for x in v for s in _syms(x)]
    if isinstance(v, (bool, int, float, str, type(None), type(Ellipsis))):
        return []
    return sorted(free_symbols(v))


def _unpack_symbols(net: Network, var: Mapping[str, str], wanted: set[str],
                    symvar: Mapping[str, str]) -> dict[str, str]:
    """``N, _, H, W = x.shape`` lines that bind the wanted symbols from the input shapes.

    Keys are symbol names; the statements bind their variables (``symvar``)."""
    out: dict[str, str] = {}
    for name, shape in net.inputs.items():
        names: list[str] = []
        hit: list[str] = []
        for d in shape:
            s = d.name if isinstance(d, sympy.Symbol) else None
            if s is not None and s in wanted and s not in out and s not in hit:
                names.append(symvar[s])
                hit.append(s)
            else:
                names.append("_")
        if hit:
            stmt = f"{', '.join(names)}{',' if len(names) == 1 else ''} = {var[name]}.shape"
            for s in hit:
                out[s] = stmt
    return out


def build(net: Network | Report, sizes: Mapping[str, int] | None = None, *, trace: bool = False) -> Any:
    """An ``nn.Module`` instance for ``net`` (imports torch).

    ``sizes`` gives the input size for constructor arguments that depend on it (see emit).
    """
    import torch  # noqa: F401 - the bridge needs torch

    rep = solved_report(net)
    src = emit(rep, trace=trace)
    namespace: dict[str, Any] = {"__name__": "shapeplan_built"}
    exec(compile(src, "<shapeplan-emit>", "exec"), namespace)  # noqa: S102 - generated from validated values
    network = rep.network
    cls = namespace[_class_name(network.name)]
    import inspect

    params = list(inspect.signature(cls.__init__).parameters)[1:]
    by_var = {v: s for s, v in _symbol_vars(network, _arg_symbols(rep))[1].items()}
    kwargs: dict[str, Dim] = {}
    for p in params:
        s = by_var.get(p, p)
        if not sizes or s not in sizes:
            raise ShapeError(f"{network.name} needs the input size {s} to be built (a layer's size depends on it)",
                             code="needs-size", hint=f"pass sizes={{'{s}': ...}}, or pin {s} in the input")
        kwargs[p] = sizes[s]
    return cls(**kwargs)
