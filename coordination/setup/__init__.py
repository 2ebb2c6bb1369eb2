"""``crossforce init``: migrate the database, seed the defaults, load reference data."""
