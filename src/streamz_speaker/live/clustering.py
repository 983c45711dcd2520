"""Incremental speaker clustering: each window's local speakers -> stable global speaker ids."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..diarization.clustering import spectral
from ..speaker_id.open_set import unit_rows

#: Marks a local speaker that is mapped to no global speaker.
UNMAPPED = -1
#: Ids a session with an automatic count may hand out, per speaker it tracks at a time
#: (ids merged away by a re-clustering are not handed out again).
IDS_PER_SPEAKER = 3
#: Kept embeddings a re-clustered group needs to become a new speaker.
MIN_NEW_POINTS = 5


class IncrementalClustering:
    """Constrained incremental clustering of local speakers (the idea of diart's
    ``OnlineSpeakerClustering``, Coria et al. 2021), corrected by periodic re-clustering.

    Every global speaker is a centroid (a sum of unit embeddings). Each window's active local
    speakers are matched one-to-one to centroids (Hungarian, cosine distance). A match farther
    than ``delta_new`` is undone: the local speaker becomes a new global speaker when it has
    enough clean speech (``long``) and there is room, otherwise it takes the closest free
    centroid. A local speaker very close (``delta_same``) to an already matched centroid
    also maps to it (the segmentation sometimes splits one voice into two local speakers).
    Centroids learn only from long, confidently matched local speakers.

    Those decisions see one window. The re-clustering sees the session: the central
    embeddings of the mapped local speakers, one per ``keep_every`` steps (at most
    ``history``, thinned evenly beyond), are clustered as the offline pipeline does
    (:func:`streamz_speaker.diarization.clustering.spectral`: the count from the eigengap, up to
    ``max_speakers``, or the fixed count) every ``recluster_every`` steps once
    ``min_points`` are kept. Each group takes the id most of its embeddings were given
    (Hungarian on the counts), so ids stay. A group that takes no id becomes a new speaker
    (with ``MIN_NEW_POINTS`` and room). An id no group takes is merged into the id that got
    most of its embeddings: it is matched no more, and :meth:`resolve` maps it to that id
    (the report folds its turns in). Centroids restart from their group. Ids are never
    reused or renumbered.

    Parameters
    ----------
    max_speakers : int
        Most global speakers at a time (the client's fixed count, or the automatic maximum).
    delta_new : float
        Cosine distance (0..2) above which a local speaker is not the matched global one.
    delta_same : float
        Cosine distance under which a local speaker left over by the one-to-one matching is
        taken for the same voice as its closest, already matched, global speaker.
    fixed_count : bool
        ``max_speakers`` is the number of speakers: re-clustering looks for exactly that many
        and ids stay below it.
    recluster_every : int
        Steps between re-clusterings; 0 never re-clusters.
    min_points, keep_every, history : int
        Kept central embeddings before the first re-clustering; steps between kept
        embeddings; most embeddings kept.
    neighbours : int
        Neighbours per embedding in the re-clustering's affinity graph.
    """

    def __init__(self, max_speakers: int, delta_new: float, delta_same: float, *,
                 fixed_count: bool = False, recluster_every: int = 0, min_points: int = 80,
                 keep_every: int = 2, history: int = 600, neighbours: int = 8):
        self.max_speakers = max_speakers
        self.max_ids = max_speakers if fixed_count else IDS_PER_SPEAKER * max_speakers
        self.fixed_count = fixed_count
        self.delta_new = delta_new
        self.delta_same = delta_same
        self.recluster_every, self.min_points = recluster_every, min_points
        self.keep_every, self.history, self.neighbours = keep_every, history, neighbours
        self.centroids = np.zeros((0, 0), np.float64)   # (num_speakers, dimension), sums
        self.support = np.zeros(0, np.int64)             # embeddings summed per centroid
        self.merged: dict[int, int] = {}                 # id -> id it was merged into
        self.points = np.zeros((0, 0), np.float64)       # (kept, dimension) unit central
        self.whole = np.zeros((0, 0), np.float64)        # their whole-window embeddings
        self.ids = np.zeros(0, np.int64)                 # the id each was given
        self.steps = 0

    @property
    def num_speakers(self) -> int:
        """Ids handed out so far (merged ones included)."""
        return len(self.support)

    @property
    def live(self) -> np.ndarray:
        """Ids still matched, shape (num_speakers,), bool."""
        return np.array([s not in self.merged for s in range(self.num_speakers)], bool)

    def resolve(self, speaker: int) -> int:
        """The id a speaker's turns belong to now (itself unless it was merged)."""
        while speaker in self.merged:
            speaker = self.merged[speaker]
        return speaker

    def __call__(self, embeddings: np.ndarray, active: np.ndarray, long: np.ndarray,
                 central: np.ndarray | None = None) -> np.ndarray:
        """Map one window's local speakers to global speakers (and learn from them).

        Parameters
        ----------
        embeddings : ndarray of shape (num_local_speakers, dimension)
            NaN rows for local speakers without an embedding.
        active : ndarray of shape (num_local_speakers,), bool
            Local speakers that speak in the window.
        long : ndarray of shape (num_local_speakers,), bool
            Local speakers with enough clean speech to found or update a global speaker.
        central : ndarray of shape (num_local_speakers, dimension), optional
            The same speakers pooled over the middle of the window (NaN rows for none):
            what the re-clustering clusters.

        Returns
        -------
        mapping : ndarray of shape (num_local_speakers,), int64
            Global speaker of each local speaker, ``UNMAPPED`` (-1) for none.
        """
        embeddings = np.asarray(embeddings, dtype=np.float64)
        usable = np.asarray(active) & np.all(np.isfinite(embeddings), axis=1)
        long = np.asarray(long) & usable
        unit = unit_rows(np.nan_to_num(embeddings))
        if self.num_speakers == 0:
            self.centroids = np.zeros((0, embeddings.shape[1]), np.float64)
        mapping, confident = self._match(unit, usable, long)
        for spk in np.flatnonzero((confident != UNMAPPED) & long):
            self.centroids[confident[spk]] += unit[spk]
            self.support[confident[spk]] += 1
        if central is not None and self.steps % self.keep_every == 0:
            self._keep(np.asarray(central, dtype=np.float64), unit, long, mapping)
        self.steps += 1
        if self.recluster_every and self.steps % self.recluster_every == 0 \
                and len(self.ids) >= self.min_points:
            self._recluster()
        return mapping

    def rematch(self, embeddings: np.ndarray, usable: np.ndarray,
                mapping: np.ndarray) -> np.ndarray:
        """A window seen earlier, mapped again with what the session knows now.

        Its usable local speakers are matched one-to-one to the live centroids (within
        ``delta_new``); the others keep the id they were given (or the id it was merged
        into). Nothing is learned and no id is created.

        Parameters
        ----------
        embeddings : ndarray of shape (num_local_speakers, dimension)
        usable : ndarray of shape (num_local_speakers,), bool
        mapping : ndarray of shape (num_local_speakers,), int64
            What :meth:`__call__` returned for the window.

        Returns
        -------
        mapping : ndarray of shape (num_local_speakers,), int64
        """
        out = np.array([UNMAPPED if g == UNMAPPED else self.resolve(int(g)) for g in mapping],
                       np.int64)
        unit = unit_rows(np.nan_to_num(np.asarray(embeddings, dtype=np.float64)))
        self._match_live(self._distances(unit), np.flatnonzero(usable), out)
        return out

    def _distances(self, unit: np.ndarray) -> np.ndarray:
        """Cosine distances (num_local, num_speakers) to the centroids; inf to merged ids."""
        dist = 1.0 - unit @ unit_rows(self.centroids).T
        dist[:, ~self.live] = np.inf
        return dist

    def _match_live(self, dist: np.ndarray, locals_: np.ndarray, out: np.ndarray) -> None:
        """One-to-one matching of ``locals_`` to the live ids; pairs within ``delta_new``
        are written to ``out``."""
        live = np.flatnonzero(self.live)
        if len(locals_) and len(live):
            rows, cols = linear_sum_assignment(dist[np.ix_(locals_, live)])
            for r, c in zip(rows, cols):
                if dist[locals_[r], live[c]] <= self.delta_new:
                    out[locals_[r]] = live[c]

    def _match(self, unit, usable, long) -> tuple[np.ndarray, np.ndarray]:
        mapping = np.full(len(unit), UNMAPPED, np.int64)
        dist = self._distances(unit)                                 # (num_local, num_speakers)
        locals_, live = np.flatnonzero(usable), np.flatnonzero(self.live)
        self._match_live(dist, locals_, mapping)
        confident = mapping.copy()
        for spk in locals_[np.argsort(dist[locals_].min(axis=1, initial=np.inf))]:
            if mapping[spk] != UNMAPPED:
                continue
            closest = [g for g in np.argsort(dist[spk]) if np.isfinite(dist[spk, g])]
            if closest and dist[spk, closest[0]] <= self.delta_same:
                # the segmentation split one voice into two local speakers: both are it
                mapping[spk] = closest[0]
            elif long[spk] and self._room(len(live)):
                mapping[spk] = self._add(unit[spk])
                live = np.append(live, mapping[spk])
            else:
                free = [g for g in closest if g not in mapping]
                if free:
                    mapping[spk] = free[0]
        return mapping, confident

    def _room(self, live: int) -> bool:
        return live < self.max_speakers and self.num_speakers < self.max_ids

    def _add(self, centroid: np.ndarray) -> int:
        self.centroids = np.vstack([self.centroids, centroid[None]])
        self.support = np.append(self.support, 1)
        return self.num_speakers - 1

    def _keep(self, central, unit, long, mapping) -> None:
        """Keep the central embeddings of the mapped local speakers for re-clustering."""
        keep = (mapping != UNMAPPED) & np.all(np.isfinite(central), axis=1)
        if not keep.any():
            return
        whole = np.where(long[:, None], unit, np.nan)
        if len(self.ids) == 0:
            self.points = np.zeros((0, central.shape[1]))
            self.whole = np.zeros((0, central.shape[1]))
        self.points = np.vstack([self.points, unit_rows(central[keep])])
        self.whole = np.vstack([self.whole, whole[keep]])
        self.ids = np.append(self.ids, mapping[keep])
        if len(self.ids) > self.history:
            # thin out evenly: memory stays bounded, the whole session stays represented
            self.points, self.whole, self.ids = self.points[1::2], self.whole[1::2], \
                self.ids[1::2]
            self.keep_every *= 2

    def _recluster(self) -> None:
        labels, _ = spectral(self.points, neighbours=self.neighbours,
                             max_k=self.max_speakers,
                             num=self.max_speakers if self.fixed_count else None)
        groups = int(labels.max()) + 1
        counts = np.zeros((groups, self.num_speakers))
        np.add.at(counts, (labels, self.ids), 1)
        rows, cols = linear_sum_assignment(-counts)
        owner = {int(r): int(c) for r, c in zip(rows, cols) if counts[r, c] > 0}
        sizes = np.bincount(labels, minlength=groups)
        for group in np.argsort(-sizes, kind="stable"):
            if group in owner:
                continue
            if sizes[group] >= MIN_NEW_POINTS and self._room(len(set(owner.values()))):
                owner[int(group)] = self._add(np.zeros(self.centroids.shape[1]))
            else:       # too small or no room: it goes with the id it overlaps most
                kept = sorted(set(owner.values()) & set(range(counts.shape[1])))
                if kept and counts[group, kept].max() > 0:
                    owner[int(group)] = kept[int(np.argmax(counts[group, kept]))]
        kept = set(owner.values())
        for speaker in range(counts.shape[1]):
            if speaker in kept:
                self.merged.pop(speaker, None)
            elif counts[:, speaker].any() and int(np.argmax(counts[:, speaker])) in owner:
                self.merged[speaker] = owner[int(np.argmax(counts[:, speaker]))]
        for speaker in kept:
            members = np.isin(labels, [g for g, s in owner.items() if s == speaker])
            whole = self.whole[members]
            whole = whole[np.all(np.isfinite(whole), axis=1)]
            self.centroids[speaker] = whole.sum(axis=0) if len(whole) else \
                self.points[members].sum(axis=0)
            self.support[speaker] = members.sum()

    def centroid(self, speaker: int) -> np.ndarray:
        """Unit centroid of a global speaker, shape (dimension,)."""
        return unit_rows(self.centroids[speaker][None])[0]
