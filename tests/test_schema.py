"""net.schema.json: generated from the op registry, shipped current, never stricter than shapeplan.

The schema must accept every file shapeplan accepts (examples, the front-end tests' texts,
every op with every accepted argument, random layers) and reject the usual mistakes
(unknown op or key, a string for an int, no op).  Where it is looser than shapeplan, the
difference is one of a few known kinds, checked below.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import shapeplan
import shapeplan.api
import shapeplan.frontends.yaml.network as yaml_frontend
from shapeplan.cli import app
from shapeplan.frontends.yaml.source import parse_yaml, read_text
from shapeplan.ops import REGISTRY
from shapeplan.ops.ctx import ArgError
from shapeplan.ops.params import REQUIRED, schema_of
from shapeplan.ops.registry import OpSpec, Param, bind
from shapeplan.render.schema import SCHEMA_FILE, json_schema, schema_text

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
SCHEMA = json_schema()
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
DEFS = SCHEMA["definitions"]

# values a YAML file may hold where an argument goes (the YAML front end yields these types)
PROBES: list[Any] = [
    None, True, False, -(2**40) - 1, -(2**40), -5, -1, 0, 1, 2, 3, 4, 7, 2**40, 2**40 + 1,
    0.0, 0.5, 1.0, 1.5, -0.5, 3.5e38, math.inf, "", "H", "H // 2", "(", "same", "valid", "nearest",
    "zeros", "reflect", "floor", "tanh", "none", "auto", "solve", [], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4],
    [1] * 6, [-1, 4], [-3, 2], ["H", "W"], [None, 3], [3, None], [None], [0.5, 2.0], [True], [1] * 65,
    [[1, 2]], {"a": 1}, [2**40 + 1], [-(2**40) - 1, 1], "tensor", [":", "tensor"],
]


def _loose_ok(v: Any) -> bool:
    """The known ways the schema is looser than the converters (the checker has the last word).

    JSON Schema's integer is any number with no fraction (3.0); JSON has no inf/nan, so
    number bounds cannot exclude them; and a string where a size goes is an expression the
    schema does not parse.
    """
    if isinstance(v, float):
        return v.is_integer() or not math.isfinite(v)
    if isinstance(v, str):
        return True
    if isinstance(v, list):
        return any(_loose_ok(x) for x in v)
    return False


@functools.cache
def _op_validator(name: str, block: bool = False) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(
        {"definitions": DEFS, "allOf": [{"$ref": f"#/definitions/{'block_op' if block else 'op'}.{name}"}]})


def _kind(p: Param) -> tuple[str, str]:
    """Converters made by one factory with one schema behave alike (int_t(1) twice, ...)."""
    return getattr(p.conv, "__qualname__", ""), json.dumps(schema_of(p.conv), sort_keys=True)


def _accepts(spec: OpSpec, args: list[Any], kwargs: dict[str, Any]) -> bool:
    try:
        bind(spec, args, kwargs)
    except ArgError:
        return False
    return True


def _example(p: Param) -> Any:
    """A value the parameter accepts (for its op's required arguments)."""
    return next(v for v in PROBES if _accepts(_single(p), [], {p.name: v}))


def _single(p: Param) -> OpSpec:
    return OpSpec("probe", "function", (p,), lambda ctx, xs, a: xs[0])


def _base(spec: OpSpec) -> dict[str, Any]:
    layer: dict[str, Any] = {"op": spec.name}
    layer.update({p.name: _example(p) for p in spec.params if p.default is REQUIRED})
    return layer


def _doc(*layers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "Net", "input": ["N", 3, "H", "W"], "layers": list(layers), **extra}


def _loads(doc: dict[str, Any]) -> bool:
    try:
        shapeplan.load(doc)
    except shapeplan.InputError:
        return False
    return True


# --------------------------------------------------------------------------- generated, shipped, current


def test_the_shipped_schema_is_the_generated_one():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "shapeplan/net.schema.json is stale: regenerate it with `shapeplan schema > shapeplan/net.schema.json`")
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == SCHEMA


