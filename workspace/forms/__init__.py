"""Workspace forms, one module per topic."""
