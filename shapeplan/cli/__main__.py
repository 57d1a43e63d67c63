"""``python -m shapeplan.cli``."""

from . import main

main()