def test_it_is_a_valid_draft_07_schema():
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_cli_prints_and_writes_it(tmp_path):
    r = CliRunner().invoke(app, ["schema"])
    assert r.exit_code == 0
    assert r.stdout == schema_text()
    out = tmp_path / "net.schema.json"
    r = CliRunner().invoke(app, ["schema", "-o", str(out)])
    assert r.exit_code == 0 and out.read_text(encoding="utf-8") == schema_text()


def test_it_is_package_data():
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[tool.setuptools.package-data]", 1)[1].split("\n[", 1)[0]
    assert '"net.schema.json"' in section


# --------------------------------------------------------------------------- consistent with the registry


def test_every_op_and_parameter_is_in_the_schema():
    dispatch = DEFS["layer"]["else"]
    assert dispatch["properties"]["op"]["enum"] == sorted(REGISTRY, key=str.lower)
    assert {c["then"]["$ref"] for c in dispatch["allOf"]} == {f"#/definitions/op.{n}" for n in REGISTRY}
    for name, spec in REGISTRY.items():
        for block in (False, True):
            d = DEFS[f"{'block_op' if block else 'op'}.{name}"]
            props = d["properties"]
            assert d["additionalProperties"] is False
            assert set(props) == {"op", "name", "from", "expect", "args", *(p.name for p in spec.params)}, name
            assert props["op"] == {"const": name}
            for p in spec.params:
                refs = [o["$ref"].rsplit("/", 1)[1] for o in props[p.name]["anyOf"]]
                assert refs[0].split(".", 1)[0] == ("block_type" if block else "type")
                type_def = DEFS[refs[0].replace("block_type.", "type.")]
                assert {k: v for k, v in type_def.items() if k != "description"} == schema_of(p.conv)
                if not block:
                    assert ("auto" in refs) == (p.auto is not None), (name, p.name)
                    assert ("solve" in refs) == p.solvable, (name, p.name)
                if p.default is not REQUIRED and not isinstance(p.default, (tuple, list)):
                    assert props[p.name].get("default", p.default) == p.default
            required = [c["anyOf"][0]["required"][0] for c in d.get("allOf", [])]
            assert required == [p.name for p in spec.params if p.default is REQUIRED], name


def test_every_converter_has_a_schema_never_stricter_than_itself():
    seen: dict[tuple[str, str], Param] = {}
    for spec in REGISTRY.values():
        for p in spec.params:
            assert schema_of(p.conv) is not None, f"{spec.name}.{p.name}: its converter has no JSON schema"
            seen.setdefault(_kind(p), p)
    for p in seen.values():
        schema = schema_of(p.conv)
        assert schema is not None, f"{p.name}: converter {p.conv!r} has no JSON schema"
        v = jsonschema.Draft7Validator(schema)
        for x in PROBES:
            try:
                p.conv(x)
                ok = True
            except ArgError:
                ok = False
            if ok:
                assert v.is_valid(x), (p.name, getattr(p.conv, "__name__", ""), x)
            elif v.is_valid(x):
                assert _loose_ok(x), (p.name, getattr(p.conv, "__name__", ""), x)


# --------------------------------------------------------------------------- accepts what shapeplan accepts


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(path):
    doc = parse_yaml(read_text(path), str(path)).value
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in VALIDATOR.iter_errors(doc)]
    assert not errors, errors


