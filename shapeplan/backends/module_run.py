"""Forward passes of a user's own ``nn.Module``, compared with shapeplan's prediction.

Where :func:`shapeplan.validate` runs the module that :func:`shapeplan.emit` writes, this
runs the module itself (as :func:`shapeplan.testing.assert_shapes` does for an
``nn.Module``): eval mode, no grad, its weights and buffers replaced by empty tensors on
``device`` (on ``meta`` nothing is allocated, nothing computed), forward hooks on the
submodules named like a layer.  The module is left as it was: modes, weights, no hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..analysis.report import Report
from .validate import Mismatch, SizeResult, _first_line, _predicted


def module_results(module: Any, rep: Report, sizes: list[dict[str, int]], device: str) -> list[SizeResult]:
    """Run the user's own module at every size (eval mode, no grad, its weights replaced by
    empty tensors on ``device``: on ``meta`` nothing is allocated) and compare each layer's
    output (the submodules named like a layer, called once) and the outputs."""
    import torch
    from torch.func import functional_call

    from ..frontends.torch.interpreter import sanitize as _sanitize

    target = torch.device(device)
    state = {k: (t if t.device == target else torch.empty_like(t, device=target) if target.type == "meta"
                 else t.to(target))
             for k, t in [*module.named_parameters(), *module.named_buffers()]}
    shapes = rep.shapes
    outputs = list(rep.network.outputs)
    captured: dict[str, list[tuple[int, ...]]] = {}

    def hook(name: str) -> Callable[..., None]:
        def record(_m: Any, _args: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor):
                captured.setdefault(name, []).append(tuple(out.shape))
        return record

    modes = {m: m.training for m in module.modules()}
    named: dict[str, list[Any]] = {}
    for qual, sub in module.named_modules():
        if qual:
            named.setdefault(_sanitize(qual), []).append(sub)  # the importer's layer names
    handles = [subs[0].register_forward_hook(hook(name)) for name, subs in named.items()
               if len(subs) == 1 and name in shapes and name not in outputs]
    module.eval()
    results: list[SizeResult] = []
    try:
        for env in sizes:
            captured.clear()
            predicted_valid = rep.ok and rep.domain.contains(**env)
            try:
                xs = tuple(torch.empty(*(_predicted(s, env) or ()), device=target) for s in rep.network.inputs.values())
                with torch.no_grad():
                    out = functional_call(module, state, xs)
                error = None
            except Exception as e:  # noqa: BLE001 - torch raises many kinds of errors for bad shapes
                out, error = None, _first_line(e)
            res = SizeResult(dict(env), predicted_valid, error is None, error)
            if error is None and predicted_valid:
                got = {n: s[0] for n, s in captured.items() if len(s) == 1}
                leaves = list(_tensors(out, torch.Tensor))
                if len(leaves) == len(outputs):
                    got.update({n: tuple(t.shape) for n, t in zip(outputs, leaves)})
                for li in rep.layers:
                    want = _predicted(li.shape, env)
                    if li.name in got and got[li.name] != want:
                        res.mismatches.append(Mismatch(li.name, want, got[li.name]))
            results.append(res)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    return results


def _tensors(out: Any, tensor: type) -> Iterator[Any]:
    """The tensors of a forward's result, in order (a tensor, or tuples, lists, dicts of them)."""
    if isinstance(out, tensor):
        yield out
    elif isinstance(out, (list, tuple)):
        for o in out:
            yield from _tensors(o, tensor)
    elif isinstance(out, Mapping):
        for o in out.values():
            yield from _tensors(o, tensor)
