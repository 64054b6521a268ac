"""Evaluation: datasets, metrics, the scoring script, reports and plots."""

import core.offline  # noqa: F401  (before any library it configures)
