"""Blocks (reusable sub-networks) and the expansion of `layers` into flat, scoped Layers::

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

from collections.abc import Mapping
from typing import Any

from ...core.dims import norm, valid_symbol_name
from ...core.expr import ExprError, parse_size
from ...core.ir import Layer
from ...ops import REGISTRY
from ...ops.ctx import ArgError
from ...ops.registry import bind
from .document import MAX_BLOCK_DEPTH, MAX_LAYERS, Ctx, parse_dim, suggest, valid_layer_name

LAYER_KEYS = ("name", "op", "args", "from", "expect", "block", "repeat")
_FAILED = "\x00failed"  # scope entry of a layer that had an error: readers stay silent


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


class Expander:
    """Flattens `block:` layers into scoped layers (`layer1.0.conv1`)."""

    def __init__(self, ctx: Ctx, blocks: dict[str, Any]) -> None:
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
        """A fresh name for an unnamed layer: the op in lower case, numbered (``conv2d_1``)."""
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
                close = suggest(s, scope)
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
        """One layer or block instance; its global name (a block's output), None after an error."""
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
        """Mark the layer as failed in ``scope``, so that readers of it stay silent."""
        scope[local or name[len(prefix):]] = _FAILED

    def plain(self, raw: dict[str, Any], lpath: tuple[Any, ...], name: str, opname: str,
              inputs: tuple[str, ...]) -> str | None:
        """A layer with an `op`: its arguments bound and its `expect` read, appended to the layers."""
        ctx = self.ctx
        spec = REGISTRY.get(opname)
        if spec is None:
            close = suggest(opname, REGISTRY)
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
                        d = parse_dim(ctx, v, (*lpath, "expect", j))
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
        """A layer with a `block`: the block's parameters filled in and its layers expanded
        `repeat` times; the name of the last instance's output."""
        ctx = self.ctx
        bname = raw["block"]
        block = self.blocks.get(bname)
        if block is None:
            close = suggest(bname, self.blocks)
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
                close = suggest(k, declared)
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


def check_blocks(ctx: Ctx, raw: Any) -> dict[str, Any]:
    """The `blocks` key: the well-formed blocks by name (an error for each other one)."""
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
