"""Evaluation: typing simulation (and, later, datasets, runner and report)."""
