"""Caseload: case weights, officer capacity, suggested assignees, assignment, the caseload query."""
