"""Handoffs of responsibility between forces: the workflow with its deadlines, and the network."""
