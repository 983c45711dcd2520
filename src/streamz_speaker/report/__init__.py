"""Evaluation reports: bootstrap intervals, regression checks, plots and an HTML page."""

# regression needs only NumPy; plots imports matplotlib (the `report` extra) itself, so
# `import streamz_speaker` never does. The bootstrap intervals live in core: speaker-ID
# evaluation and DER scoring compute them, and this package reports on both.

from ..core.bootstrap import BootstrapConfig, Sample
from .regression import Comparison, compare, compare_runs, load_baseline

__all__ = ["BootstrapConfig", "Comparison", "Sample", "compare", "compare_runs", "load_baseline"]
