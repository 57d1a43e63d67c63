"""Reading YAML with positions: every value keeps the file:line:col it came from.

PyYAML composes the document into nodes (which carry marks); we build plain Python values
from the nodes ourselves, with a budget on the number of nodes, so alias bombs
("billion laughs") and deep nesting stay bounded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, Location

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

Path_ = tuple[Any, ...]

try:  # the C loader is much faster where libyaml is available
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


@dataclass
class Doc:
    """A parsed document: the value and the location of every path in it."""

    value: Any
    file: str | None
    locs: dict[Path_, Location] = field(default_factory=dict)  # path -> where the key/item starts

    def loc(self, *path: Any) -> Location | None:
        """Location of ``path``, or of its closest written ancestor."""
        p = tuple(path)
        while True:
            if p in self.locs:
                return self.locs[p]
            if not p:
                return Location(self.file, 1, 1) if self.file else None
            p = p[:-1]


def read_text(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise InputError(f"no such file: {name}", code="file", location=Location(name))
    if p.is_dir():
        raise InputError(f"{name} is a directory, not a YAML file", code="file", location=Location(name))
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{name} is {size} bytes; the limit is {MAX_BYTES}", code="file", location=Location(name))
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {name}: {e.strerror or e}", code="file", location=Location(name)) from None
    if b"\x00" in data:
        raise InputError(f"{name} is a binary file, not YAML", code="file", location=Location(name))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{name} is not UTF-8 text (byte {e.start})", code="file", location=Location(name)) from None


def _mark(node: yaml.Node, file: str | None) -> Location:
    m = node.start_mark
    return Location(file, m.line + 1, m.column + 1)


class _Builder:
    def __init__(self, file: str | None) -> None:
        self.file = file
        self.locs: dict[Path_, Location] = {}
        self.count = 0
        self.scalar = yaml.SafeLoader("")  # only its scalar constructors are used

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise InputError(
                f"the document expands to more than {MAX_NODES} values (an alias bomb?)",
                code="yaml", location=_mark(node, self.file),
            )
        if depth > MAX_DEPTH:
            raise InputError(f"the document is nested deeper than {MAX_DEPTH} levels", code="yaml",
                             location=_mark(node, self.file))
        self.locs.setdefault(path, _mark(node, self.file))
        if isinstance(node, yaml.ScalarNode):
            try:
                value = self.scalar.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, OverflowError) as e:
                raise InputError(f"bad value: {e}", code="yaml", location=_mark(node, self.file)) from None
            if node.tag == "tag:yaml.org,2002:int" and isinstance(value, int) and abs(value) > 10**18:
                raise InputError(f"integer {str(value)[:24]}... is too large", code="bad-argument",
                                 location=_mark(node, self.file))
            if not isinstance(value, (str, int, float, bool, type(None))):
                raise InputError(f"unsupported YAML value of type {type(value).__name__} (tag {node.tag})",
                                 code="yaml", location=_mark(node, self.file))
            return value
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    merged = self.build(value_node, path, depth + 1)
                    for part in merged if isinstance(merged, list) else [merged]:
                        if not isinstance(part, dict):
                            raise InputError("'<<' must merge a mapping", code="yaml", location=_mark(key_node, self.file))
                        for k, v in part.items():
                            out.setdefault(k, v)
                    continue
                key = self.build(key_node, (*path, "<key>"), depth + 1)
                if not isinstance(key, str):
                    key = str(key).lower() if isinstance(key, bool) else str(key)
                if key in out:
                    raise InputError(f"duplicate key {key!r}", code="yaml", location=_mark(key_node, self.file))
                self.locs[path + (key,)] = _mark(key_node, self.file)
                out[key] = self.build(value_node, (*path, key), depth + 1)
            return out
        raise InputError("unsupported YAML node", code="yaml", location=_mark(node, self.file))  # pragma: no cover


def parse_yaml(text: str, file: str | None = None) -> Doc:
    """Parse YAML text into a :class:`Doc`; YAML errors become an :class:`InputError`."""
    if len(text) > MAX_BYTES:
        raise InputError(f"the document is larger than {MAX_BYTES} bytes", code="file", location=Location(file))
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        what = " ".join(x for x in (e.context, e.problem) if x) or "invalid YAML"
        raise InputError(f"invalid YAML: {what}", code="yaml", location=loc,
                         hint="check indentation, colons and brackets near this position") from None
    except yaml.YAMLError as e:
        raise InputError(f"invalid YAML: {e}", code="yaml", location=Location(file)) from None
    except RecursionError:
        raise InputError("the document is nested too deeply", code="yaml", location=Location(file)) from None
    if node is None:
        raise InputError("the document is empty", code="empty", location=Location(file, 1, 1),
                         hint="a network needs at least `input:` and `layers:`")
    b = _Builder(file)
    try:
        value = b.build(node, (), 0)
    except RecursionError:
        raise InputError("the document is nested too deeply", code="yaml", location=Location(file)) from None
    return Doc(value, file, b.locs)
