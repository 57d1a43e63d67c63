"""Strides against torch (CPU): every op's output layout, and whether a ``view`` runs.

- Each registry op on inputs with random memory layouts (permuted, sliced with steps,
  expanded, odd strides on size-1 dims): the strides shapeplan works out for its output
  are torch's ``y.stride()`` (where the output has elements), and ``view`` /
  ``local_response_norm`` / in-place ops fail exactly where torch raises.  The convolutions
  again with torch on 2 threads (torch picks a 3-D convolution's kernel, and so its output's
  memory format, by its number of threads).
- Random chains of permute / transpose / expand / narrow / getitem / squeeze / unsqueeze /
  flatten / reshape / contiguous / elementwise ops ending in ``view``, on inputs whose dims
  are symbols or 0 / 1 / 2 / 3 (tests/layoutgen.py): the domain and every layer's shape
  equal torch's at every size of a grid.
"""

from __future__ import annotations

import itertools
import random
import warnings
from typing import Any

import layoutgen
import netgen
import pytest
import torch
from layout_samples import sample, strided

import shapeplan
from shapeplan.analysis.check import run_check
from shapeplan.core.dims import norm
from shapeplan.ops import REGISTRY
from shapeplan.ops.ask import Ask
from shapeplan.ops.calls import call_source
from shapeplan.ops.ctx import ArgError, RuleCtx, RuleError
from shapeplan.ops.layout import Layout
from shapeplan.ops.layouts import output_layout
from shapeplan.ops.registry import bind, resolve_auto

torch.set_num_threads(1)


class _Concrete:
    """Sizes are numbers here: no question is left to ask."""

    def decide(self, cond: Any, prefer: bool | None = None) -> bool:
        raise AssertionError(f"asked {cond} at concrete sizes")


def _predict(op: str, tensors: list[Any], a: dict[str, Any]) -> tuple[int, ...] | str:
    """shapeplan's strides of the output, or "invalid"."""
    spec = REGISTRY[op]
    xs = [tuple(t.shape) for t in tensors]
    ctx = RuleCtx(layouts=[Layout.strided(tuple(t.shape), t.stride(), str(t.dtype).removeprefix("torch."))
                           for t in tensors])
    try:
        out = tuple(norm(d) for d in spec.rule(ctx, list(xs), a))
        if any(r.cond.concrete() is False for r in ctx.requirements):
            return "invalid"
        layout = output_layout(op, ctx, xs, a, out)
        return tuple(int(s) for s in layout.strides(Ask(_Concrete())))
    except RuleError:
        return "invalid"


