"""shapeplan: the shapes of a PyTorch CNN, for every input size at once.

    import shapeplan
    rep = shapeplan.check("net.yaml")
    rep.shapes["fc1"], rep.domain.contains(H=32, W=32), str(rep.domain)
    rep.at(N=1, H=32, W=32)["fc1"], rep.domain.nearest(H=1080, W=1920)

The static core (this module, ``check``, ``solve``, ``emit``, ``to_yaml``) never imports
torch; the torch bridge (``from_torch``, ``build``, ``validate``) imports it when called.
"""

from __future__ import annotations

from .analysis.domain.domain import Domain
from .analysis.report import LayerInfo, Report
from .api import check, load, summary
from .backends.emit import build, emit
from .backends.validate import ValidationReport, validate
from .core.dims import symbols
from .core.errors import Diagnostic, InputError, Location, ShapeError, ShapeplanError
from .core.ir import Layer, Network
from .frontends.torch.importer import from_torch
from .ops.platform import set_torch_threads, torch_threads, torch_threads_set
from .render.yaml_out import to_yaml


def flat_features(layers: object, input_shape: object) -> object:
    """In-features for a Linear after ``layers`` (an nn.Sequential or a list of modules).

    ``input_shape``: ints or symbol names, without the batch dim or with it.  Returns an
    int, or a sympy expression when symbols remain.  Static: the modules are not run.
    """
    from .frontends.torch.modules import flat_features as _ff

    return _ff(layers, input_shape)  # type: ignore[arg-type]

def export_specs(model: object, input_shape: object = None, *, max_specs: int = 8) -> object:
    """torch.export ``dynamic_shapes`` for the sizes where ``model`` runs (an nn.Module with its
    ``input_shape``, or a Network / Report), each proven by exporting it; ``.excluded`` says
    which valid sizes no spec holds and why.  Imports torch."""
    from .backends.export import export_specs as _specs

    return _specs(model, input_shape, max_specs=max_specs)


def guard_source(report: Report, function: str = "check_input_sizes") -> str:
    """Python to paste into a model's file: ``check_input_sizes(x)`` raises ValueError exactly
    where forward fails, naming the sizes, the rule and the nearest valid sizes."""
    from .backends.guard import guard_source as _guard

    return _guard(report, function)


__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "Domain",
    "InputError",
    "Layer",
    "LayerInfo",
    "Location",
    "Network",
    "Report",
    "ShapeError",
    "ShapeplanError",
    "ValidationReport",
    "build",
    "check",
    "emit",
    "export_specs",
    "flat_features",
    "from_torch",
    "guard_source",
    "load",
    "summary",
    "set_torch_threads",
    "symbols",
    "to_yaml",
    "torch_threads",
    "torch_threads_set",
    "validate",
]
