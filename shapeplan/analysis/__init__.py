"""The analysis of a Network: shape propagation through the op rules (:mod:`.propagate`), the exact
valid input domain (:mod:`.domain`), the Report (:mod:`.check`), ``auto`` / ``solve`` (:mod:`.solve`),
fix-its, costs and receptive fields.

May import :mod:`shapeplan.core` and :mod:`shapeplan.ops`; never torch, typer, rich or a front end.
"""
