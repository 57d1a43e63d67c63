"""The JSON Schema of net.yaml, generated from the op registry.

Editors validate and complete net.yaml files with it (the YAML language server of VS Code,
JetBrains, Neovim...: a ``# yaml-language-server: $schema=net.schema.json`` first line).
It is draft-07, the draft that the YAML language server supports in full.

Every op of :data:`shapeplan.ops.REGISTRY` is a definition: its parameters as keys (their
types from the converters' schemas, see :func:`shapeplan.ops.params.with_schema`), ``auto`` and
``solve`` where the parameter takes them, the required ones, and the positional ``args``.
A layer picks its op's definition with ``if``/``then`` on ``op``.

The schema never rejects a file that shapeplan accepts (``tests/test_schema.py`` checks
this); it may accept some that shapeplan rejects (sizes that don't fit, a ``from`` that names
no layer, an expression that does not parse): ``shapeplan check`` has the last word.
Inside a block, any value may be a string (a block parameter's name, or an expression over
parameters), so block layers check the keys and the non-string values only.

A copy ships in the package (``shapeplan/net.schema.json``, regenerated with
``shapeplan schema > shapeplan/net.schema.json``; a test fails when it is stale).
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path
from typing import Any

from ..ops import REGISTRY, OpSpec
from ..ops.params import MAX_INT, REQUIRED, schema_of
from ..ops.registry import Param

JSON = dict[str, Any]

SCHEMA_FILE = Path(__file__).parent.parent / "net.schema.json"  # ships at the package root
DRAFT = "http://json-schema.org/draft-07/schema#"

_LAYER_NAME = r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$"
_SYMBOL = r"^[A-Za-z][A-Za-z0-9_]*$"  # a symbol or input name (and not a Python keyword or builtin)
_STRING: JSON = {"type": "string"}


def _ref(name: str) -> JSON:
    return {"$ref": "#/definitions/" + name}


# --------------------------------------------------------------------------- value types


def _deep(s: JSON) -> JSON:
    """``s`` with every list item also allowed to be a string (see :func:`_loose`)."""
    out = dict(s)
    items = s.get("items")
    if isinstance(items, dict):
        out["items"] = _loose(items)
    elif isinstance(items, list):
        out["items"] = [_loose(x) for x in items]
    if "anyOf" in s:
        out["anyOf"] = [_deep(x) for x in s["anyOf"]]
    return out


def _loose(s: JSON) -> JSON:
    """The block-context version of ``s``: a string is allowed wherever a value is.

    Inside a block, a string may name a parameter (or be an expression over parameters)
    that stands for any value, at any depth of a list.
    """
    if not s or s == _STRING:
        return s
    return {"anyOf": [_deep(s), _STRING]}


class _Types:
    """Converter schemas, deduplicated into named definitions (``int_ge_1``, ...)."""

    def __init__(self) -> None:
        self.defs: dict[str, JSON] = {}
        self.by_text: dict[str, str] = {}

    def name(self, p: Param) -> str:
        # a converter without a schema (see ops.params.with_schema) accepts anything here, so the
        # schema stays never stricter than shapeplan; tests/test_schema.py asks for one
        s = schema_of(p.conv) or {}
        text = json.dumps(s, sort_keys=True)
        if text in self.by_text:
            return self.by_text[text]
        label = getattr(p.conv, "__name__", "") or "value"
        base = re.sub(r"[^a-z0-9]+", "_", label.lower().replace(">=", " ge ").replace("|", " or ")).strip("_")
        key, n = base or "value", 2
        while key in self.defs:
            key, n = f"{base}_{n}", n + 1
        self.defs[key] = {"description": label, **s}
        self.by_text[text] = key
        return key


def _json_default(v: Any) -> tuple[bool, Any]:
    """(True, v as JSON) when the default can be written in JSON (no inf, no sympy)."""
    if isinstance(v, float) and not math.isfinite(v):
        return False, None
    if v is None or isinstance(v, (bool, int, float, str)):
        return True, v
    if isinstance(v, (list, tuple)):
        parts = [_json_default(x) for x in v]
        return all(ok for ok, _ in parts), [x for _, x in parts]
    return False, None


def _param(p: Param, type_key: str, block: bool) -> JSON:
    options: list[JSON] = [_ref(("block_type." if block else "type.") + type_key)]
    if not block:
        if p.auto is not None:
            options.append(_ref("auto"))
        if p.solvable:
            options.append(_ref("solve"))
    conv_name = getattr(p.conv, "__name__", "")
    out: JSON = {}
    if p.default is REQUIRED:
        out["description"] = f"{conv_name} (required" + (", may be auto)" if p.auto else ")")
    else:
        out["description"] = f"{conv_name} (default {p.default!r})"
        ok, value = _json_default(p.default)
        if ok:
            out["default"] = value
    out["anyOf"] = options
    return out


# --------------------------------------------------------------------------- layers


def _op_def(spec: OpSpec, types: _Types, block: bool) -> JSON:
    keys = [types.name(p) for p in spec.params]
    params = {p.name: _param(p, k, block) for p, k in zip(spec.params, keys)}
    here = ("block_op." if block else "op.") + spec.name
    if spec.params:
        items = [_ref(f"{here}/properties/{p.name}") for p in spec.params]
        args_schema: JSON = {"anyOf": [
            {"type": "array", "items": items, "additionalItems": False},
            {"allOf": [{"not": {"type": "array"}}, items[0]]},  # a single value is one positional argument
        ]}
    else:
        args_schema = {"type": "array", "maxItems": 0}
    if block:  # `args: name` may name a block parameter that holds the list
        args_schema = {"anyOf": [args_schema, _STRING]}
    args_schema["description"] = "positional arguments, in PyTorch's order: " + (
        ", ".join(p.name for p in spec.params) or "none")
    required: list[JSON] = []
    for i, p in enumerate(spec.params):
        if p.default is not REQUIRED:
            continue
        # given by key, or positionally: `args` has at least i + 1 items (or is one value, for i == 0)
        required.append({"anyOf": [{"required": [p.name]}, _ref(f"args.{i + 1}")]})
    sig = ", ".join(p.name if p.default is REQUIRED else f"{p.name}={p.default!r}" for p in spec.params)
    doc = spec.doc.strip().splitlines()[0] if spec.doc.strip() else ""
    out: JSON = {
        "type": "object",
        "description": f"{spec.torch_name}({sig})" + (f": {doc}" if doc else ""),
        "properties": {
            "op": {"const": spec.name},
            "name": _ref("layer_name"),
            "from": _ref("from"),
            "expect": _ref("expect"),
            "args": args_schema,
            **params,
        },
        "additionalProperties": False,
    }
    if required:
        out["allOf"] = required
    return out


def _layer(prefix: str, block: bool) -> JSON:
    """A layer: a block instance when it has ``block``, else an op layer dispatched on ``op``."""
    names = sorted(REGISTRY, key=str.lower)
    dispatch = [{"if": {"properties": {"op": {"const": n}}, "required": ["op"]}, "then": _ref(prefix + n)}
                for n in names]
    op_layer: JSON = {
        "type": "object",
        "required": ["op"],
        "properties": {"op": {"description": "the PyTorch name of the op (`shapeplan ops` lists them)",
                              "enum": names}},
        "allOf": dispatch,
    }
    return {
        "type": "object",
        "if": {"required": ["block"]},
        "then": _ref("block_instance_in_block" if block else "block_instance"),
        "else": op_layer,
    }


def _block_instance(block: bool) -> JSON:
    repeat: JSON = {"type": "integer", "minimum": 1, "maximum": 10_000,
                    "description": "instances layer.0, layer.1, ... chained"}
    return {
        "type": "object",
        "description": "an instance of a block under `blocks:`; other keys set the block's params",
        "required": ["block"],
        "properties": {
            "block": {"type": "string", "description": "the name of a block under `blocks:`"},
            "name": _ref("layer_name"),
            "from": _ref("from"),
            "repeat": _loose(repeat) if block else repeat,
        },
        "additionalProperties": True,
    }


def _args_at_least(n: int) -> JSON:
    """``args`` gives the first ``n`` parameters."""
    has: JSON = {"required": ["args"], "properties": {"args": {"type": "array", "minItems": n}}}
    if n > 1:
        return has
    return {"anyOf": [has, {"required": ["args"], "properties": {"args": {"not": {"type": "array"}}}}]}


# --------------------------------------------------------------------------- the document


def _dim() -> JSON:
    return {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_INT},
                      {"type": "string", "description": "a symbol (N, H, W) or a size expression (H // 2)"}]}


def _common_defs() -> JSON:
    ident = {"type": "string"}
    return {
        "dim": _dim(),
        "shape": {"type": "array", "items": _ref("dim"), "description": "dims: ints, symbols, expressions"},
        "layer_name": {"type": "string", "pattern": _LAYER_NAME, "maxLength": 200,
                       "description": "a unique identifier (dots for submodules: downsample.0)"},
        "from": {"description": "the layer(s) or input(s) read; default: the previous layer",
                 "anyOf": [_STRING, {"type": "array", "items": _STRING, "minItems": 1}]},
        "expect": {"type": "array", "description": "the expected output shape; null or _ for any size",
                   "items": {"anyOf": [{"type": "null"}, {"const": "_"}, _ref("dim")]}},
        "symbol_bounds": {"anyOf": [
            {"type": "integer", "description": "pins the symbol to this value"},
            {"type": "object", "additionalProperties": False,
             "properties": {k: {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 0, "maximum": MAX_INT}]}
                            for k in ("min", "max")}},
        ]},
        "block": {
            "type": "object",
            "required": ["layers"],
            "additionalProperties": False,
            "properties": {
                "params": {"type": ["object", "null"], "description": "names and defaults (null: required)"},
                "inputs": {"type": ["array", "null"], "items": ident, "description": "input names (default [x])"},
                "layers": {"type": "array", "items": _ref("layer_in_block")},
                "output": {"type": "string", "description": "default: the last layer"},
                "description": {},
            },
        },
        "block_instance": _block_instance(False),
        "block_instance_in_block": _block_instance(True),
        "layer": _layer("op.", False),
        "layer_in_block": _layer("block_op.", True),
        **{f"args.{i}": _args_at_least(i) for i in range(1, 1 + max(len(s.params) for s in REGISTRY.values()))},
        "auto": {"const": "auto", "description": "inferred from the incoming shape"},
        "solve": {"const": "solve", "description": "an unknown that `shapeplan solve` finds"},
    }


def json_schema() -> JSON:
    """The JSON Schema (draft-07) of net.yaml, from the op registry."""
    types = _Types()
    names = sorted(REGISTRY, key=str.lower)
    ops = {f"op.{n}": _op_def(REGISTRY[n], types, False) for n in names}
    block_ops = {f"block_op.{n}": _op_def(REGISTRY[n], types, True) for n in names}
    defs = _common_defs()
    for k, v in sorted(types.defs.items()):
        defs[f"type.{k}"] = v
    for k, v in sorted(types.defs.items()):
        bare = {x: y for x, y in v.items() if x != "description"}
        defs[f"block_type.{k}"] = {"description": v["description"], **_loose(bare)}
    defs.update(ops)
    defs.update(block_ops)
    return {
        "$schema": DRAFT,
        "title": "shapeplan net.yaml",
        "description": "A PyTorch CNN for shapeplan: input, layers (PyTorch ops and arguments), blocks. "
                       "Generated from shapeplan's op registry by `shapeplan schema`.",
        "type": "object",
        "additionalProperties": False,
        "required": ["layers"],
        "oneOf": [{"required": ["input"]}, {"required": ["inputs"]}],
        "properties": {
            "name": {"type": "string", "description": "the network's name (a Python class name)"},
            "description": {},
            "input": {"description": "the input's shape, e.g. [N, 3, H, W] (one input, named x)",
                      "allOf": [_ref("shape")]},
            "inputs": {"type": "object", "minProperties": 1, "additionalProperties": _ref("shape"),
                       "propertyNames": {"pattern": _SYMBOL},
                       "description": "several named inputs: {x: [N, 3, H, W], y: [...]}"},
            "symbols": {"type": ["object", "null"], "additionalProperties": _ref("symbol_bounds"),
                        "propertyNames": {"pattern": _SYMBOL},
                        "description": "bounds on symbols: {H: {min: 16, max: 512}}, or H: 32 to pin"},
            "layers": {"type": "array", "minItems": 1, "items": _ref("layer")},
            "outputs": {"description": "output layer name(s); default: the last layer",
                        "anyOf": [_STRING, {"type": "array", "items": _STRING}]},
            "blocks": {"type": ["object", "null"], "additionalProperties": _ref("block"),
                       "description": "reusable sub-networks with parameters"},
        },
        "definitions": defs,
    }


def schema_text() -> str:
    """:func:`json_schema` as the text of ``net.schema.json``: one line per top-level key and
    per definition (compact, yet diffable definition by definition)."""
    doc = json_schema()
    defs = doc.pop("definitions")
    dump = functools.partial(json.dumps, allow_nan=False)  # strict JSON: editors reject Infinity / NaN
    lines = [f" {dump(k)}: {dump(v)}," for k, v in doc.items()]
    lines.append(' "definitions": {')
    lines += [f"  {dump(k)}: {dump(v)}," for k, v in defs.items()]
    lines[-1] = lines[-1].rstrip(",")
    return "{\n" + "\n".join(lines) + "\n }\n}\n"
