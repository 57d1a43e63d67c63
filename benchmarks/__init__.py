"""shapeplan's benchmark suite; run ``python benchmarks/run.py`` or ``python -m benchmarks``
(options: ``--help``; README.md beside this file has the results and the machine)."""
