"""``python -m ds_slowmo`` is the ``ds-slowmo`` command."""

import sys

from .cli import main

sys.exit(main())
