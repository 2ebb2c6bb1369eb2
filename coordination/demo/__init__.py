"""A synthetic demo caseload: officers, offenders, a year of moves and handoffs (all made up)."""
