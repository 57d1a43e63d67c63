"""Where a submodule was constructed in the user's code: ``self.fc1 = nn.Linear(400, 120)`` in
the parent's ``__init__``, or the k-th argument of an ``nn.Sequential(...)``.  Diagnostics about a
layer's parameters point there (its forward call is where shapes meet; its constructor is where a
number is wrong).  Found by reading the source of the parent's class with ``ast``: nothing runs.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import cache
from typing import Any

from ...core.errors import Location


@cache
def _assignments(cls: type) -> tuple[str | None, dict[str, tuple[int, ast.expr, int]]]:
    """(file, {attribute: (line, value expression, line offset of the parsed source)}) of
    ``self.<attr> = ...`` in cls.__init__."""
    init = cls.__dict__.get("__init__")
    if init is None:
        return None, {}
    try:
        file = inspect.getsourcefile(init)
        lines, start = inspect.getsourcelines(init)
    except (OSError, TypeError):
        return None, {}
    try:
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except SyntaxError:
        return None, {}
    out: dict[str, tuple[int, ast.expr, int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
                        and node.value is not None):
                    out.setdefault(t.attr, (node.lineno + start - 1, node.value, start - 1))
    return file, out


def _in_container(value: ast.expr, index: int, line: int, offset: int) -> int:
    """The line of the ``index``-th element of ``nn.Sequential(a, b, ...)`` / ``nn.ModuleList([...])``."""
    if isinstance(value, ast.Call):
        items: list[ast.expr] = list(value.args)
        if len(items) == 1 and isinstance(items[0], (ast.List, ast.Tuple)):
            items = list(items[0].elts)
        if 0 <= index < len(items) and not any(isinstance(a, ast.Starred) for a in items[:index + 1]):
            return offset + items[index].lineno
    return line


def constructor_location(root: Any, qualname: str) -> Location | None:
    """Where the submodule ``qualname`` of ``root`` was constructed, if the source says."""
    parts = qualname.split(".")
    for depth in range(len(parts) - 1, -1, -1):  # the nearest ancestor whose __init__ names it
        parent = root.get_submodule(".".join(parts[:depth])) if depth else root
        attr = parts[depth]
        for cls in type(parent).__mro__:
            if cls.__module__.split(".")[0] == "torch":
                break
            file, found = _assignments(cls)
            if file is None or attr not in found:
                continue
            line, value, offset = found[attr]
            rest = parts[depth + 1:]
            if len(rest) == 1 and rest[0].isdigit():
                line = _in_container(value, int(rest[0]), line, offset)
            return Location(file, line)
    return None
