"""The audit ledger: append-only, hash-chained events, written by every service.

The ledger knows nothing of permissions: who may read it is decided by ``coordination.audit``."""
