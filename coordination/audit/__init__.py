"""Reading the audit log: search, verify and export, for those the permission table allows."""
