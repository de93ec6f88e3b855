"""``python -m bench``: the end-to-end benchmark (see :mod:`bench.e2e`)."""

import sys

from .e2e import main

sys.exit(main())
