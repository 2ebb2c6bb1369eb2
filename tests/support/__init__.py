"""What the tests share that is not a test: paths, the database, AppTest and browser helpers.

Nothing here is collected by pytest (no ``test_*`` modules), and no test module imports another
test module: shared code lives here, in ``tests/factories.py`` or in ``tests/strategies.py``.
"""

from __future__ import annotations

from pathlib import Path

#: The checkout: the directory holding ``app.py``, ``coordination/``, ``geo/`` and ``ui/``.
REPO = Path(__file__).resolve().parents[2]