def test_every_network_the_front_end_tests_load_validates(monkeypatch):
    """Run tests/test_frontend.py with a recorder on the loader: whatever loads must validate."""
    import test_frontend

    loaded: list[Any] = []
    original = yaml_frontend.network_from_doc

    def recording(doc: Any) -> Any:
        net = original(doc)
        loaded.append(doc.value)
        return net

    monkeypatch.setattr(yaml_frontend, "network_from_doc", recording)
    monkeypatch.setattr(shapeplan.api, "network_from_doc", recording)
    monkeypatch.chdir(ROOT)
    tests = [f for n, f in vars(test_frontend).items() if n.startswith("test_") and callable(f)]
    assert len(tests) >= 5
    for t in tests:
        t()
    assert len(loaded) >= 8
    for doc in loaded:
        errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in VALIDATOR.iter_errors(doc)]
        assert not errors, (doc, errors)


def test_every_op_with_every_accepted_argument_validates():
    """Each op with its required arguments, by key and by position, then each parameter set to
    each probe value: whatever bind accepts, the op's definition accepts."""
    seen: set[tuple[tuple[str, str], bool, bool]] = set()
    for name, spec in REGISTRY.items():
        base = _base(spec)
        assert _accepts(spec, [], {k: v for k, v in base.items() if k != "op"})
        top, blk = _op_validator(name), _op_validator(name, block=True)
        assert top.is_valid(base) and blk.is_valid(base), name
        positional = [base[p.name] for p in spec.params if p.default is REQUIRED]
        by_position = {"op": name, "args": positional}
        assert _accepts(spec, positional, {}) and top.is_valid(by_position), name
        if len(positional) == 1 and not isinstance(positional[0], list):
            assert top.is_valid({"op": name, "args": positional[0]}), name  # `args: 5` is `args: [5]`
        if positional:
            assert not top.is_valid({"op": name}), name  # a required argument is missing
        for p in spec.params:
            key = (_kind(p), p.auto is not None, p.solvable)
            if key in seen:
                continue
            seen.add(key)
            for v in PROBES:
                layer = {**base, p.name: v}
                ok = _accepts(spec, [], {k: x for k, x in layer.items() if k != "op"})
                valid = top.is_valid(layer)
                assert not ok or valid, (name, p.name, v)
                assert ok or not valid or _loose_ok(v), (name, p.name, v)
                assert not ok or blk.is_valid(layer), (name, p.name, v)


def test_every_op_loads_and_validates_as_a_whole_document():
    for name, spec in REGISTRY.items():
        layer = _base(spec)
        lo = spec.n_inputs[0]
        if lo > 1:
            layer["from"] = ["x"] * lo
        doc = _doc(layer)
        assert _loads(doc), name
        assert VALIDATOR.is_valid(doc), (name, [e.message for e in VALIDATOR.iter_errors(doc)][:3])


@st.composite
def random_layers(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(REGISTRY)))
    spec = REGISTRY[name]
    layer: dict[str, Any] = {"op": name}
    params = list(spec.params)
    n_pos = draw(st.integers(0, len(params))) if draw(st.booleans()) else 0
    if n_pos:
        layer["args"] = [draw(st.sampled_from(PROBES)) for _ in params[:n_pos]]
    for p in params[n_pos:]:
        if draw(st.booleans()):
            layer[p.name] = draw(st.sampled_from(PROBES))
    if draw(st.integers(0, 9)) == 0:
        layer[draw(st.sampled_from(["repeat", "bogus", "in_chanels", "description"]))] = 1
    lo = spec.n_inputs[0]
    if lo > 1:
        layer["from"] = ["x"] * lo
    return layer


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_layers())
def test_random_layers_the_schema_never_rejects_what_shapeplan_loads(layer):
    # the layer against its op's definition (the dispatch on `op` is tested on whole documents)
    valid = _op_validator(layer["op"]).is_valid(layer)
    if _loads(_doc(layer)):
        assert valid, (layer, [e.message for e in _op_validator(layer["op"]).iter_errors(layer)][:3])
    elif valid:
        # looser only in the known ways: an integral float, inf, or a string
        values = [v for k, v in layer.items() if k not in ("op", "from")]
        assert any(_loose_ok(v) for v in values), layer


