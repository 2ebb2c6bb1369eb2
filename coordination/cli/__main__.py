"""``python -m coordination.cli``: the same as the ``crossforce`` command."""

import sys

from coordination.cli.main import main

sys.exit(main())
