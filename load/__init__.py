"""Locust load scenarios and their pure token-bucket model and verdict (see load/README.md)."""
