"""The ``crossforce`` command line (entry point: :func:`coordination.cli.main.main`)."""
