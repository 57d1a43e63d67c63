"""`shapeplan check --format github|sarif`: annotations at the right line, escaping, valid SARIF."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from shapeplan import __version__
from shapeplan.cli import app
from shapeplan.core.errors import Diagnostic, Location
from shapeplan.render.ci_formats import (
    INFORMATION_URI,
    artifact_uri,
    escape_data,
    escape_property,
    github,
    github_command,
    sarif,
)

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

# The parts of the official SARIF 2.1.0 schema (sarif-schema-2.1.0.json, OASIS, draft-04) that
# shapeplan's output uses, with their required properties, enums, minimums and
# additionalProperties: false as there.  (No network here, and no PyPI package ships the schema.)
_BAG = {"type": "object", "additionalProperties": True,
        "properties": {"tags": {"type": "array", "uniqueItems": True, "items": {"type": "string"}}}}
SARIF_2_1_0 = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"enum": ["2.1.0"], "type": "string"},
        "runs": {"type": ["array", "null"], "minItems": 0, "items": {"$ref": "#/definitions/run"}},
        "properties": {"$ref": "#/definitions/propertyBag"},
    },
    "definitions": {
        "propertyBag": _BAG,
        "run": {
            "type": "object", "additionalProperties": False, "required": ["tool"],
            "properties": {
                "tool": {"$ref": "#/definitions/tool"},
                "results": {"type": "array", "minItems": 0, "items": {"$ref": "#/definitions/result"}},
                "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"], "type": "string"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "tool": {
            "type": "object", "additionalProperties": False, "required": ["driver"],
            "properties": {"driver": {"$ref": "#/definitions/toolComponent"},
                           "properties": {"$ref": "#/definitions/propertyBag"}},
        },
        "toolComponent": {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "informationUri": {"type": "string", "format": "uri"},
                "rules": {"type": "array", "minItems": 0, "uniqueItems": True,
                          "items": {"$ref": "#/definitions/reportingDescriptor"}},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "reportingDescriptor": {
            "type": "object", "additionalProperties": False, "required": ["id"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "shortDescription": {"$ref": "#/definitions/multiformatMessageString"},
                "fullDescription": {"$ref": "#/definitions/multiformatMessageString"},
                "helpUri": {"type": "string", "format": "uri"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "multiformatMessageString": {
            "type": "object", "additionalProperties": False, "required": ["text"],
            "properties": {"text": {"type": "string"}, "markdown": {"type": "string"},
                           "properties": {"$ref": "#/definitions/propertyBag"}},
        },
        "result": {
            "type": "object", "additionalProperties": False, "required": ["message"],
            "properties": {
                "ruleId": {"type": "string"},
                "ruleIndex": {"type": "integer", "minimum": -1},
                "kind": {"enum": ["notApplicable", "pass", "fail", "review", "open", "informational"],
                         "type": "string"},
                "level": {"enum": ["none", "note", "warning", "error"], "type": "string"},
                "message": {"$ref": "#/definitions/message"},
                "locations": {"type": "array", "minItems": 0, "items": {"$ref": "#/definitions/location"}},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "message": {
            "type": "object", "additionalProperties": False,
            "properties": {"text": {"type": "string"}, "markdown": {"type": "string"}, "id": {"type": "string"},
                           "arguments": {"type": "array", "items": {"type": "string"}},
                           "properties": {"$ref": "#/definitions/propertyBag"}},
            "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
        },
        "location": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": -1},
                "physicalLocation": {"$ref": "#/definitions/physicalLocation"},
                "logicalLocations": {"type": "array", "minItems": 0, "uniqueItems": True,
                                     "items": {"$ref": "#/definitions/logicalLocation"}},
                "message": {"$ref": "#/definitions/message"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "logicalLocation": {
            "type": "object", "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "index": {"type": "integer", "minimum": -1},
                           "fullyQualifiedName": {"type": "string"}, "decoratedName": {"type": "string"},
                           "parentIndex": {"type": "integer", "minimum": -1}, "kind": {"type": "string"},
                           "properties": {"$ref": "#/definitions/propertyBag"}},
        },
        "physicalLocation": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "artifactLocation": {"$ref": "#/definitions/artifactLocation"},
                "region": {"$ref": "#/definitions/region"},
                "contextRegion": {"$ref": "#/definitions/region"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
            # the official schema's other alternative is `address` (binary artifacts)
            "anyOf": [{"required": ["artifactLocation"]}],
        },
        "artifactLocation": {
            "type": "object", "additionalProperties": False,
            "properties": {"uri": {"type": "string", "format": "uri-reference"}, "uriBaseId": {"type": "string"},
                           "index": {"type": "integer", "minimum": -1}, "description": {"$ref": "#/definitions/message"},
                           "properties": {"$ref": "#/definitions/propertyBag"}},
        },
        "region": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "startLine": {"type": "integer", "minimum": 1},
                "startColumn": {"type": "integer", "minimum": 1},
                "endLine": {"type": "integer", "minimum": 1},
                "endColumn": {"type": "integer", "minimum": 1},
                "charOffset": {"type": "integer", "minimum": -1},
                "charLength": {"type": "integer", "minimum": 0},
                "byteOffset": {"type": "integer", "minimum": -1},
                "byteLength": {"type": "integer", "minimum": 0},
                "message": {"$ref": "#/definitions/message"},
                "sourceLanguage": {"type": "string"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
            "anyOf": [{"required": ["startLine"]}, {"required": ["charOffset"]}, {"required": ["byteOffset"]}],
        },
    },
}
SARIF_VALIDATOR = jsonschema.Draft4Validator(SARIF_2_1_0)


def _fc1_line() -> int:
    lines = (ROOT / "examples" / "lenet_bad.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if "name: fc1" in line)


def _sarif_errors(doc: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in SARIF_VALIDATOR.iter_errors(doc)]


# --------------------------------------------------------------------------- GitHub


def test_github_annotation_at_fc1s_line(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = runner.invoke(app, ["check", "--format", "github", "examples/lenet_bad.yaml"])
    assert r.exit_code == 1
    assert _fc1_line() == 15
    (line,) = [x for x in r.stdout.splitlines() if x.startswith("::error ")]
    assert line.startswith("::error file=examples/lenet_bad.yaml,line=15,col=29,title=in-features::fc1 (Linear) ")
    message = line.split("::", 2)[2]
    assert "\n" not in message and "%0Ahint: " in message
    assert r.stdout.count("\n") == len(r.stdout.splitlines())  # one command per line, nothing else


def test_github_notes_are_notices_and_a_clean_file_prints_nothing_else(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = runner.invoke(app, ["check", "-f", "github", "examples/lenet.yaml", "examples/vgg11.yaml"])
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines and all(x.startswith("::notice file=examples/") for x in lines)
    assert any("title=auto-symbolic" in x for x in lines)


def test_github_input_errors_are_annotated_with_exit_2(tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text("input: [N, 3, H, W]\nlayers:\n  - {op: ReLU}\n  - {op: Conv9d, in_channels: 3}\n")
    r = runner.invoke(app, ["check", "--format", "github", str(f)])
    assert r.exit_code == 2
    assert r.stdout.startswith(f"::error file={escape_property(str(f))},line=4,col=")
    assert "title=unknown-op::" in r.stdout


def test_github_escaping():
    assert escape_data("100% sure\r\nnext: a, b") == "100%25 sure%0D%0Anext: a, b"
    assert escape_property("C:\\a,b%\n") == "C%3A\\a%2Cb%25%0A"
    d = Diagnostic("warning", "odd,code", "50% of\nthe input", hint="use: less",
                   location=Location("dir,x/a:b.yaml", 3, 7))
    assert github_command(d, "ignored.yaml") == (
        "::warning file=dir%2Cx/a%3Ab.yaml,line=3,col=7,title=odd%2Ccode::50%25 of%0Athe input%0Ahint: use: less")


def test_github_without_location_points_at_the_file():
    d = Diagnostic("error", "internal", "boom")
    assert github_command(d, "nets/a.yaml") == "::error file=nets/a.yaml,title=internal::boom"
    d = Diagnostic("note", "x", "y", location=Location("a.yaml"))
    assert github_command(d, "b.yaml") == "::notice file=a.yaml,title=x::y"
    assert github([("a.yaml", [d, d]), ("b.yaml", [])]).count("\n") == 1


# --------------------------------------------------------------------------- SARIF


def test_sarif_output_is_valid_and_points_at_fc1(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = runner.invoke(app, ["check", "--format", "sarif", "examples/lenet_bad.yaml", "examples/lenet.yaml"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert not _sarif_errors(doc), _sarif_errors(doc)
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "shapeplan" and driver["version"] == __version__
    assert driver["informationUri"] == INFORMATION_URI
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    assert set(rule_ids) == {res["ruleId"] for res in run["results"]}
    for res in run["results"]:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
    err = next(res for res in run["results"] if res["level"] == "error")
    assert err["ruleId"] == "in-features"
    loc = err["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "examples/lenet_bad.yaml"
    assert loc["region"] == {"startLine": _fc1_line(), "startColumn": 29}
    assert "\nhint: " in err["message"]["text"]
    note = next(res for res in run["results"] if res["level"] == "note")  # lenet.yaml's auto in_features
    assert note["ruleId"] == "auto-symbolic"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "examples/lenet.yaml"


def test_sarif_for_a_file_that_cannot_be_read(tmp_path):
    f = tmp_path / "bad net.yaml"
    f.write_text("input: [N, 3, H, W]\nlayers: [\n")
    r = runner.invoke(app, ["check", "--format", "sarif", str(f)])
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert not _sarif_errors(doc)
    (res,) = doc["runs"][0]["results"]
    assert res["ruleId"] == "yaml" and res["level"] == "error"
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == f.as_uri()
    assert "%20" in f.as_uri()


def test_sarif_without_location_points_at_the_file_and_levels_map():
    diags = [Diagnostic("error", "internal", "boom"), Diagnostic("warning", "w", "careful", layer="conv1",
                                                                 location=Location("n.yaml", 2, 1)),
             Diagnostic("note", "n", "fyi", location=Location("n.yaml", 5))]
    doc = sarif([("dir/my net.yaml", diags)], "9.9")
    assert not _sarif_errors(doc), _sarif_errors(doc)
    r0, r1, r2 = doc["runs"][0]["results"]
    assert r0["locations"] == [{"physicalLocation": {"artifactLocation": {"uri": "dir/my%20net.yaml"}}}]
    assert [r["level"] for r in (r0, r1, r2)] == ["error", "warning", "note"]
    assert r1["locations"][0]["logicalLocations"] == [{"name": "conv1", "kind": "member"}]
    assert r2["locations"][0]["physicalLocation"]["region"] == {"startLine": 5}
    assert [rule["id"] for rule in doc["runs"][0]["tool"]["driver"]["rules"]] == ["internal", "w", "n"]


@pytest.mark.parametrize("bad", [
    {"version": "2.1.0"},
    {"version": "2.0.0", "runs": []},
    {"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]},
    {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"level": "fatal",
                                                                                  "message": {"text": "m"}}]}]},
    {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"},
     "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a"}, "region": {"startLine": 0}}}]}]}]},
])
def test_the_sarif_schema_subset_rejects_invalid_logs(bad):
    assert _sarif_errors(bad)


def test_artifact_uris():
    assert artifact_uri("examples/lenet.yaml") == "examples/lenet.yaml"
    assert artifact_uri("a b/c#d.yaml") == "a%20b/c%23d.yaml"
    assert artifact_uri("/tmp/x y.yaml") == "file:///tmp/x%20y.yaml"
