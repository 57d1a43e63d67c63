"""The vocabulary every other part speaks: sizes (:mod:`.dims`), exact integer sets (:mod:`.sets`),
conditions on sizes (:mod:`.conditions`), the IR (:mod:`.ir`), size expressions (:mod:`.expr`),
errors and diagnostics (:mod:`.errors`).

Imports nothing of shapeplan outside ``core``, and never torch, typer or rich.
"""
