"""The torch front end follows real forward code: branches and asserts on sizes, raises, loops over
sizes, math on sizes, Lazy modules, caches in module attributes.  Every module here is compared with
torch's own CPU forward at many sizes: the domain says valid exactly where torch runs, and there
every output has torch's shape (in the case the size falls in)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import shapeplan
from shapeplan.core.dims import evaluate

torch.set_num_threads(1)


def agree_with_torch(model: nn.Module, shape: tuple, sizes: list[dict[str, int]],
                     fresh: Callable[[], nn.Module] | None = None) -> shapeplan.Report:
    """Import ``model``, check it, and compare with torch's CPU forward at ``sizes``; ``fresh``:
    torch runs a new model from it at each size (Lazy modules left uninitialised: the first
    forward sizes them)."""
    model.eval()
    rep = shapeplan.check(shapeplan.from_torch(model, shape))
    bad = []
    for env in sizes:
        x = torch.zeros(*[env[d] if isinstance(d, str) else d for d in shape])
        runner = model if fresh is None else fresh().eval()
        try:
            with torch.no_grad():
                out = runner(x)
            want = [tuple(out.shape)] if isinstance(out, torch.Tensor) else [tuple(t.shape) for t in out]
        except (RuntimeError, ValueError, AssertionError, IndexError):
            want = None
        valid = rep.domain.contains(**{k: v for k, v in env.items() if k in rep.domain.symbols})
        if valid != (want is not None):
            bad.append(f"{env}: shapeplan {'valid' if valid else 'invalid'}, torch {'runs' if want else 'raises'}")
        elif want is not None:
            got = [tuple(evaluate(d, env) for d in s) for s in rep.outputs_at(**env)]
            if got != want:
                bad.append(f"{env}: shapeplan {got}, torch {want}")
    assert not bad, "\n".join(bad[:10])
    return rep


def grid(*ranges: range, names: tuple[str, ...] = ("H", "W"), n: int = 1) -> list[dict[str, int]]:
    out = [{"N": n}]
    for name, values in zip(names, ranges):
        out = [{**e, name: v} for e in out for v in values]
    return out


class Decoder(nn.Module):
    """A UNet-style skip: upsample, and where the sizes differ, resize to the skip's size."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(4, 3, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.down(x))
        if y.shape[-2:] != x.shape[-2:]:
            y = F.interpolate(y, size=x.shape[-2:])
        return torch.cat([x, y], dim=1)


def test_branch_on_sizes_is_followed_both_ways() -> None:
    rep = agree_with_torch(Decoder(), ("N", 3, "H", "W"), grid(range(1, 14), range(1, 14)))
    assert str(rep.domain) == "N >= 1, H >= 1, W >= 1"
    assert any(d.code == "path" for d in rep.diagnostics)  # the other path is named


