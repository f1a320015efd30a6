"""Evaluation: typing simulation, datasets, bench configurations, runner, statistics,
report and plots (``livemind bench`` / ``livemind report``)."""