def test_block_layers_may_use_parameter_names_anywhere():
    block = {"params": {"c": 8, "k": 3, "use_bias": False}, "layers": [
        {"name": "conv", "op": "Conv2d", "in_channels": "auto", "out_channels": "c * 2", "kernel_size": ["k", "k"],
         "padding": "k // 2", "bias": "use_bias"},
        {"name": "pool", "op": "MaxPool2d", "args": ["k"]},
    ]}
    doc = _doc({"name": "b1", "block": "unit", "c": 4}, {"name": "b2", "block": "unit", "repeat": 2},
               blocks={"unit": block})
    assert _loads(doc)
    assert VALIDATOR.is_valid(doc), [e.message for e in VALIDATOR.iter_errors(doc)][:3]
    # the same layer outside a block: "c * 2" is no int, and k is no block parameter there
    outside = _doc({"op": "Conv2d", "in_channels": 3, "out_channels": "c * 2", "kernel_size": 3})
    assert not _loads(outside) and not VALIDATOR.is_valid(outside)


# --------------------------------------------------------------------------- rejects the usual mistakes


CONV = {"op": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3}


@pytest.mark.parametrize("doc, why", [
    (_doc({**CONV, "op": "Conv2dd"}), "unknown op"),
    (_doc({"op": "ReLU", "inplace": True, "bogus": 1}), "unknown key in a layer"),
    (_doc({**CONV, "kernal_size": 3}), "misspelt argument"),
    (_doc({**CONV, "out_channels": "six"}), "string where an int belongs"),
    (_doc({**CONV, "kernel_size": [3, 3, 3]}), "3 values for a 2d kernel"),
    (_doc({**CONV, "bias": "yes"}), "string where a bool belongs"),
    (_doc({**CONV, "padding_mode": "mirror"}), "not one of the choices"),
    (_doc({"name": "c", "kernel_size": 3}), "missing op"),
    (_doc({"op": "Conv2d", "in_channels": 3, "kernel_size": 3}), "missing required argument"),
    (_doc({"op": "Conv2d", "args": [3, 8, 3, 1, 0, 1, 1, True, "zeros", 5]}), "too many positional arguments"),
    (_doc({"op": "Linear", "in_features": 4, "out_features": 2, "padding": "solve"}), "unknown key"),
    (_doc({"op": "ReLU", "inplace": "auto"}), "auto where nothing is inferred"),
    (_doc({"op": "ReLU", "repeat": 2}), "repeat on an op layer"),
    (_doc({"op": "ReLU", "name": "1st"}), "bad layer name"),
    (_doc({"op": "ReLU", "from": []}), "empty from"),
    (_doc({"op": "ReLU"}, inputs={"x": ["N", 3]}), "both input and inputs"),
    (_doc({"op": "ReLU"}, layer=[]), "unknown top-level key"),
    ({"name": "Net", "input": ["N", 3]}, "no layers"),
    (_doc(), "empty layers"),
    (_doc({"op": "ReLU"}, symbols={"H": {"min": 1, "mx": 9}}), "unknown bound"),
    (_doc({"op": "ReLU"}, input=["N", -3, "H"]), "negative dim"),
    (_doc({"op": "ReLU"}, blocks={"b": {"layers": [{"op": "ReLU"}], "param": {}}}), "unknown key in a block"),
    (_doc({"block": "b"}, blocks={"b": {"layers": [{"op": "Nope"}]}}), "unknown op in a block"),
    (_doc({"block": "b"}, blocks={"b": {"layers": [{"op": "ReLU", "bogus": "x"}]}}), "unknown key in a block layer"),
    (_doc({"block": "b", "repeat": 0}, blocks={"b": {"layers": [{"op": "ReLU"}]}}), "repeat 0"),
])
def test_mistakes_are_rejected_by_the_schema_and_by_shapeplan(doc, why):
    assert not VALIDATOR.is_valid(doc), why
    assert not _loads(doc), why
