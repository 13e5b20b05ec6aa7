"""``python -m medctl``: the same as the ``medctl`` command."""

import sys

from medctl.cli import main

sys.exit(main())