class Strict(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % 8 != 0 or w % 8 != 0:
            raise ValueError(f"H and W must be multiples of 8, got {h}x{w}")
        return self.conv(x)


def test_a_raise_is_a_refusal_with_the_models_message() -> None:
    rep = agree_with_torch(Strict(), ("N", 3, "H", "W"), grid(range(1, 20), range(6, 18, 3)))
    assert str(rep.domain) == "N >= 1, H = 8k, k >= 1, W = 8k, k >= 1"
    notes = [d for d in rep.diagnostics if d.code == "refused"]
    assert notes and "must be multiples of 8" in notes[0].message
    assert notes[0].location is not None and notes[0].location.file == __file__


class Asserts(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1] == 3, "three channels"
        torch._assert(x.ndim == 4, "a batch of images")
        return x.mean(dim=(2, 3))


def test_asserts_are_conditions() -> None:
    sizes = [{**e, "W": 5} for e in grid(range(1, 3), range(1, 6), names=("H", "C"))]
    rep = agree_with_torch(Asserts(), ("N", "C", "H", "W"), sizes)
    assert rep.domain.contains(N=2, C=3, H=5, W=5) and not rep.domain.contains(N=2, C=4, H=5, W=5)


class SwinPad(nn.Module):
    """Pad H and W up to a multiple of the window, as Swin does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w = x.shape
        pad_h, pad_w = (7 - h % 7) % 7, (7 - w % 7) % 7
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        n, c, hp, wp = x.shape
        return x.view(n, c, hp // 7, 7, wp // 7, 7).permute(0, 2, 4, 3, 5, 1).reshape(-1, 49, c)


def test_window_padding() -> None:
    agree_with_torch(SwinPad(), ("N", 2, "H", "W"), grid(range(1, 16), range(1, 16, 4)))


class Flat(nn.Module):
    """The pre-2021 tutorial's num_flat_features loop, and math on sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        n = 1
        for s in x.size()[1:]:
            n *= s
        pad = math.ceil(x.shape[-1] / 4) * 4 - x.shape[-1]
        return F.pad(x.view(-1, n), (0, pad))


def test_loops_and_math_on_sizes() -> None:
    agree_with_torch(Flat(), ("N", 1, "H", "W"), grid(range(1, 12), range(1, 12)))


class SamePad(nn.Module):
    """timm's dynamic 'same' padding: max(...) of sizes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih = x.shape[-1]
        pad = max((math.ceil(ih / 3) - 1) * 3 + 5 - ih, 0)
        return F.max_pool1d(F.pad(x, (pad // 2, pad - pad // 2)), 5, 3)


def test_max_of_sizes() -> None:
    agree_with_torch(SamePad(), ("N", 2, "L"), grid(range(1, 30), names=("L",)))


class Cached(nn.Module):
    """A module that caches a tensor computed in forward in its attributes (as timm's attention
    biases): every traced path must start from the module's own state."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.zeros(4, 9))
        self.register_buffer("idx", torch.zeros(9, 9, dtype=torch.long))
        self.cache: dict[str, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if "bias" not in self.cache:
            self.cache["bias"] = self.table[:, self.idx]
        return x.flatten(2).transpose(1, 2).unsqueeze(1) @ x.flatten(2).unsqueeze(1) + self.cache["bias"]


def test_module_state_does_not_leak_between_paths() -> None:
    agree_with_torch(Cached(), ("N", 4, "H", "W"), grid(range(1, 5), range(1, 5)))


class LazyNet(nn.Sequential):
    def __init__(self) -> None:
        super().__init__(nn.LazyConv2d(6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2), nn.LazyConv2d(16, 5),
                         nn.Sigmoid(), nn.AvgPool2d(2), nn.Flatten(), nn.LazyLinear(120), nn.Sigmoid(),
                         nn.LazyLinear(10))


def test_lazy_modules_import_as_what_they_become() -> None:
    sizes = grid(range(8, 36, 3), range(10, 14))
    lazy = agree_with_torch(LazyNet(), ("N", 1, "H", "W"), [{"N": 1, "H": 28, "W": 28}])
    assert str(lazy.domain) == "N >= 1, H >= 12, W >= 12"
    note = next(d for d in lazy.diagnostics if d.code == "auto-symbolic")
    assert "(nn.LazyLinear(120)) will have in_features = 16*(H//4 - 2)*(W//4 - 2)" in note.message
    for env in sizes:  # each size: a fresh Lazy model, sized by its own first forward, as torch does
        model = LazyNet().eval()
        x = torch.zeros(1, 1, env["H"], env["W"])
        try:
            with torch.no_grad():
                want = tuple(model(x).shape)
        except RuntimeError:
            want = None
        assert lazy.domain.contains(**env) == (want is not None), env
    model = LazyNet().eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))  # initialised: now fixed at 28x28's features
    fixed = shapeplan.check(shapeplan.from_torch(model, ("N", 1, "H", "W")))
    assert fixed.domain.contains(N=1, H=28, W=28) and not fixed.domain.contains(N=1, H=32, W=32)


class Typo(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3),
            nn.ReLU(),
            nn.Conv2d(9, 16, 3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def test_diagnostics_point_at_the_constructor_and_speak_python() -> None:
    rep = shapeplan.check(shapeplan.from_torch(Typo(), ("N", 3, "H", "W")))
    err = next(d for d in rep.errors if d.code == "in-channels")
    src = Path(__file__).read_text().splitlines()
    assert err.location is not None and err.location.file == __file__
    assert src[err.location.line - 1].strip() == "nn.Conv2d(9, 16, 3),"
    assert err.hint is not None and err.hint.startswith("write nn.Conv2d(8, 16, 3) at ")
    assert "nn.LazyConv2d(16, 3)" in err.hint


def test_values_are_not_sizes() -> None:
    class Values(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x if x.sum() > 0 else -x

    with pytest.raises(shapeplan.InputError) as e:
        shapeplan.from_torch(Values(), ("N", 3))
    assert e.value.code == "trace" and "values of a tensor" in str(e.value)
