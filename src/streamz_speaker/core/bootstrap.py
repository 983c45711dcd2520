"""Seeded bootstrap confidence intervals of evaluation figures (files, or speakers then files)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

#: A statistic maps the indices of one resample (units may repeat) to named figures; a
#: figure that is undefined on a resample (e.g. an AUC without unknown speakers) is None.
Statistic = Callable[[np.ndarray], dict]


@dataclass(frozen=True)
class BootstrapConfig:
    """How intervals are drawn: percentile bootstrap, seeded so runs repeat exactly."""

    n_resamples: int = 1000     # resamples per interval
    confidence: float = 0.95    # central coverage of the interval
    seed: int = 0               # the same data and seed give the same interval

    def __post_init__(self):
        if self.n_resamples < 1:
            raise ConfigError(f"n_resamples must be >= 1, got {self.n_resamples}")
        if not 0 < self.confidence < 1:
            raise ConfigError(f"confidence must be in (0, 1), got {self.confidence}")

    def to_dict(self) -> dict:
        return {"method": "percentile", "confidence": self.confidence,
                "resamples": self.n_resamples, "seed": self.seed}


@dataclass(frozen=True)
class Sample:
    """The units of one run (files) as the bootstrap resamples them.

    Attributes
    ----------
    keys : list of hashable, length n_units
        Identity of each unit across runs (a file's content hash, an RTTM uri).
    statistic : callable
        ``statistic(idx) -> {name: float or None}``: the figures of the units ``idx``.
    clusters : list of hashable, length n_units
        Cluster of each unit (e.g. the speaker of a file); see :func:`resamples`.
    strata : list of hashable, length n_units, optional
        Stratum of each unit (e.g. known vs unknown speaker).
    """

    keys: list
    statistic: Statistic
    clusters: list
    strata: list | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def figures(self) -> dict:
        """The figures of all units."""
        return self.statistic(np.arange(len(self)))

    def resamples(self, config: BootstrapConfig) -> Iterator[np.ndarray]:
        return resamples(self.clusters, strata=self.strata, config=config)

    def intervals(self, config: BootstrapConfig = BootstrapConfig()) -> dict:
        """Percentile bootstrap interval of every figure.

        Returns
        -------
        dict of str to (low, high) or None
            One entry per figure of :meth:`figures`. None when there are fewer than two
            units (nothing to resample) or the figure is undefined on every resample; the
            others are taken over the resamples on which the figure is defined.
        """
        names = self.figures()
        if len(self) < 2:
            return dict.fromkeys(names)
        draws = (self.statistic(idx) for idx in self.resamples(config))
        return collect(names, draws, config.confidence)

    def subset(self, indices: Sequence[int]) -> "Sample":
        """The units at ``indices``, in that order."""
        indices = np.asarray(indices, int)
        return Sample([self.keys[i] for i in indices], lambda idx: self.statistic(indices[idx]),
                      [self.clusters[i] for i in indices],
                      None if self.strata is None else [self.strata[i] for i in indices])


def resamples(clusters: Sequence[Hashable], *, strata: Sequence[Hashable] | None = None,
              config: BootstrapConfig = BootstrapConfig()) -> Iterator[np.ndarray]:
    """Indices of two-stage bootstrap resamples: clusters, then units within each cluster.

    Within each stratum, as many clusters as it has are drawn with replacement, and each
    drawn cluster contributes as many of its units as it has, also drawn with replacement
    (Davison & Hinkley's two-stage scheme). With one unit per cluster this is the plain
    bootstrap of units; strata keep their number of clusters fixed.

    Parameters
    ----------
    clusters : sequence of hashable, length n_units
        Cluster of each unit (e.g. the speaker of each file).
    strata : sequence of hashable, length n_units, optional
        Stratum of each unit (e.g. known vs unknown speaker); one stratum by default.
    config : BootstrapConfig

    Yields
    ------
    idx : ndarray of shape (n_drawn,), int
        Unit indices of one resample, ``config.n_resamples`` times.
    """
    rng = np.random.default_rng(config.seed)
    strata = [0] * len(clusters) if strata is None else list(strata)
    groups: dict = {}
    for i, (stratum, cluster) in enumerate(zip(strata, clusters)):
        groups.setdefault(stratum, {}).setdefault(cluster, []).append(i)
    # per stratum: its units cluster by cluster, where each cluster starts, and its size
    layout = []
    for by_cluster in groups.values():
        sizes = np.array([len(m) for m in by_cluster.values()])
        layout.append((np.concatenate(list(by_cluster.values())),
                       np.cumsum(sizes) - sizes, sizes))
    for _ in range(config.n_resamples):
        idx = [np.zeros(0, int)]
        for units, starts, sizes in layout:
            chosen = rng.integers(len(sizes), size=len(sizes))
            n = np.repeat(sizes[chosen], sizes[chosen])      # drawn cluster's size, per unit
            offsets = np.minimum((rng.random(n.size) * n).astype(int), n - 1)
            idx.append(units[np.repeat(starts[chosen], sizes[chosen]) + offsets])
        yield np.concatenate(idx)


def percentile_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """The central ``confidence`` share of ``values``: (low, high)."""
    tail = (1 - confidence) / 2
    low, high = np.quantile(np.asarray(values, float), [tail, 1 - tail])
    return float(low), float(high)


def rounded(interval, digits: int = 4) -> list | None:
    """An interval as its JSON form: ``[low, high]`` rounded, or None."""
    return None if interval is None else [round(x, digits) for x in interval]


def with_interval(value: float | None, interval, *, percent: bool = False) -> str:
    """``0.917 [0.833, 1.000]`` (or ``12.30 [8.10, 16.40]`` in percent); ``n/a`` for None."""
    if value is None:
        return "n/a"
    scale, digits = (100, 2) if percent else (1, 3)
    text = f"{scale * value:.{digits}f}"
    if interval is None:
        return text
    low, high = (f"{scale * x:.{digits}f}" for x in interval)
    return f"{text} [{low}, {high}]"


def collect(names: Iterable[str], draws: Iterable[dict], confidence: float) -> dict:
    """Interval of each named figure over the draws (figure dicts) that define it."""
    values: dict = {name: [] for name in names}
    for figures in draws:
        for name, value in figures.items():
            if value is not None and name in values:
                values[name].append(value)
    return {name: percentile_interval(v, confidence) if v else None
            for name, v in values.items()}