def _torch(op: str, tensors: list[Any], a: dict[str, Any]) -> tuple[int, ...] | str | None:
    """torch's strides of the output, "invalid" where it raises, None for an empty output."""
    spec = REGISTRY[op]
    names = [f"x{i}" for i in range(len(tensors))]
    env = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional, **dict(zip(names, tensors))}
    src = call_source(spec, names, a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                if spec.kind == "module":
                    module = eval(src, env)  # noqa: S307 - source built by shapeplan from validated values
                    y = module.eval()(*tensors)
                else:
                    y = eval(src, env)  # noqa: S307
        except (RuntimeError, ValueError, IndexError) as e:
            strides_decide = ("view size is not compatible", "more than one element of the written-to tensor")
            return "invalid" if any(m in str(e) for m in strides_decide) else None  # other checks: other tests
    if isinstance(y, tuple):
        y = y[0]
    return tuple(y.stride()) if y.numel() else None


OPS = sorted(REGISTRY)


def _compare_strides(op: str, seed: str) -> int:
    """Random layouts of ``op``'s inputs: shapeplan's output strides are torch's; the number compared."""
    rng = random.Random(seed)
    checked = 0
    for _ in range(40):
        drawn = sample(op, rng)
        if drawn is None:
            return checked
        shapes, kwargs = drawn
        spec = REGISTRY[op]
        if spec.param("inplace") is not None and rng.random() < 0.4:
            kwargs = {**kwargs, "inplace": True}  # in place: refused where memory overlaps (expanded dims)
        try:
            a = resolve_auto(spec, bind(spec, (), kwargs), [tuple(s) for s in shapes])
        except ArgError:
            continue
        tensors = [strided(s, rng) for s in shapes]
        theirs = _torch(op, tensors, a)
        if theirs is None:
            continue
        mine = _predict(op, tensors, a)
        where = [(tuple(t.shape), t.stride()) for t in tensors]
        assert mine == theirs, f"{call_source(spec, ['x'] * len(tensors), a)} on {where}: {mine} vs torch {theirs}"
        checked += 1
    return checked


@pytest.mark.parametrize("op", OPS)
def test_output_strides_match_torch(op: str) -> None:
    checked = _compare_strides(op, f"layout:{op}")
    assert checked >= 10 or sample(op, random.Random(f"layout:{op}")) is None, \
        f"only {checked} samples of {op} could be compared"


CONVS = [o for o in OPS if o.lower().startswith(("conv", "conv_transpose"))]


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("op", CONVS)
def test_conv_strides_follow_torch_threads(op: str, threads: int) -> None:
    """With more threads torch takes oneDNN for small 1x1 convolutions too (a channels-last-3d
    output): shapeplan answers for torch's own count, read where torch is imported."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert shapeplan.torch_threads() == threads
        assert _compare_strides(op, f"layout-threads:{op}") >= 10
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("op", ["Conv3d", "conv3d", "ConvTranspose3d"])
def test_small_1x1_conv3d_on_channels_last_follows_threads(op: str, threads: int) -> None:
    """The sizes where only torch's thread count picks the kernel (1x1 last-two kernel, no
    stride or dilation, batch 2..15): a channels-last-3d output with threads, a contiguous one
    without, and shapeplan says which (it used to refuse: layout-unknown)."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    formats = set()
    try:
        for n, c, k in itertools.product([1, 2, 5, 15, 16], [1, 3, 8], [1, 2]):
            x = torch.randn(n, c, 3, 4, 5).contiguous(memory_format=torch.channels_last_3d)
            if op == "conv3d":
                a = {"stride": (1, 1, 1), "padding": (0, 0, 0), "dilation": (1, 1, 1), "groups": 1}
                tensors = [x, torch.randn(4, c, 1, k, 1)]
            else:
                spec = REGISTRY[op]
                a = resolve_auto(spec, bind(spec, (), {"in_channels": c, "out_channels": 4, "kernel_size": (1, 1, k)}),
                                 [tuple(x.shape)])
                tensors = [x]
            theirs = _torch(op, tensors, a)
            assert _predict(op, tensors, a) == theirs, (op, n, c, k, threads)
            formats.add(theirs)
    finally:
        torch.set_num_threads(old)
    assert len(formats) > 1  # both memory formats were met


def _grid(spec: dict[str, Any]) -> list[dict[str, int]]:
    rep = run_check(shapeplan.load(spec))
    syms = netgen._all_symbols(rep)
    return [dict(zip(syms, v)) for v in itertools.product([1, 2, 3], repeat=len(syms))]


@pytest.mark.parametrize("chunk", range(6))
def test_view_chains_agree_with_torch(chunk: int) -> None:
    bad = []
    valid = invalid = 0
    for i in range(chunk, 240, 6):
        spec = layoutgen.chain(random.Random(f"chain:{i}"))
        out = netgen.compare(spec, envs=_grid(spec))
        valid, invalid = valid + out.valid, invalid + out.invalid
        bad += [f"chain:{i} {d}\n  {spec}" for d in out.disagreements]
    assert not bad, "\n".join(bad[:3])
    assert valid > 200 and invalid > 30, (valid, invalid)


# --------------------------------------------------------------------------- examples


def _domain(layers: list[dict[str, Any]], shape: list[Any]) -> Any:
    rep = shapeplan.check({"input": shape, "layers": layers})
    return rep


