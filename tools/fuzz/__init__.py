"""Fuzzing of hdrkit's parsers: targets, seed corpora, mutations and the campaign runner.

Development tooling, not part of the installed package: ``python scripts/fuzz.py`` is the
command line; :func:`run_campaign` the API the tests use (the suite runs a smoke campaign).
"""

from .runner import FuzzConfig, FuzzReport, run_campaign, replay
from .targets import TARGETS, Target, available_targets

__all__ = ["TARGETS", "Target", "available_targets", "FuzzConfig", "FuzzReport", "run_campaign", "replay"]
