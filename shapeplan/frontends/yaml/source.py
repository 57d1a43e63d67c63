"""Reading YAML with positions: every value keeps the file:line:col it came from.

PyYAML composes the document into nodes (which carry marks); we build plain Python values
from the nodes ourselves.  Before building, :func:`_measure` computes what the node graph
expands to (aliases shared, so in time proportional to the file), so alias bombs ("billion
laughs"), recursive aliases and deep nesting are refused before anything is expanded.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...core.errors import InputError, Location

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
    """The text of a net.yaml file: a regular file of at most MAX_BYTES, UTF-8 (BOM allowed).

    FIFOs, devices and sockets are refused (reading one could block forever or never end).
    """
    p = Path(path)
    name = str(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"no such file: {name}", code="file", location=Location(name)) from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path
        raise InputError(f"cannot read {name}: {getattr(e, 'strerror', None) or e}", code="file",
                         location=Location(name)) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{name} is a directory, not a YAML file", code="file", location=Location(name))
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{name} is not a regular file (a pipe or a device?)", code="file", location=Location(name))
    if st.st_size > MAX_BYTES:
        raise InputError(f"{name} is {st.st_size} bytes; the limit is {MAX_BYTES}", code="file",
                         location=Location(name))
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as e:
        raise InputError(f"cannot read {name}: {e.strerror or e}", code="file", location=Location(name)) from None
    if len(data) > MAX_BYTES:  # it grew since stat
        raise InputError(f"{name} is larger than {MAX_BYTES} bytes", code="file", location=Location(name))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{name} is UTF-16 text; save it as UTF-8", code="file", location=Location(name))
    if b"\x00" in data:
        raise InputError(f"{name} is a binary file, not YAML", code="file", location=Location(name))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(f"{name} is not UTF-8 text (byte {e.start}: {data[e.start:e.start + 1]!r})", code="file",
                         location=Location(name, line, col)) from None


def _mark(node: yaml.Node, file: str | None) -> Location:
    m = node.start_mark
    return Location(file, m.line + 1, m.column + 1)


def _check_nesting(text: str, file: str | None) -> None:
    """Stream the parser's events and stop at the first collection nested too deeply.

    libyaml's cost grows with the square of the nesting depth (``[[[[...`` of 10**5
    levels would take hours), so this runs before composing and stops early.
    """
    depth = 0
    for ev in yaml.parse(text, Loader=_Loader):
        if isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                m = ev.start_mark
                raise InputError(f"the document is nested deeper than {MAX_DEPTH} levels", code="yaml",
                                 location=Location(file, m.line + 1, m.column + 1))
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1


_PLAIN_TAGS = {yaml.SequenceNode: "tag:yaml.org,2002:seq", yaml.MappingNode: "tag:yaml.org,2002:map"}


def _measure(root: yaml.Node, file: str | None) -> None:
    """Refuse a document that expands to more than MAX_NODES values, nests deeper than
    MAX_DEPTH, refers to itself through an alias, or tags a list or mapping (``!!python/..``).

    Each distinct node is visited once (an alias is the same node object), so this takes
    time proportional to the file, not to what it expands to.
    """
    done: dict[int, tuple[int, int]] = {}  # id(node) -> (values it expands to, its height)
    open_: set[int] = set()
    # iterative post-order walk: (node, depth, children pushed?)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, expanded = stack.pop()
        key = id(node)
        if depth > MAX_DEPTH:
            raise InputError(f"the document is nested deeper than {MAX_DEPTH} levels", code="yaml",
                             location=_mark(node, file))
        kids: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            kids = [n for pair in node.value for n in pair]
        if type(node) in _PLAIN_TAGS and node.tag != _PLAIN_TAGS[type(node)]:
            raise InputError(f"unsupported YAML tag {node.tag[:60]!r}", code="yaml", location=_mark(node, file),
                             hint="net.yaml uses plain lists and mappings, without tags")
        if expanded:
            open_.discard(key)
            size = 1 + sum(done[id(k)][0] for k in kids)
            height = 1 + max((done[id(k)][1] for k in kids), default=0)
            if size > MAX_NODES:
                raise InputError(f"the document expands to more than {MAX_NODES} values (an alias bomb?)",
                                 code="yaml", location=_mark(node, file))
            done[key] = (size, height)
            continue
        if key in done:
            if depth + done[key][1] - 1 > MAX_DEPTH:
                raise InputError(f"the document is nested deeper than {MAX_DEPTH} levels", code="yaml",
                                 location=_mark(node, file))
            continue
        if key in open_:
            raise InputError("an alias refers to a value that contains it (a recursive alias)", code="yaml",
                             location=_mark(node, file))
        open_.add(key)
        stack.append((node, depth, True))
        for k in reversed(kids):
            stack.append((k, depth + 1, False))


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
            if node.tag == "tag:yaml.org,2002:int" and len(node.value) > 40:
                raise InputError(f"integer {node.value[:24]}... ({len(node.value)} characters) is too large",
                                 code="bad-argument", location=_mark(node, self.file))
            try:
                value = self.scalar.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, OverflowError) as e:
                what = e.problem if isinstance(e, yaml.MarkedYAMLError) and e.problem else str(e).splitlines()[0]
                raise InputError(f"bad value: {what[:200]}", code="yaml", location=_mark(node, self.file)) from None
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
            merged_in: dict[str, Any] = {}  # from `<<: *anchor`; keys written here take precedence
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    merged = self.build(value_node, path, depth + 1)
                    for part in merged if isinstance(merged, list) else [merged]:
                        if not isinstance(part, dict):
                            raise InputError("'<<' must merge a mapping", code="yaml", location=_mark(key_node, self.file))
                        for k, v in part.items():
                            merged_in.setdefault(k, v)
                    continue
                key = self.build(key_node, (*path, "<key>"), depth + 1)
                if not isinstance(key, str):
                    key = str(key).lower() if isinstance(key, bool) else str(key)
                if key in out:
                    raise InputError(f"duplicate key {key[:60]!r}", code="yaml", location=_mark(key_node, self.file))
                self.locs[path + (key,)] = _mark(key_node, self.file)
                out[key] = self.build(value_node, (*path, key), depth + 1)
            for k, v in merged_in.items():
                out.setdefault(k, v)
            return out
        raise InputError("unsupported YAML node", code="yaml", location=_mark(node, self.file))  # pragma: no cover


_PLAIN_SCALARS = (str, int, float, bool, type(None))


def plain_doc(data: Any) -> Doc:
    """A :class:`Doc` for a network given as Python data (``load(dict)``).

    The data is copied into plain values (str keys; str, int, float, bool, None, lists;
    sympy expressions, for networks built in Python), under the same limits as a file:
    anything else, a structure that contains itself, or too many values is an InputError.
    """
    import sympy

    count = 0

    def conv(v: Any, depth: int, active: set[int]) -> Any:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            raise InputError(f"the network has more than {MAX_NODES} values", code="bad-network")
        if depth > MAX_DEPTH:
            raise InputError(f"the network is nested deeper than {MAX_DEPTH} levels", code="bad-network")
        if isinstance(v, _PLAIN_SCALARS):
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**18:
                raise InputError(f"integer {str(v)[:24]}... is too large", code="bad-argument")
            return v
        if isinstance(v, sympy.Expr):
            return v
        if isinstance(v, (list, tuple, dict)):
            if id(v) in active:
                raise InputError("the network contains itself (a recursive list or dict)", code="bad-network")
            active.add(id(v))
            try:
                if isinstance(v, dict):
                    out: dict[str, Any] = {}
                    for k, x in v.items():
                        if isinstance(k, bool):
                            key = str(k).lower()
                        elif isinstance(k, (str, int)):
                            key = str(k)
                        else:
                            raise InputError(f"a key must be a string, got a {type(k).__name__}", code="bad-network")
                        out[key] = conv(x, depth + 1, active)
                    return out
                return [conv(x, depth + 1, active) for x in v]
            finally:
                active.discard(id(v))
        raise InputError(f"unsupported value of type {type(v).__name__} (use str, int, float, bool, lists, dicts)",
                         code="bad-network")

    return Doc(conv(data, 0, set()), None, {})


def parse_yaml(text: str, file: str | None = None) -> Doc:
    """Parse YAML text into a :class:`Doc`; YAML errors become an :class:`InputError`."""
    if len(text) > MAX_BYTES:
        raise InputError(f"the document is larger than {MAX_BYTES} bytes", code="file", location=Location(file))
    try:
        _check_nesting(text, file)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        what = " ".join(x for x in (e.context, e.problem) if x) or "invalid YAML"
        raise InputError(f"invalid YAML: {what}", code="yaml", location=loc,
                         hint="check indentation, colons and brackets near this position") from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow: no mark, a position
        pos = e.position if isinstance(e.position, int) else 0
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        char = e.character if isinstance(e.character, int) else ord(e.character or "\0")
        raise InputError(f"invalid YAML: unacceptable character #x{char:04x}: {e.reason}", code="yaml",
                         location=Location(file, line, col)) from None
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"invalid YAML: {first[:200]}", code="yaml", location=Location(file)) from None
    except RecursionError:
        raise InputError("the document is nested too deeply", code="yaml", location=Location(file)) from None
    if node is None:
        raise InputError("the document is empty", code="empty", location=Location(file, 1, 1),
                         hint="a network needs at least `input:` and `layers:`")
    b = _Builder(file)
    try:
        _measure(node, file)
        value = b.build(node, (), 0)
    except RecursionError:
        raise InputError("the document is nested too deeply", code="yaml", location=Location(file)) from None
    return Doc(value, file, b.locs)
