"""Incremental speaker clustering: each window's local speakers -> stable global speaker ids."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..open_set import unit_rows

#: Marks a local speaker that is mapped to no global speaker.
UNMAPPED = -1


class IncrementalClustering:
    """Constrained incremental clustering of local speakers (the idea of diart's
    ``OnlineSpeakerClustering``, Coria et al. 2021), written for this project.

    Every global speaker is a centroid (a sum of unit embeddings). Each window's active local
    speakers are matched one-to-one to centroids (Hungarian, cosine distance). A match farther
    than ``delta_new`` is undone: the local speaker becomes a new global speaker when it has
    enough clean speech (``long``) and there is room, otherwise it takes the closest free
    centroid. A local speaker very close (``delta_same``) to an already matched centroid
    also maps to it (the
    segmentation sometimes splits one voice into two local speakers). Centroids learn only from long, confidently matched local speakers, so ids do
    not drift. Ids are never reused or renumbered.

    Parameters
    ----------
    max_speakers : int
        Most global speakers (the client's fixed count, or the automatic maximum).
    delta_new : float
        Cosine distance (0..2) above which a local speaker is not the matched global one.
    delta_same : float
        Cosine distance under which a local speaker left over by the one-to-one matching is
        taken for the same voice as its closest, already matched, global speaker.
    """

    def __init__(self, max_speakers: int, delta_new: float, delta_same: float):
        self.max_speakers = max_speakers
        self.delta_new = delta_new
        self.delta_same = delta_same
        self.centroids = np.zeros((0, 0), np.float64)   # (num_speakers, dimension), sums
        self.support = np.zeros(0, np.int64)             # embeddings summed per centroid

    @property
    def num_speakers(self) -> int:
        return len(self.support)

    def __call__(self, embeddings: np.ndarray, active: np.ndarray,
                 long: np.ndarray) -> np.ndarray:
        """Map one window's local speakers to global speakers (and learn from them).

        Parameters
        ----------
        embeddings : ndarray of shape (num_local_speakers, dimension)
            NaN rows for local speakers without an embedding.
        active : ndarray of shape (num_local_speakers,), bool
            Local speakers that speak in the window.
        long : ndarray of shape (num_local_speakers,), bool
            Local speakers with enough clean speech to found or update a global speaker.

        Returns
        -------
        mapping : ndarray of shape (num_local_speakers,), int64
            Global speaker of each local speaker, ``UNMAPPED`` (-1) for none.
        """
        embeddings = np.asarray(embeddings, dtype=np.float64)
        usable = np.asarray(active) & np.all(np.isfinite(embeddings), axis=1)
        long = np.asarray(long) & usable
        mapping = np.full(len(embeddings), UNMAPPED, np.int64)
        unit = unit_rows(np.nan_to_num(embeddings))
        if self.num_speakers == 0:
            self.centroids = np.zeros((0, embeddings.shape[1]), np.float64)
        dist = 1.0 - unit @ unit_rows(self.centroids).T             # (num_local, num_speakers)
        locals_ = np.flatnonzero(usable)
        if len(locals_) and self.num_speakers:
            rows, cols = linear_sum_assignment(dist[locals_])
            for r, c in zip(rows, cols):
                if dist[locals_[r], c] <= self.delta_new:
                    mapping[locals_[r]] = c
        confident = mapping.copy()
        for spk in locals_[np.argsort(dist[locals_].min(axis=1, initial=np.inf))]:
            if mapping[spk] != UNMAPPED:
                continue
            closest = np.argsort(dist[spk])
            if len(closest) and dist[spk, closest[0]] <= self.delta_same:
                # the segmentation split one voice into two local speakers: both are it
                mapping[spk] = closest[0]
            elif long[spk] and self.num_speakers < self.max_speakers:
                mapping[spk] = self._add(unit[spk])
            else:
                free = [g for g in closest if g not in mapping]
                if free:
                    mapping[spk] = free[0]
        for spk in np.flatnonzero((confident != UNMAPPED) & long):
            self.centroids[confident[spk]] += unit[spk]
            self.support[confident[spk]] += 1
        return mapping

    def _add(self, unit: np.ndarray) -> int:
        self.centroids = np.vstack([self.centroids, unit[None]])
        self.support = np.append(self.support, 1)
        return self.num_speakers - 1

    def centroid(self, speaker: int) -> np.ndarray:
        """Unit centroid of a global speaker, shape (dimension,)."""
        return unit_rows(self.centroids[speaker][None])[0]

