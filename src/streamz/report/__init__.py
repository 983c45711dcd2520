"""Evaluation reports: bootstrap intervals, regression checks, plots and an HTML page."""

# bootstrap and regression need only NumPy; plots imports matplotlib (the `report` extra)
# itself, so `import streamz` never does.

from .bootstrap import BootstrapConfig, Sample
from .regression import Comparison, compare, compare_runs, load_baseline

__all__ = ["BootstrapConfig", "Comparison", "Sample", "compare", "compare_runs", "load_baseline"]
