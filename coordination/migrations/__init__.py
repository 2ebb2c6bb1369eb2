"""Alembic migrations, inside the package so that a wheel carries them."""
