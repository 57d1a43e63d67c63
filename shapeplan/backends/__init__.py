"""Back ends: a checked Network as PyTorch again.  :mod:`.emit` writes the nn.Module source (no torch);
``build``, :mod:`.validate` and :mod:`.module_run` run real forward passes (they import torch, lazily).
With the torch front end, the only place that imports torch.  May import core, ops and analysis.
"""
