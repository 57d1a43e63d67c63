"""Networks of the newer ops (attention, creation, indexing, sliding blocks, functional convs)
emitted as Python, built and run by torch at several sizes: the emitted calls are right and
every layer's shape is the predicted one (shapeplan.validate)."""

from __future__ import annotations

from typing import Any

import pytest

import shapeplan

ATTENTION: dict[str, Any] = {"name": "Attn", "input": ["N", 3, "H", "W"], "layers": [
    {"name": "conv", "op": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3, "padding": 1},
    {"name": "tok", "op": "flatten", "start_dim": 2},
    {"name": "t", "op": "transpose", "dim0": 1, "dim1": 2},
    {"name": "mha", "op": "MultiheadAttention", "embed_dim": 8, "num_heads": 2, "batch_first": True,
     "from": ["t", "t", "t"]},
    {"name": "pos", "op": "zeros", "size": [1, "H * W", 8]},
    {"name": "add", "op": "add", "from": ["mha", "pos"]},
    {"name": "sd", "op": "scaled_dot_product_attention", "from": ["add", "add", "add"], "is_causal": True},
    {"name": "e", "op": "einsum", "equation": "nld,nmd->nlm", "from": ["sd", "sd"]},
    {"name": "m", "op": "gt", "from": ["e"], "other": 0.5},
    {"name": "mf", "op": "masked_fill", "from": ["e", "m"], "value": float("-inf")},
    {"name": "top", "op": "topk", "from": ["mf"], "k": 2},
    {"name": "idx", "op": "arange", "args": ["H * W"]},
    {"name": "sel", "op": "index_select", "from": ["sd", "idx"], "dim": 1},
    {"name": "sdt", "op": "transpose", "from": ["sd"], "dim0": 1, "dim1": 2},
    {"name": "bmm", "op": "baddbmm", "from": ["e", "sel", "sdt"], "beta": 0.5},
], "outputs": ["top", "bmm"]}

CNN: dict[str, Any] = {"name": "Blocks", "input": ["N", 4, "H", "W"], "layers": [
    {"name": "w", "op": "Parameter", "shape": [8, 2, 3, 3]},
    {"name": "b", "op": "Parameter", "shape": [8]},
    {"name": "fc", "op": "conv2d", "from": ["x", "w", "b"], "padding": "same", "groups": 2},
    {"name": "r", "op": "roll", "from": ["fc"], "shifts": [-1, 1], "dims": [2, 3]},
    {"name": "cols", "op": "im2col", "from": ["r"], "kernel_size": 2, "stride": 2},
    {"name": "back", "op": "fold", "from": ["cols"], "output_size": ["H - H % 2", "W - W % 2"], "kernel_size": 2,
     "stride": 2},
    {"name": "order", "op": "argsort", "from": ["back"], "dim": 1},
    {"name": "g", "op": "gather", "from": ["back", "order"], "dim": 1},
    {"name": "cs", "op": "cumsum", "from": ["g"], "dim": 1},
    {"name": "pos", "op": "gt", "from": ["cs"], "other": 0},
    {"name": "wh", "op": "where", "from": ["pos", "cs"], "other": 0.0},
    {"name": "fl", "op": "flip", "from": ["wh"], "dims": [-1]},
    {"name": "rep", "op": "repeat_interleave", "from": ["fl"], "repeats": 2, "dim": 1},
    {"name": "like", "op": "ones_like", "from": ["rep"]},
    {"name": "sum", "op": "add", "from": ["rep", "like"]},
    {"name": "mv", "op": "movedim", "from": ["sum"], "source": 1, "destination": -1},
    {"name": "u", "op": "unfold", "from": ["mv"], "dimension": 1, "size": 2, "step": 2},
], "outputs": ["u"]}


@pytest.mark.parametrize("doc", [ATTENTION, CNN], ids=["attention", "cnn"])
def test_emitted_network_runs_with_the_predicted_shapes(doc: dict[str, Any]) -> None:
    rep = shapeplan.check(doc)
    assert rep.ok, [str(d) for d in rep.diagnostics]
    sizes = [{"N": 2, "H": 4, "W": 6}, {"N": 1, "H": 5, "W": 3}, {"N": 3, "H": 7, "W": 8}]
    sizes = [s for s in sizes if rep.domain.contains(**s)]
    assert len(sizes) >= 2
    v = shapeplan.validate(rep.network, sizes=sizes, device="cpu")
    assert len(v.results) == len(sizes)
    for r in v.results:
        assert r.ran and not r.mismatches and r.error is None, r
