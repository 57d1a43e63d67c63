"""nn.Module instances -> layers of the registry (imports torch lazily, only when called).

A module maps to the op of its exact class (``type(m)`` must be the class in ``torch.nn``
of that name; subclasses and look-alikes are refused, never matched by name substrings).
Its constructor arguments are read back from the module's attributes, which torch keeps
under the constructor's own names (``bias`` and other tensors become ``True``/``False``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ...core.dims import Dim, norm, prod, sym
from ...core.errors import InputError
from ...ops import REGISTRY, OpSpec

# constructor parameters that torch stores as tensors: present or not
_TENSOR_FLAGS = {"bias", "weight"}
# what an uninitialised Lazy module infers from its first input, by the class it becomes
_LAZY_AUTO = {"Conv1d": "in_channels", "Conv2d": "in_channels", "Conv3d": "in_channels",
              "ConvTranspose1d": "in_channels", "ConvTranspose2d": "in_channels", "ConvTranspose3d": "in_channels",
              "Linear": "in_features", "BatchNorm1d": "num_features", "BatchNorm2d": "num_features",
              "BatchNorm3d": "num_features", "InstanceNorm1d": "num_features", "InstanceNorm2d": "num_features",
              "InstanceNorm3d": "num_features"}


def _lazy_target(m: Any) -> str | None:
    """The torch.nn class an uninitialised Lazy module becomes at its first forward, or None."""
    import torch.nn as nn
    from torch.nn.modules.lazy import LazyModuleMixin

    if not isinstance(m, LazyModuleMixin) or not m.has_uninitialized_params():  # type: ignore[misc]
        return None
    target = getattr(type(m), "cls_to_become", None)
    name = getattr(target, "__name__", "")
    if type(m) is not getattr(nn, type(m).__name__, None) or name not in _LAZY_AUTO:
        return None
    return name


def is_leaf_module(m: Any) -> bool:
    """A torch.nn module class (one layer, not traced through: it has a rule, or a clear "no
    rule" error).  Containers and user classes, even subclasses of torch.nn ones, are traced
    through."""
    import torch.nn as nn

    cls = type(m)
    if cls in (nn.Sequential, nn.ModuleList, nn.ModuleDict):
        return False
    return getattr(nn, cls.__name__, None) is cls


def _torch_nn_class(m: Any) -> OpSpec:
    import torch.nn as nn

    name = _lazy_target(m) or type(m).__name__
    spec = REGISTRY.get(name)
    if spec is None or spec.kind != "module" or (name == type(m).__name__ and getattr(nn, name, None) is not type(m)):
        raise InputError(
            f"no shape rule for module {type(m).__module__}.{type(m).__qualname__}",
            code="unsupported-module",
            hint="shapeplan knows the torch.nn modules listed by `shapeplan ops`",
        )
    return spec


def module_kwargs(m: Any) -> tuple[str, dict[str, Any]]:
    """(op name, constructor keyword arguments) of a torch.nn module instance.  An uninitialised
    Lazy module is the module it becomes, with its inferred argument ``auto`` (what its first
    forward does)."""
    import torch

    spec = _torch_nn_class(m)
    lazy = _lazy_target(m)
    kwargs: dict[str, Any] = {}
    for p in spec.params:
        if not hasattr(m, p.name):
            continue
        v = getattr(m, p.name)
        if p.name in _TENSOR_FLAGS or isinstance(v, torch.Tensor):
            v = v is not None and not isinstance(v, bool) or v is True
        elif isinstance(v, torch.Size):
            v = list(v)
        elif isinstance(v, tuple):
            v = [list(x) if isinstance(x, tuple) else x for x in v]
        kwargs[p.name] = v
    if lazy is not None:
        kwargs[_LAZY_AUTO[lazy]] = "auto"
    return spec.name, kwargs


def _flatten_modules(layers: Any) -> list[Any]:
    import torch.nn as nn

    if isinstance(layers, nn.Sequential):
        out: list[Any] = []
        for child in layers:
            out += _flatten_modules(child)
        return out
    if isinstance(layers, nn.Module):
        return [layers]
    if isinstance(layers, Iterable):
        out = []
        for child in layers:
            out += _flatten_modules(child)
        return out
    raise InputError(f"expected an nn.Sequential or a list of modules, got {type(layers).__name__}", code="bad-input")


def _dim(d: Any) -> Dim:
    if isinstance(d, str):
        return sym(d)
    if isinstance(d, bool) or not isinstance(d, int) or d < 0:
        raise InputError(f"a dim must be a non-negative int or a symbol name, got {d!r}", code="bad-dim")
    return d


def flat_features(layers: Any, input_shape: Sequence[int | str]) -> Dim:
    """The number of features after flattening the output of ``layers`` (no batch dim).

    ``layers``: an ``nn.Sequential`` or a list of modules; ``input_shape``: ints or symbol
    names, without the batch dim (``(1, 32, 32)``) or with it (``(N, 1, 32, 32)``).
    Computed statically from the shape rules; the modules are not run.
    """
    from ...analysis.check import run_check
    from ..yaml.network import load_dict

    mods = _flatten_modules(layers)
    if not mods:
        return norm(prod(_dim(d) for d in input_shape))
    specs = [module_kwargs(m) for m in mods]
    base = [d if isinstance(d, int) else str(d) for d in (_dim(d) for d in input_shape)]
    attempts = [[1, *base], base]  # without the batch dim first, then with it
    last: Any = None
    for shape in attempts:
        net = load_dict({"name": "Stack", "input": shape, "layers": [{"op": op, **kw} for op, kw in specs]})
        rep = run_check(net)
        last = rep
        if rep.ok and rep.outputs[0] is not None:
            out = rep.outputs[0]
            return norm(prod(out[1:]))
        if not any(d.code == "rank" for d in rep.errors):
            break
    assert last is not None
    raise InputError(
        "the layers do not accept this input: " + "; ".join(d.message for d in last.errors[:3]),
        code="shape", diagnostics=last.errors or None,
    )
