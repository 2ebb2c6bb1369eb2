"""Reference data: boundary sets (load inactive, activate explicitly) and the boundary-lookup service."""
