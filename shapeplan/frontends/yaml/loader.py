"""net.yaml -> Network.  Every problem is a Diagnostic that points at the YAML key.

Blocks (reusable sub-networks)::

    blocks:
      basic:
        params: {planes: 64, stride: 1}     # names and defaults (null: required)
        inputs: [x]                        # names the block's inputs (default: [x])
        layers:
          - {name: conv1, op: Conv2d, in_channels: auto, out_channels: planes,
             kernel_size: 3, stride: stride, padding: 1, bias: false}
          - ...
          - {name: out, op: add, from: [bn2, x]}
        output: out                        # default: the block's last layer

    layers:
      - {name: layer1, block: basic, repeat: 2, planes: 64}   # layer1.0.conv1, layer1.1.conv1, ...

Inside a block, a value that is a parameter's name takes the parameter's value, and a
size expression over parameters (``planes * 4``) is computed.  ``from`` inside a block
names the block's layers or inputs.  Outside, the block instance's name stands for its
output.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import networkx as nx

from ...core.dims import Dim, norm, sym, valid_symbol_name
from ...core.errors import Diagnostic, InputError, Location
from ...core.expr import ExprError, parse_size
from ...core.ir import Layer, Network, SymbolInfo
from ...ops import REGISTRY
from ...ops.ctx import ArgError
from ...ops.registry import bind
from .source import Doc, plain_doc

TOP_KEYS = ("name", "input", "inputs", "symbols", "layers", "outputs", "blocks", "description")
LAYER_KEYS = ("name", "op", "args", "from", "expect", "block", "repeat")
MAX_LAYERS = 10_000
MAX_BLOCK_DEPTH = 16
MAX_ERRORS = 50  # like a compiler, stop reading after this many errors
_FAILED = "\x00failed"  # scope entry of a layer that had an error: readers stay silent


def _suggest(word: str, options: Any) -> str | None:
    word = word[:100]
    # only names of about the same length can be close; this keeps the cost bounded
    slack = max(2, len(word) // 3)
    cands = [o for o in options if isinstance(o, str) and abs(len(o) - len(word)) <= slack][:1000]
    close = difflib.get_close_matches(word, cands, n=1, cutoff=0.6)
    if not close:
        lower = {o.lower(): o for o in options if isinstance(o, str)}
        if word.lower() in lower:
            return lower[word.lower()]
        return None
    return close[0]


def valid_layer_name(name: str) -> bool:
    """A layer name: identifiers (or indices, for repeated blocks) joined by dots."""
    parts = name.split(".")
    return bool(name) and len(name) <= 200 and name.isascii() and all(
        p.isidentifier() or p.isdigit() for p in parts
    ) and parts[0].isidentifier()


class _TooManyErrors(Exception):
    """Raised at the MAX_ERRORS-th error: the rest of the file is not read."""


class _Ctx:
    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.diags: list[Diagnostic] = []
        self.symbols: set[str] = set()
        self.n_errors = 0

    def error(self, code: str, message: str, path: tuple[Any, ...], hint: str | None = None,
              layer: str | None = None) -> None:
        self.diags.append(Diagnostic("error", code, message, layer=layer, hint=hint, location=self.doc.loc(*path)))
        self.n_errors += 1
        if self.n_errors >= MAX_ERRORS:
            raise _TooManyErrors


def _parse_dim(ctx: _Ctx, value: Any, path: tuple[Any, ...], *, allow_expr: bool = True) -> Dim | None:
    if isinstance(value, bool) or value is None or isinstance(value, float):
        ctx.error("bad-dim", f"a dim must be a non-negative integer or a symbol name, got {value!r}", path)
        return None
    if isinstance(value, int):
        if value < 0:
            ctx.error("bad-dim", f"a dim must be non-negative, got {value}", path,
                      hint="use a symbol name such as H for a size that varies")
            return None
        if value > 2**40:
            ctx.error("bad-dim", f"dim {value} is too large", path)
            return None
        return value
    if isinstance(value, str):
        text = value.strip()
        if valid_symbol_name(text):
            ctx.symbols.add(text)
            return sym(text)
        if text.isidentifier():
            why = ("it is not ASCII" if not text.isascii() else "it starts with _" if text.startswith("_")
                   else "it is a Python keyword or builtin")
            ctx.error("bad-symbol", f"{text[:60]!r} cannot be a symbol name ({why})", path,
                      hint="use a name such as N, C, H, W, T")
            return None
        if allow_expr:
            try:
                d = parse_size(text)
            except ExprError as e:
                ctx.error("bad-dim", f"bad size expression {text[:60]!r}: {e}", path)
                return None
            if not isinstance(d, int):
                ctx.symbols.update(s.name for s in d.free_symbols)
            return d
    ctx.error("bad-dim", f"a dim must be a non-negative integer or a symbol name, got {value!r}"[:200], path)
    return None


def _parse_shape(ctx: _Ctx, value: Any, path: tuple[Any, ...]) -> tuple[Dim, ...] | None:
    if not isinstance(value, list):
        ctx.error("bad-input", f"an input shape is a list of dims such as [N, 3, H, W], got {value!r}"[:200], path)
        return None
    dims = [_parse_dim(ctx, v, (*path, i)) for i, v in enumerate(value)]
    if any(d is None for d in dims):
        return None
    return tuple(d for d in dims if d is not None)


def _parse_symbols(ctx: _Ctx, raw: Any) -> dict[str, SymbolInfo]:
    out: dict[str, SymbolInfo] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        ctx.error("bad-symbols", "`symbols` must map symbol names to bounds, e.g. {H: {min: 16, max: 512}}",
                  ("symbols",))
        return out
    for name, spec in raw.items():
        path = ("symbols", name)
        if not valid_symbol_name(name):
            ctx.error("bad-symbol", f"{name!r} is not a valid symbol name", path)
            continue
        lo, hi = 1, None
        if isinstance(spec, int) and not isinstance(spec, bool):
            if spec < 0 or spec > 2**40:
                ctx.error("bad-symbols", f"{name} must be pinned to a non-negative integer, got {spec!r}"[:200], path,
                          hint=f"e.g. `{name}: 32`")
                continue
            lo = hi = spec
        elif isinstance(spec, dict):
            for k in spec:
                if k not in ("min", "max"):
                    ctx.error("bad-symbols", f"unknown bound {k!r} for symbol {name} (use min, max)", (*path, k))
            for k in ("min", "max"):
                v = spec.get(k)
                if v is None:
                    continue
                if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > 2**40:
                    ctx.error("bad-symbols", f"{name}.{k} must be a non-negative integer, got {v!r}", (*path, k))
                elif k == "min":
                    lo = max(v, 0)
                else:
                    hi = v
        else:
            ctx.error("bad-symbols", f"bounds of {name} must be an integer or {{min: .., max: ..}}, got {spec!r}"[:200],
                      path)
            continue
        if hi is not None and hi < lo:
            ctx.error("bad-symbols", f"{name} has min {lo} > max {hi}: no size is allowed", path)
        out[name] = SymbolInfo(name, max(lo, 1), hi)
        ctx.symbols.add(name)
    return out


# --------------------------------------------------------------------------- blocks


def _subst(value: Any, params: Mapping[str, Any]) -> Any:
    """Substitute block parameters in a layer value (names, and expressions over them)."""
    if not params:
        return value
    if isinstance(value, list):
        return [_subst(v, params) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if text in params:
            return params[text]
        int_params = {k: v for k, v in params.items() if isinstance(v, int) and not isinstance(v, bool)}
        if any(k in text for k in int_params):
            try:
                d = parse_size(text, symbol_ok=lambda n: False, env=int_params)
            except ExprError:
                return value
            return norm(d)
    return value


class _Expander:
    """Flattens `block:` layers into scoped layers (`layer1.0.conv1`)."""

    def __init__(self, ctx: _Ctx, blocks: dict[str, Any]) -> None:
        self.ctx = ctx
        self.blocks = blocks
        self.layers: list[Layer] = []
        self.counts: dict[str, int] = {}
        self.explicit: set[str] = set()
        self.defined: set[str] = set()
        self.input_names: set[str] = set()
        self.too_many = False
        self.inputs_failed = False  # `input`/`inputs` was written but had errors

    def default_name(self, op: str, prefix: str) -> str:
        base = "".join(ch for ch in op.lower() if ch.isalnum() or ch == "_") or "layer"
        if not base[0].isalpha():
            base = "layer_" + base
        n = self.counts.get(prefix + base, 0)
        while True:
            name = prefix + (base if n == 0 else f"{base}_{n}")
            n += 1
            if name not in self.explicit:
                self.counts[prefix + base] = n
                return name

    def expand(
        self,
        raw_layers: Any,
        path: tuple[Any, ...],
        prefix: str,
        params: Mapping[str, Any],
        scope: dict[str, str],
        first_input: str | None,
        depth: int,
    ) -> str | None:
        """Expand a list of layers; ``scope`` maps local names to global ones.

        Returns the global name of the last layer.
        """
        ctx = self.ctx
        if not isinstance(raw_layers, list):
            ctx.error("bad-layers", "`layers` must be a list of layers", path)
            return None
        for raw in raw_layers:
            if isinstance(raw, dict) and isinstance(raw.get("name"), str):
                self.explicit.add(prefix + raw["name"])
                if "block" not in raw and valid_layer_name(raw["name"]):
                    # forward references are allowed; cycles are found on the graph
                    scope.setdefault(raw["name"], prefix + raw["name"])
        prev = first_input
        if len(self.layers) > MAX_LAYERS:
            return None  # reported where the limit was passed
        for i, raw in enumerate(raw_layers):
            lpath = (*path, i)
            if not isinstance(raw, dict):
                ctx.error("bad-layer", f"a layer must be a mapping such as {{op: ReLU}}, got {raw!r}"[:200], lpath)
                continue
            got = self.layer(raw, lpath, prefix, params, scope, prev, depth)
            if got is not None:
                prev = got
            if len(self.layers) > MAX_LAYERS:
                if not self.too_many:
                    self.too_many = True
                    ctx.error("too-many-layers", f"the network has more than {MAX_LAYERS} layers", lpath,
                              hint="a repeated block multiplies its layers by `repeat`")
                return None
        return prev

    def _from(self, raw: dict[str, Any], lpath: tuple[Any, ...], scope: dict[str, str], prev: str | None,
              name: str, no_input: bool = False) -> tuple[str, ...] | None:
        """The layer's inputs: `from`, else the previous layer; none for an op that reads no
        tensor (Parameter, Buffer) when `from` is absent or empty."""
        ctx = self.ctx
        src = raw.get("from")
        if src is None or (no_input and src == []):
            if no_input:
                return ()
            if prev is None and self.inputs_failed:
                return None  # the input had an error, reported there
            if prev is None:
                ctx.error("no-input", f"{name} has no input (no previous layer)", lpath, layer=name)
                return None
            return (prev,)
        names = src if isinstance(src, list) else [src]
        out = []
        for j, s in enumerate(names):
            p = (*lpath, "from", j) if isinstance(src, list) else (*lpath, "from")
            if not isinstance(s, str):
                ctx.error("bad-from", f"`from` takes layer or input names, got {s!r}"[:200], p, layer=name)
                return None
            if scope.get(s) == _FAILED:
                return None  # already reported where it failed
            if s not in scope:
                close = _suggest(s, scope)
                ctx.error("unknown-from", f"{name} reads {s!r}, which is no layer or input here", p,
                          hint=f"did you mean {close!r}?" if close else f"known names: {', '.join(list(scope)[:12])}",
                          layer=name)
                return None
            out.append(scope[s])
        if not out:
            ctx.error("bad-from", f"{name} has an empty `from`", (*lpath, "from"), layer=name)
            return None
        return tuple(out)

    def layer(self, raw: dict[str, Any], lpath: tuple[Any, ...], prefix: str, params: Mapping[str, Any],
              scope: dict[str, str], prev: str | None, depth: int) -> str | None:
        ctx = self.ctx
        raw = {k: _subst(v, params) if k not in ("name", "from", "block", "op") else v for k, v in raw.items()}
        is_block = "block" in raw
        if not is_block and "op" not in raw:
            ctx.error("missing-op", "layer has no `op`", lpath, hint="add e.g. `op: Conv2d`, or `block: NAME`")
            return None
        opname = raw.get("block") if is_block else raw.get("op")
        if not isinstance(opname, str):
            ctx.error("bad-op", f"`{'block' if is_block else 'op'}` must be a name, got {opname!r}"[:200],
                      (*lpath, "block" if is_block else "op"))
            return None
        local = raw.get("name")
        if local is not None and (not isinstance(local, str) or not valid_layer_name(local)):
            ctx.error("bad-name", f"layer name {local!r} is not a valid identifier"[:200], (*lpath, "name"),
                      hint="use letters, digits and underscores, starting with a letter (e.g. conv1)")
            return None
        name = prefix + local if local else self.default_name(opname, prefix)
        if name in self.defined or name in self.input_names:
            ctx.error("duplicate-name", f"layer name {local!r} is used twice", (*lpath, "name"),
                      hint="give each layer a unique name")
            return None
        spec = None if is_block else REGISTRY.get(opname)
        no_input = spec is not None and spec.n_inputs[1] == 0
        inputs = self._from(raw, lpath, scope, prev, name, no_input)
        if inputs is None:
            self._failed(scope, local, name, prefix)
            return None
        if is_block:
            out = self.block_instance(raw, lpath, name, inputs, depth)
        else:
            out = self.plain(raw, lpath, name, opname, inputs)
        self.defined.add(name)
        if out is not None:
            scope[local or name[len(prefix):]] = out
        else:
            self._failed(scope, local, name, prefix)
        return out

    @staticmethod
    def _failed(scope: dict[str, str], local: str | None, name: str, prefix: str) -> None:
        scope[local or name[len(prefix):]] = _FAILED

    def plain(self, raw: dict[str, Any], lpath: tuple[Any, ...], name: str, opname: str,
              inputs: tuple[str, ...]) -> str | None:
        ctx = self.ctx
        spec = REGISTRY.get(opname)
        if spec is None:
            close = _suggest(opname, REGISTRY)
            ctx.error("unknown-op", f"unknown op {opname!r}", (*lpath, "op"), layer=name,
                      hint=f"did you mean {close!r}?" if close else "`shapeplan ops` lists the supported ops")
            return None
        args = raw.get("args", [])
        if not isinstance(args, list):
            args = [args]
        kwargs = {k: v for k, v in raw.items() if k not in LAYER_KEYS}
        for k in ("repeat",):
            if k in raw:
                ctx.error("bad-key", f"`{k}` is only for block layers", (*lpath, k), layer=name)
        lo, hi = spec.n_inputs
        if len(inputs) < lo or (hi is not None and len(inputs) > hi):
            want = f"{lo}" if lo == hi else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
            ctx.error("arity", f"{name} ({opname}) reads {want} tensor(s), but `from` gives {len(inputs)}",
                      (*lpath, "from") if "from" in raw else (*lpath, "op"), layer=name,
                      hint=f"list {want} names in `from`")
            return None
        try:
            bind(spec, args, kwargs)
        except ArgError as e:
            path = (*lpath, e.param) if e.param in kwargs else ((*lpath, "args") if args else (*lpath, "op"))
            if e.param is not None and e.param not in kwargs and args:
                idx = [p.name for p in spec.params].index(e.param) if spec.param(e.param) else None
                if idx is not None and idx < len(args):
                    path = (*lpath, "args", idx)
            ctx.error("bad-argument", f"{name} ({opname}): {e.message}", path, hint=e.hint, layer=name)
            return None
        expect = raw.get("expect")
        exp_dims: tuple[Any, ...] | None = None
        if expect is not None:
            if not isinstance(expect, list):
                ctx.error("bad-expect", "`expect` is a shape such as [N, 16, H, W]", (*lpath, "expect"), layer=name)
            else:
                dims: list[Any] = []
                for j, v in enumerate(expect):
                    if v is None or v == "_":
                        dims.append(None)
                    else:
                        d = _parse_dim(ctx, v, (*lpath, "expect", j))
                        dims.append(d)
                exp_dims = tuple(dims)
        locs = {"": self.ctx.doc.loc(*lpath)}
        for k in raw:
            loc = self.ctx.doc.locs.get((*lpath, k))
            if loc:
                locs[k] = loc
        for j in range(len(args)):
            loc = self.ctx.doc.locs.get((*lpath, "args", j))
            if loc:
                locs[f"args.{j}"] = loc
        self.layers.append(Layer(name, opname, inputs, tuple(args), kwargs, exp_dims,
                                 {k: v for k, v in locs.items() if v is not None}))
        return name

    def block_instance(self, raw: dict[str, Any], lpath: tuple[Any, ...], name: str, inputs: tuple[str, ...],
                       depth: int) -> str | None:
        ctx = self.ctx
        bname = raw["block"]
        block = self.blocks.get(bname)
        if block is None:
            close = _suggest(bname, self.blocks)
            ctx.error("unknown-block", f"unknown block {bname!r}", (*lpath, "block"), layer=name,
                      hint=f"did you mean {close!r}?" if close else "define it under `blocks:`")
            return None
        if depth >= MAX_BLOCK_DEPTH:
            ctx.error("block-depth", f"blocks nest deeper than {MAX_BLOCK_DEPTH} levels (a block that uses itself?)",
                      (*lpath, "block"), layer=name)
            return None
        repeat = raw.get("repeat", None)
        if repeat is not None and (isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= 10_000):
            ctx.error("bad-repeat", f"repeat must be an integer from 1 to 10000, got {repeat!r}", (*lpath, "repeat"),
                      layer=name)
            return None
        declared = block.get("params") or {}
        values: dict[str, Any] = {}
        for k, v in raw.items():
            if k in LAYER_KEYS:
                continue
            if k not in declared:
                close = _suggest(k, declared)
                ctx.error("bad-argument", f"block {bname!r} has no parameter {k!r}", (*lpath, k), layer=name,
                          hint=f"did you mean {close!r}?" if close else f"its parameters: {', '.join(declared) or 'none'}")
                return None
            values[k] = v
        for k, v in declared.items():
            if k not in values:
                if v is None:
                    ctx.error("bad-argument", f"block {bname!r} needs parameter {k!r}", (*lpath, "block"), layer=name)
                    return None
                values[k] = v
        block_inputs = block.get("inputs") or ["x"]
        if len(block_inputs) != len(inputs):
            ctx.error("arity", f"block {bname!r} reads {len(block_inputs)} input(s), but `from` gives {len(inputs)}",
                      (*lpath, "from") if "from" in raw else (*lpath, "block"), layer=name)
            return None
        bpath = ("blocks", bname, "layers")
        out: str | None = None
        current = inputs
        for r in range(repeat or 1):
            inst = f"{name}.{r}." if repeat is not None else f"{name}."
            scope = dict(zip(block_inputs, current))
            before = len(ctx.diags)
            out = self.expand(block["layers"], bpath, inst, values, scope, current[0], depth + 1)
            if out is None or len(ctx.diags) > before:
                return None
            wanted = block.get("output")
            if wanted is not None:
                if wanted not in scope:
                    ctx.error("unknown-from", f"block {bname!r} output {wanted!r} is not one of its layers",
                              ("blocks", bname, "output"))
                    return None
                out = scope[wanted]
            current = (out,) * len(block_inputs) if len(block_inputs) == 1 else current
            if len(block_inputs) > 1 and repeat and repeat > 1:
                ctx.error("bad-repeat", "a block with several inputs cannot repeat", (*lpath, "repeat"), layer=name)
                return None
        return out


def _check_blocks(ctx: _Ctx, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        ctx.error("bad-blocks", "`blocks` maps block names to {params, inputs, layers}", ("blocks",))
        return {}
    out = {}
    for bname, block in raw.items():
        path = ("blocks", bname)
        if not valid_symbol_name(bname) and not bname.isidentifier():
            ctx.error("bad-name", f"block name {bname!r} is not a valid identifier", path)
            continue
        if not isinstance(block, dict) or "layers" not in block:
            ctx.error("bad-blocks", f"block {bname!r} needs `layers`", path)
            continue
        for k in block:
            if k not in ("params", "inputs", "layers", "output", "description"):
                ctx.error("bad-blocks", f"unknown key {k!r} in block {bname!r}", (*path, k),
                          hint="a block has params, inputs, layers and output")
        params = block.get("params") or {}
        if not isinstance(params, dict) or not all(isinstance(k, str) and k.isidentifier() for k in params):
            ctx.error("bad-blocks", f"params of block {bname!r} must map names to default values", (*path, "params"))
            continue
        ins = block.get("inputs") or ["x"]
        if not isinstance(ins, list) or not ins or not all(isinstance(i, str) and i.isidentifier() for i in ins):
            ctx.error("bad-blocks", f"inputs of block {bname!r} must be a list of names", (*path, "inputs"))
            continue
        out[bname] = block
    return out


def _unique(diags: list[Diagnostic]) -> list[Diagnostic]:
    """An error inside a block is reported once, not once per instance."""
    seen: set[tuple[str, Location | None]] = set()
    unique = []
    for d in diags:
        if (d.code, d.location) not in seen:
            seen.add((d.code, d.location))
            unique.append(d)
    return unique


def network_from_doc(doc: Doc) -> Network:
    """Build and validate a Network from a parsed document; raise InputError on problems."""
    ctx = _Ctx(doc)
    try:
        return _network_from_doc(doc, ctx)
    except _TooManyErrors:
        diags = _unique(ctx.diags)
        diags.append(Diagnostic("note", "too-many-errors", f"stopped after {MAX_ERRORS} errors",
                                location=diags[-1].location))
        raise InputError(diags[0].message, diagnostics=diags) from None


def _network_from_doc(doc: Doc, ctx: _Ctx) -> Network:
    data = doc.value
    if not isinstance(data, dict):
        raise InputError("a net.yaml must be a mapping with `input` and `layers`", code="bad-network",
                         location=doc.loc(), hint="start with `name: Net`, `input: [N, 3, H, W]`, `layers: [...]`")
    for k in data:
        if k not in TOP_KEYS:
            close = _suggest(k, TOP_KEYS)
            ctx.error("unknown-key", f"unknown top-level key {k!r}", (k,),
                      hint=f"did you mean {close!r}?" if close else f"keys: {', '.join(TOP_KEYS)}")
    name = data.get("name", "Net")
    if not isinstance(name, str) or not valid_symbol_name(name) and not (isinstance(name, str) and name.isidentifier()
                                                                          and name not in ("None", "True", "False")):
        ctx.error("bad-name", f"network name {name!r} is not a valid Python class name"[:200], ("name",),
                  hint="use a name such as Net or MyUNet")
        name = "Net"
    symbols = _parse_symbols(ctx, data.get("symbols"))
    inputs: dict[str, tuple[Dim, ...]] = {}
    input_locs: dict[str, Location] = {}
    if "input" in data and "inputs" in data:
        ctx.error("bad-input", "give either `input` or `inputs`, not both", ("inputs",))
    if "input" in data:
        shape = _parse_shape(ctx, data["input"], ("input",))
        if shape is not None:
            inputs["x"] = shape
            input_locs["x"] = doc.loc("input") or Location(doc.file)
    elif "inputs" in data:
        raw_inputs = data["inputs"]
        if not isinstance(raw_inputs, dict) or not raw_inputs:
            ctx.error("bad-input", "`inputs` maps input names to shapes, e.g. {x: [N, 3, H, W]}", ("inputs",))
        else:
            for iname, shape_raw in raw_inputs.items():
                if not valid_symbol_name(iname):
                    ctx.error("bad-name", f"input name {iname!r} is not a valid identifier", ("inputs", iname))
                    continue
                shape = _parse_shape(ctx, shape_raw, ("inputs", iname))
                if shape is not None:
                    inputs[iname] = shape
                    input_locs[iname] = doc.loc("inputs", iname) or Location(doc.file)
    else:
        ctx.error("missing-input", "the network has no `input`", (), hint="add e.g. `input: [N, 3, H, W]`")
    if "layers" not in data:
        ctx.error("missing-layers", "the network has no `layers`", (), hint="add `layers:` with a list of layers")
    blocks = _check_blocks(ctx, data.get("blocks"))
    exp = _Expander(ctx, blocks)
    exp.input_names = set(inputs)
    exp.inputs_failed = not inputs and ("input" in data or "inputs" in data)
    scope = {n: n for n in inputs}
    last = None
    if "layers" in data and (inputs or "input" in data or "inputs" in data):
        first = next(iter(inputs), None)
        layers_raw = data["layers"]
        if isinstance(layers_raw, list) and not layers_raw:
            ctx.error("missing-layers", "`layers` is empty", ("layers",))
        last = exp.expand(layers_raw, ("layers",), "", {}, scope, first, 0)
    outputs: list[str] = []
    raw_out = data.get("outputs")
    if raw_out is not None:
        items = raw_out if isinstance(raw_out, list) else [raw_out]
        for j, o in enumerate(items):
            if not isinstance(o, str) or o not in scope:
                close = _suggest(str(o), scope)
                ctx.error("unknown-output", f"output {o!r} is not a layer"[:200], ("outputs", j) if isinstance(raw_out, list)
                          else ("outputs",), hint=f"did you mean {close!r}?" if close else None)
            else:
                outputs.append(scope[o])
    elif last is not None:
        outputs.append(last)
    for s in symbols:
        if s not in ctx.symbols - set(symbols) and not any(
            s in {x.name for d in shp if not isinstance(d, int) for x in d.free_symbols} for shp in inputs.values()
        ):
            ctx.diags.append(Diagnostic("warning", "unused-symbol", f"symbol {s} is bounded but no input uses it",
                                        location=doc.loc("symbols", s)))
    if any(d.severity == "error" for d in ctx.diags):
        unique = _unique(ctx.diags)
        raise InputError(unique[0].message, diagnostics=unique)
    net = Network(name, inputs, tuple(exp.layers), tuple(outputs), symbols, doc.file, input_locs)
    g = net.graph
    if not nx.is_directed_acyclic_graph(g):
        cycle = nx.find_cycle(g)
        names = [e[0] for e in cycle]
        layer = net.by_name.get(names[0])
        raise InputError(
            f"the layers form a cycle: {' -> '.join(names + [names[0]])}", code="cycle", layer=names[0],
            location=layer.loc("from") if layer else None, hint="a layer can only read layers that come before it",
        )
    if ctx.diags:
        object.__setattr__(net, "_load_diagnostics", tuple(ctx.diags))
    return net


def load_dict(data: Mapping[str, Any]) -> Network:
    return network_from_doc(plain_doc(dict(data)))
