"""The house's layering, read from the source (ast), so that a new import that breaks it fails CI.

The flow: front ends (net.yaml, nn.Module) -> the IR (core) -> op rules (ops) -> analysis
(propagate, domain, Report) -> back ends (emitted source, torch runs) and render (text, JSON,
pictures) -> cli.  Each package may import only the packages before it; the core, the rules,
the analysis and render never import torch, typer or rich (not even lazily: they run without
them); no import cycle among modules (imports under ``if TYPE_CHECKING`` excepted, as they do
not run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PKG = Path(__file__).resolve().parents[1] / "shapeplan"

# package -> the shapeplan packages its modules may import (besides its own)
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "ops": {"core"},
    "analysis": {"core", "ops"},
    "render": {"core", "ops", "analysis"},
    "frontends": {"core", "ops", "analysis"},
    "backends": {"core", "ops", "analysis", "frontends"},
}
NO_THIRD_PARTY = {"core", "ops", "analysis", "render"}
HEAVY = {"torch", "torchvision", "timm", "typer", "rich"}


def _name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports(path: Path) -> list[tuple[str, bool, bool]]:
    """(module imported, at module level?, under TYPE_CHECKING?) for every import in ``path``."""
    name = _name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: list[tuple[str, bool, bool]] = []

    def walk(node: ast.AST, top: bool, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                walk(child, top, True)
                continue
            here = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, here, typing_only) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                for a in child.names:  # `from . import x` names a module
                    full = f"{mod}.{a.name}"
                    found.append((full if full in MODULES else mod, here, typing_only))
            walk(child, here, typing_only)

    walk(ast.parse(path.read_text()), True, False)
    return found


def _layer(module: str) -> str:
    """The package a module is in (``analysis`` for shapeplan.analysis.domain.boxes); "" at the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PKG / parts[1]).is_dir() else ""


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_flow(module: str) -> None:
    layer = _layer(module)
    bad = []
    for target, _, typing_only in imports(MODULES[module]):
        root = target.split(".")[0]
        if root in HEAVY and layer in NO_THIRD_PARTY:
            bad.append(f"{target} (the {layer} package runs without torch and the CLI)")
        if root == "shapeplan" and layer in ALLOWED and not typing_only:
            other = _layer(target) if target in MODULES else target.split(".")[1]
            if other != layer and other not in ALLOWED[layer]:
                bad.append(f"{target} ({layer} may import {', '.join(sorted(ALLOWED[layer])) or 'nothing else'})")
    assert not bad, f"{module} imports " + "; ".join(bad)


def test_no_import_cycles() -> None:
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        for target, top, typing_only in imports(path):
            if top and not typing_only and target in MODULES and target != module:
                graph.add_edge(module, target)
    # a package's __init__ importing its own modules is how Python packages work, not a cycle
    for module in list(graph):
        for target in list(graph.successors(module)):
            if target.startswith(module + ".") and (PKG.parent / module.replace(".", "/")).is_dir():
                graph.remove_edge(module, target)
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join([*c, c[0]]) for c in cycles[:5])


def test_the_reader_sees_lazy_and_typing_only_imports() -> None:
    """The checks above rest on this reading: a lazy import is seen (not at module level), an
    import under TYPE_CHECKING is marked, a relative import is resolved to its module."""
    tables = imports(MODULES["shapeplan.frontends.torch.tables"])
    assert ("torch", False, False) in tables and ("shapeplan.ops", True, False) in tables
    commands = imports(MODULES["shapeplan.cli.commands"])
    assert ("shapeplan.analysis.report", True, True) in commands
    assert _layer("shapeplan.analysis.domain.boxes") == "analysis" and _layer("shapeplan.api") == ""
