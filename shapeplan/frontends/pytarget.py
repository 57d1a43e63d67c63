"""A Python target, as the command line names one: ``models.py:Net`` or ``package.module:Net``.

The target is imported (a file by its path, a module by its name), then made an ``nn.Module``:
a module instance is taken as it is, a module class is instantiated and a factory function
called (with the positional and keyword arguments given; on the meta device first, where no
weight is allocated, else on the CPU).  Its input shape is the one given, else what the module
says of it: a jaxtyping-style annotation of forward's tensor argument (``x: Float[Tensor,
"N 3 H W"]``), else timm's ``pretrained_cfg["input_size"]`` (the size the model was trained
at: only the channels are kept, the batch and the spatial sizes stay symbols).  Then it is
imported with :func:`~shapeplan.frontends.torch.importer.from_torch`.

torch is imported only when a target is loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..core.dims import valid_symbol_name
from ..core.errors import Diagnostic, InputError, Location
from ..core.ir import Network

_TARGET = re.compile(r"(?P<mod>.+):(?P<attr>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
# the dims string of a jaxtyping-style annotation written as text: Float[Tensor, "N 3 H W"]
_DIMS_TEXT = re.compile(r"\[\s*[\w.]+\s*,\s*(?P<q>['\"])(?P<dims>[^'\"]*)(?P=q)\s*\]")
_SPATIAL = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}

InputShape = list[int | str]


def is_python_target(text: str) -> bool:
    """Does ``text`` name a Python object (``models.py:Net``, ``pkg.models:Net``) rather than a
    net.yaml file?  An existing file is always a file."""
    m = _TARGET.fullmatch(text)
    if m is None or Path(text).exists():
        return False
    mod = m["mod"]
    return mod.endswith(".py") or "/" in mod or "\\" in mod or _MODULE_NAME.fullmatch(mod) is not None


def _import_file(path: Path) -> Any:
    if not path.is_file():
        raise InputError(f"no such file: {path}", code="file")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise InputError(f"cannot import {path}", code="import")
    module = importlib.util.module_from_spec(spec)
    known = sys.modules.get(path.stem)
    if known is None or Path(getattr(known, "__file__", None) or "").resolve() == path.resolve():
        sys.modules[path.stem] = module  # `import models` in the file (pickling, dataclasses) finds it
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # its neighbours import as they do when it runs
    spec.loader.exec_module(module)
    return module


def resolve(target: str) -> tuple[Any, str | None]:
    """``package.module:Attr`` or ``path/to/file.py:Attr`` -> (the object, the module's file)."""
    m = _TARGET.fullmatch(target)
    if m is None:
        raise InputError(f"expected FILE.py:NAME or MODULE:NAME, got {target!r}", code="bad-usage",
                         hint="e.g. models.py:Net or mypkg.models:Net")
    mod_name, attr = m["mod"], m["attr"]
    try:
        if mod_name.endswith(".py") or "/" in mod_name or "\\" in mod_name:
            module = _import_file(Path(mod_name))
        else:
            if str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(mod_name)
    except InputError:
        raise
    except BaseException as e:  # noqa: BLE001 - the user's module may raise anything (SystemExit too)
        if isinstance(e, KeyboardInterrupt):
            raise
        raise InputError(f"cannot import {mod_name}: {type(e).__name__}: {e}"[:500], code="import") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n, v in vars(module).items() if not n.startswith("_") and callable(v)
                     and not inspect.ismodule(v)]
            raise InputError(f"{mod_name} has no attribute {attr!r}", code="import",
                             hint=f"it has: {', '.join(names[:20])}" if names else None)
        obj = getattr(obj, part)
    return obj, getattr(module, "__file__", None)


@contextmanager
def _meta_device() -> Iterator[None]:
    """Build on the meta device: no weights are allocated (shapes are all that matter)."""
    import torch

    with torch.device("meta"):
        yield


