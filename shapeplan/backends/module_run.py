"""Forward passes of a user's own ``nn.Module``, compared with shapeplan's prediction.

Where :func:`shapeplan.validate` runs the module that :func:`shapeplan.emit` writes, this
runs the module itself (as :func:`shapeplan.testing.assert_shapes` does for an
``nn.Module``): eval mode, no grad, its weights and buffers replaced by empty tensors on
``device`` (on ``meta`` nothing is allocated, nothing computed), forward hooks on the
submodules named like a layer.  A module with uninitialised Lazy modules runs on the CPU, a fresh
copy per size (their first call sizes them).  As in :func:`shapeplan.validate`, whether torch accepts a
size is the CPU's answer: on any other device each size runs on the CPU too (with the
module's own CPU tensors, or zeros in place of the others), the shapes come from ``device``
where both ran.  The module is left as it was: modes, weights, no hooks.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..analysis.report import Report
from .validate import VERDICT_DEVICE, Mismatch, SizeResult, _first_line, _predicted, device_note, is_cpu


def _state_on(module: Any, device: str) -> dict[str, Any]:
    """The module's parameters and buffers as tensors on ``device``: its own where they are
    there already, else empty ones (meta) or zeros (values do not matter for shapes)."""
    import torch

    target = torch.device(device)
    state = {}
    for k, t in [*module.named_parameters(), *module.named_buffers()]:
        if t.device == target:
            state[k] = t
        elif target.type == "meta":
            state[k] = torch.empty_like(t, device=target)
        elif t.is_meta:
            state[k] = torch.zeros_like(t, device=target)
        else:
            state[k] = t.to(target)
    return state


def module_results(module: Any, rep: Report, sizes: list[dict[str, int]], device: str) -> list[SizeResult]:
    """Run the user's own module at every size (eval mode, no grad, its weights replaced by
    empty tensors on ``device``: on ``meta`` nothing is allocated; the verdict on the CPU)
    and compare each layer's output (the submodules named like a layer, called once) and
    the outputs."""
    import torch
    from torch.func import functional_call

    from ..frontends.torch.interpreter import sanitize as _sanitize

    lazy = has_lazy(module)
    if lazy:
        device = VERDICT_DEVICE  # a Lazy module sizes itself by a real first call (on meta it fails)
    devices = [device] if is_cpu(device) else [device, VERDICT_DEVICE]
    states = {} if lazy else {d: _state_on(module, d) for d in devices}
    shapes = rep.shapes
    outputs = list(rep.network.outputs)
    captured: dict[str, list[tuple[int, ...]]] = {}

    def hook(name: str) -> Callable[..., None]:
        def record(_m: Any, _args: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor):
                captured.setdefault(name, []).append(tuple(out.shape))
        return record

    def forward(env: Mapping[str, int], on: str) -> tuple[dict[str, tuple[int, ...]], str | None]:
        """The layers' and outputs' shapes at ``env`` on ``on``, or the error."""
        captured.clear()
        try:
            xs = tuple(torch.empty(*(_predicted(s, env) or ()), device=on) for s in rep.network.inputs.values())
            with torch.no_grad():
                if lazy:  # Lazy modules size themselves at their first call: a fresh copy per size
                    out = copy.deepcopy(module).to(on)(*xs)
                else:
                    out = functional_call(module, states[on], xs)
        except Exception as e:  # noqa: BLE001 - torch raises many kinds of errors for bad shapes
            return {}, _first_line(e)
        got = {n: s[0] for n, s in captured.items() if len(s) == 1}
        leaves = list(_tensors(out, torch.Tensor))
        if len(leaves) == len(outputs):
            got.update({n: tuple(t.shape) for n, t in zip(outputs, leaves)})
        return got, None

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
            predicted_valid = rep.ok and rep.domain.contains(**env)
            got, error = forward(env, device)
            note = None
            if not is_cpu(device):
                cpu_got, cpu_error = forward(env, VERDICT_DEVICE)
                note = device_note(device, error, cpu_error)
                if error is not None or cpu_error is not None:
                    got, error = cpu_got, cpu_error
            res = SizeResult(dict(env), predicted_valid, error is None, error, device_note=note)
            if error is None and predicted_valid:
                for li in rep.case_report(**env).layers:  # the shapes of the case this size falls in
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


def has_lazy(module: Any) -> bool:
    """Does ``module`` hold parameters that a Lazy module sizes at its first call?"""
    from torch.nn.parameter import is_lazy

    return any(is_lazy(t) for t in [*module.parameters(), *module.buffers()])


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