def test_permute_then_view_needs_sizes_of_one() -> None:
    """x.permute(0, 2, 3, 1).view(N, -1) runs only where C = 1 or H = W = 1."""
    rep = _domain([{"op": "permute", "dims": [0, 2, 3, 1]}, {"op": "view", "shape": ["N", -1]}], ["N", "C", "H", "W"])
    for n, c, h, w in itertools.product([1, 2, 3], repeat=4):
        assert rep.domain.contains(N=n, C=c, H=h, W=w) == (c == 1 or h == w == 1)
    assert any(d.code == "view" for d in rep.diagnostics)


def test_elementwise_keeps_the_permuted_layout() -> None:
    """x.permute(0, 2, 3, 1) * 2 is as non-contiguous as its input: a view after it fails too."""
    layers = [{"op": "permute", "dims": [0, 2, 3, 1]}, {"op": "mul", "other": 2}, {"op": "view", "shape": [2, -1]}]
    rep = _domain(layers, [2, 3, 4, 5])
    assert not rep.ok
    assert "view" in {d.code for d in rep.errors}


@pytest.mark.parametrize("fix", [{"op": "contiguous"}, {"op": "Conv2d", "in_channels": "auto", "out_channels": 4,
                                                          "kernel_size": 1}, {"op": "LayerNorm",
                                                                              "normalized_shape": "auto"}])
def test_ops_with_a_new_layout_make_the_view_valid(fix: dict[str, Any]) -> None:
    layers = [{"op": "transpose", "dim0": 1, "dim1": 2}, fix, {"op": "view", "shape": [2, -1]}]
    assert _domain(layers, [2, 3, 4, 5]).ok


def test_reshape_and_flatten_never_fail_on_strides() -> None:
    for op in ({"op": "reshape", "shape": ["N", -1]}, {"op": "flatten", "start_dim": 1}, {"op": "Flatten"}):
        rep = _domain([{"op": "permute", "dims": [0, 2, 3, 1]}, op], ["N", "C", "H", "W"])
        assert rep.ok and rep.domain.contains(N=2, C=3, H=4, W=5), op


def test_a_view_that_only_splits_dims_asks_nothing() -> None:
    """Splitting dims (or adding dims of 1) is a view at any strides: no case split."""
    layers = [{"op": "permute", "dims": [0, 2, 3, 1]}, {"op": "unflatten", "dim": 3, "sizes": [1, -1]},
              {"op": "view", "shape": ["N", "H", 1, "W", 1, "C"]}]
    rep = _domain(layers, ["N", "C", "H", "W"])
    assert rep.ok and not rep.cases


def test_contiguous_networks_ask_nothing() -> None:
    layers = [{"op": "Conv2d", "in_channels": "auto", "out_channels": 4, "kernel_size": 3}, {"op": "ReLU"},
              {"op": "mul", "other": 2}, {"op": "view", "shape": ["N", -1]}]
    rep = _domain(layers, ["N", 3, "H", "W"])
    assert rep.ok and not rep.cases


def test_torch_module_permute_view() -> None:
    class M(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            y = x.permute(0, 2, 3, 1) * 2
            return y.view(y.shape[0], -1)

    rep = shapeplan.check(shapeplan.from_torch(M(), ("N", 3, "H", "W")))
    for n, h, w in itertools.product([1, 2], repeat=3):
        try:
            M()(torch.zeros(n, 3, h, w))
            runs = True
        except RuntimeError:
            runs = False
        assert rep.domain.contains(N=n, H=h, W=w) == runs


def test_t_and_movedim_shapes_match_torch() -> None:
    from oracle import predict, torch_shape

    for rank in range(5):
        shape = [2, 3, 4, 5, 6][:rank]
        dims = list(range(-rank - 1, rank + 1))
        lists: list[Any] = [(0, 1), (0, 0), (1, -1), (), (0,), (2, 3), (1, 0), (-1, 0, 1)]
        for src, dst in itertools.chain(itertools.product(dims, dims), itertools.product(lists, lists)):
            kw = {"source": src, "destination": dst}
            assert predict("movedim", [shape], kwargs=kw) == torch_shape("movedim", [shape], kwargs=kw), (shape, kw)
        assert predict("t", [shape]) == torch_shape("t", [shape]), shape