def instantiate(obj: Any, target: str, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None) -> Any:
    """The ``nn.Module`` that ``obj`` is or makes: an instance as it is; a class or a factory
    called with ``args`` and ``kwargs`` (on the meta device, else on the CPU)."""
    import torch.nn as nn

    kwargs = dict(kwargs or {})
    if isinstance(obj, nn.Module):
        if args or kwargs:
            raise InputError(f"{target} is a module instance: --args/--kwargs apply to a class or a factory",
                             code="bad-usage")
        return obj
    if not callable(obj):
        raise InputError(f"{target} is a {type(obj).__name__}, not an nn.Module, a module class or a factory",
                         code="import")
    try:
        try:
            with _meta_device():
                made = obj(*args, **kwargs)
            if isinstance(made, nn.Module) and _has_lazy(made):
                made = obj(*args, **kwargs)  # Lazy modules allocate nothing yet; on the CPU they can run
        except Exception:  # noqa: BLE001 - some constructors compute with tensors: build on the CPU
            made = obj(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the user's constructor may raise anything
        given = ", ".join([*(repr(a) for a in args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        raise InputError(f"cannot build {target}({given}): {type(e).__name__}: {e}"[:500], code="import",
                         hint="give the constructor's arguments as JSON: --args '[10]' --kwargs "
                              "'{\"num_classes\": 10}'") from None
    if not isinstance(made, nn.Module):
        raise InputError(f"{target}(...) returned a {type(made).__name__}, not an nn.Module", code="import")
    return made


def _has_lazy(module: Any) -> bool:
    from torch.nn.parameter import is_lazy

    return any(is_lazy(t) for t in [*module.parameters(), *module.buffers()])


# ---------------------------------------------------------------------- the input the module declares


def parse_dims(text: str, where: str) -> InputShape:
    """``"N 3 H W"`` (jaxtyping's dims) -> ``["N", 3, "H", "W"]``; numbers stay numbers, names
    become symbols (a broadcastable ``#c`` is ``c``).  Variadic dims (``*batch``, ``...``),
    anonymous ones (``_``) and expressions cannot be a shape: an InputError asks for --input."""
    out: InputShape = []
    for tok in text.replace(",", " ").split():
        name = tok[1:] if tok.startswith("#") else tok
        if name.isdigit():
            out.append(int(name))
        elif valid_symbol_name(name):
            out.append(name)
        else:
            why = ("has a variable number of dims" if tok.startswith("*") or tok == "..." else
                   "has an unnamed dim" if tok == "_" else "has a dim that is not a plain name or number")
            raise InputError(f"the input shape cannot be read from {where}: {text!r} {why} ({tok!r})",
                             code="input", hint="give the input shape: --input N,3,H,W")
    if not out:
        raise InputError(f"{where} names no dims", code="input", hint="give the input shape: --input N,3,H,W")
    return out


def _annotation_dims(ann: Any) -> str | None:
    """The dims string of a jaxtyping-style annotation (an object or its text), or None."""
    if ann is inspect.Parameter.empty:
        return None
    dims = getattr(ann, "dim_str", None)
    if isinstance(dims, str):
        return dims
    text = ann if isinstance(ann, str) else repr(ann)
    m = _DIMS_TEXT.search(text)
    return m["dims"] if m else None


def _forward_location(module: Any) -> Location | None:
    from .torch.importer import forward_location

    loc = forward_location(module)
    return None if loc is None or loc.file is None else replace(loc, file=_display_path(loc.file))


def annotated_input(module: Any) -> tuple[dict[str, InputShape], Diagnostic] | None:
    """The shapes forward's annotations give its tensor arguments (``x: Float[Tensor, "N 3 H
    W"]``), and a note saying where they come from; None when its first argument has none."""
    try:
        params = [p for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return None
    shapes: dict[str, InputShape] = {}
    for i, p in enumerate(params):
        dims = _annotation_dims(p.annotation)
        if dims is None:
            if i == 0:
                return None
            continue
        shapes[p.name] = parse_dims(dims, f"the annotation of forward's argument {p.name!r}")
    text = ", ".join(f"{k}: ({', '.join(str(d) for d in v)})" for k, v in shapes.items())
    return shapes, Diagnostic("note", "input", f"the input shape comes from forward's annotation: {text}",
                              location=_forward_location(module))


def cfg_input(module: Any) -> tuple[InputShape, Diagnostic] | None:
    """The input shape from timm's ``pretrained_cfg``/``default_cfg`` ``input_size`` (C, H, W):
    ``["N", C, "H", "W"]``, and a note that the spatial sizes stay symbols; None without one."""
    for key in ("pretrained_cfg", "default_cfg"):
        cfg = getattr(module, key, None)
        size = cfg.get("input_size") if isinstance(cfg, Mapping) else None
        if isinstance(size, (list, tuple)) and len(size) - 1 in _SPATIAL and all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in size):
            names = _SPATIAL[len(size) - 1]
            shape: InputShape = ["N", size[0], *names]
            trained = " x ".join(str(d) for d in size[1:])
            fixed = " (timm marks it fixed_input_size: the valid inputs below say which sizes run)" if (
                isinstance(cfg, Mapping) and cfg.get("fixed_input_size")) else ""
            note = Diagnostic("note", "input", f"the input shape (N, {size[0]}, {', '.join(names)}) comes from the "
                              f"model's {key}['input_size'] = {tuple(size)}: {', '.join(names)} stay symbols, since "
                              f"{trained} is the size it was trained at, not a requirement{fixed}",
                              hint=f"give another shape with --input, e.g. --input 1,{size[0]},{','.join(map(str, size[1:]))}")
            return shape, note
    return None


def declared_input(module: Any) -> tuple[InputShape | dict[str, InputShape], Diagnostic] | None:
    """The input shape the module declares (forward's annotation, else timm's cfg) with a note
    saying where it comes from, or None when it declares none."""
    found: tuple[Any, Diagnostic] | None = annotated_input(module) or cfg_input(module)
    if found is None:
        return None
    shape, note = found
    if isinstance(shape, dict) and len(shape) == 1:
        shape = next(iter(shape.values()))
    return shape, note


def parse_input(text: str) -> InputShape:
    """``"N,3,H,W"`` (or ``"(N, 3, H, W)"``, ``"N 3 H W"``) -> ``["N", 3, "H", "W"]``."""
    items = text.replace("(", " ").replace(")", " ").replace("[", " ").replace("]", " ").replace(",", " ").split()
    if not items:
        raise InputError(f"--input {text!r} names no dims", code="bad-usage", hint="e.g. --input N,3,H,W")
    return [int(d) if d.isdigit() else d for d in items]


# ---------------------------------------------------------------------- the whole load


@dataclass
class Imported:
    """A loaded Python target: its network, the module it came from, and what was said on the way."""

    network: Network
    module: Any
    notes: list[Diagnostic] = field(default_factory=list)


def load_python(target: str, input_shape: Any = None, args: Sequence[Any] = (),
                kwargs: Mapping[str, Any] | None = None, *, default_input: Any = None) -> Imported:
    """Import ``target`` (``models.py:Net``), make its module and trace it (see the module's
    docstring).  ``input_shape``: as :func:`from_torch` takes it, or None for what the module
    declares (else ``default_input``, else an InputError asking for ``--input``).  The
    network's ``source`` is the module's file."""
    from .torch.importer import from_torch

    obj, file = resolve(target)
    if not _TARGET.fullmatch(target)["mod"].endswith(".py"):  # type: ignore[index]
        file = None  # a module by name: its name is clearer than its __init__.py
    module = instantiate(obj, target, args, kwargs)
    notes: list[Diagnostic] = []
    if input_shape is None:
        declared = declared_input(module)
        if declared is not None:
            input_shape, note = declared
            notes.append(note)
        elif default_input is not None:
            input_shape = default_input
        else:
            raise InputError(f"the input shape of {target} is not known: forward's argument has no shape "
                             "annotation and the model no input_size in its config", code="input",
                             hint="give it: --input N,3,H,W (names are symbols, numbers are fixed sizes)")
    net = from_torch(module, input_shape)
    source = _display_path(file) if file else target
    notes = [n if n.location is not None else replace(n, location=Location(source)) for n in notes]
    for n in (net, *(a for a in net.alternatives if isinstance(a, Network))):
        object.__setattr__(n, "source", source)  # frozen, as from_torch sets its alternatives
    if notes:
        object.__setattr__(net, "_load_diagnostics", (*notes, *getattr(net, "_load_diagnostics", ())))
    return Imported(net, module, notes)


def _display_path(file: str) -> str:
    """``file`` relative to the working directory when it is inside it."""
    try:
        return str(Path(file).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return file


__all__ = ["Imported", "annotated_input", "cfg_input", "declared_input", "instantiate", "is_python_target",
           "load_python", "parse_dims", "parse_input", "resolve"]
