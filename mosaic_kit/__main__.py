"""``python -m mosaic_kit``: the command line (``cli``)."""

from .cli import main

raise SystemExit(main())
