"""Front ends: what turns a user's network into a :class:`~shapeplan.core.ir.Network`.

:mod:`.yaml` reads net.yaml (with file:line:col for every value); :mod:`.torch` traces an
``nn.Module``.  They may import core, ops and analysis; only :mod:`.torch` imports torch (lazily).
"""
