"""The net.yaml document itself: its top-level keys, the network name, inputs, symbols and
their bounds, dims and shapes, the limits on what is read, and the error context that turns
every problem into a Diagnostic pointing at the YAML key.
"""

from __future__ import annotations

import difflib
from typing import Any

from ...core.dims import Dim, sym, valid_symbol_name
from ...core.errors import Diagnostic, Location
from ...core.expr import ExprError, parse_size
from ...core.ir import SymbolInfo
from .source import Doc

TOP_KEYS = ("name", "input", "inputs", "symbols", "layers", "outputs", "blocks", "description")
MAX_LAYERS = 200_000
MAX_BLOCK_DEPTH = 16
MAX_ERRORS = 50  # like a compiler, stop reading after this many errors


def suggest(word: str, options: Any) -> str | None:
    """The option closest to a misspelt ``word`` (for a "did you mean" hint), or None."""
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


class TooManyErrors(Exception):
    """Raised at the MAX_ERRORS-th error: the rest of the file is not read."""


class Ctx:
    """What one load collects: the document, its diagnostics so far, the symbols seen."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.diags: list[Diagnostic] = []
        self.symbols: set[str] = set()
        self.n_errors = 0

    def error(self, code: str, message: str, path: tuple[Any, ...], hint: str | None = None,
              layer: str | None = None) -> None:
        """Record an error at ``path``; raise TooManyErrors at the MAX_ERRORS-th."""
        self.diags.append(Diagnostic("error", code, message, layer=layer, hint=hint, location=self.doc.loc(*path)))
        self.n_errors += 1
        if self.n_errors >= MAX_ERRORS:
            raise TooManyErrors


def parse_dim(ctx: Ctx, value: Any, path: tuple[Any, ...], *, allow_expr: bool = True) -> Dim | None:
    """One dim of a shape: an int, a symbol name or a size expression; None after an error."""
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


def parse_shape(ctx: Ctx, value: Any, path: tuple[Any, ...]) -> tuple[Dim, ...] | None:
    """An input shape (a list of dims); None after an error."""
    if not isinstance(value, list):
        ctx.error("bad-input", f"an input shape is a list of dims such as [N, 3, H, W], got {value!r}"[:200], path)
        return None
    dims = [parse_dim(ctx, v, (*path, i)) for i, v in enumerate(value)]
    if any(d is None for d in dims):
        return None
    return tuple(d for d in dims if d is not None)


def parse_symbols(ctx: Ctx, raw: Any) -> dict[str, SymbolInfo]:
    """The `symbols` key: each symbol's bounds (pinned, or min / max)."""
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


def unique_diagnostics(diags: list[Diagnostic]) -> list[Diagnostic]:
    """An error inside a block is reported once, not once per instance."""
    seen: set[tuple[str, Location | None]] = set()
    unique = []
    for d in diags:
        if (d.code, d.location) not in seen:
            seen.add((d.code, d.location))
            unique.append(d)
    return unique


# --------------------------------------------------------------------------- top level


def check_top_keys(ctx: Ctx, data: dict[str, Any]) -> None:
    """An error for each top-level key that is not one of TOP_KEYS."""
    for k in data:
        if k not in TOP_KEYS:
            close = suggest(k, TOP_KEYS)
            ctx.error("unknown-key", f"unknown top-level key {k!r}", (k,),
                      hint=f"did you mean {close!r}?" if close else f"keys: {', '.join(TOP_KEYS)}")


def network_name(ctx: Ctx, data: dict[str, Any]) -> str:
    """The `name` key (a Python class name), "Net" when absent or after an error."""
    name = data.get("name", "Net")
    if not isinstance(name, str) or not valid_symbol_name(name) and not (isinstance(name, str) and name.isidentifier()
                                                                          and name not in ("None", "True", "False")):
        ctx.error("bad-name", f"network name {name!r} is not a valid Python class name"[:200], ("name",),
                  hint="use a name such as Net or MyUNet")
        name = "Net"
    return name


def parse_inputs(ctx: Ctx, data: dict[str, Any]) -> tuple[dict[str, tuple[Dim, ...]], dict[str, Location]]:
    """The network's inputs (`input`, named x, or `inputs`): their shapes and locations."""
    doc = ctx.doc
    inputs: dict[str, tuple[Dim, ...]] = {}
    input_locs: dict[str, Location] = {}
    if "input" in data and "inputs" in data:
        ctx.error("bad-input", "give either `input` or `inputs`, not both", ("inputs",))
    if "input" in data:
        shape = parse_shape(ctx, data["input"], ("input",))
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
                shape = parse_shape(ctx, shape_raw, ("inputs", iname))
                if shape is not None:
                    inputs[iname] = shape
                    input_locs[iname] = doc.loc("inputs", iname) or Location(doc.file)
    else:
        ctx.error("missing-input", "the network has no `input`", (), hint="add e.g. `input: [N, 3, H, W]`")
    return inputs, input_locs


def warn_unused_symbols(ctx: Ctx, symbols: dict[str, SymbolInfo], inputs: dict[str, tuple[Dim, ...]]) -> None:
    """A warning for each bounded symbol that neither an input nor a layer uses."""
    for s in symbols:
        if s not in ctx.symbols - set(symbols) and not any(
            s in {x.name for d in shp if not isinstance(d, int) for x in d.free_symbols} for shp in inputs.values()
        ):
            ctx.diags.append(Diagnostic("warning", "unused-symbol", f"symbol {s} is bounded but no input uses it",
                                        location=ctx.doc.loc("symbols", s)))
