"""Who may do what: users, sign-in, the permission table, limited access and pseudonyms."""
