"""Reference data: boundary sets (loaded inactive, activated explicitly) and the lookup service."""
