"""Online diarization: push 16 kHz audio as it arrives, get speaker events, then a report."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..core.config import SAMPLE_RATE
from ..diarization.config import (FRAME_STEP_SECONDS, SEGMENTATION_WINDOW_SECONDS,
                                  ClusteringConfig)
from ..core.errors import ConfigError
from .clustering import UNMAPPED, IncrementalClustering
from .frontend import Frontend, window_embeddings
from .timeline import Timeline, Turn, frame_of

#: Most speakers a session tracks (the protocol's limit for a fixed count too).
MAX_SPEAKERS = 5


@dataclass(frozen=True)
class OnlineConfig:
    """Online diarization settings (defaults tuned on the dev-wide odd conversations)."""

    step_seconds: float = 0.5       # audio per step: an event at most this late
    num_speakers: int | None = None  # fixed speaker count; None: found, up to max_speakers
    max_speakers: int = MAX_SPEAKERS  # most speakers found automatically
    delta_new: float = 0.45         # cosine distance: a farther local speaker is someone new
    delta_same: float = 0.3         # closer to a matched speaker: the same voice, split
    min_long_ratio: float = 0.15    # clean-speech share of a window to found/update a speaker
    min_active_seconds: float = 0.1  # speech in a window for a local speaker to be mapped
    count_threshold: float = 0.7    # speakers per frame: average local count rounded here
    context_frames: int = 50        # backbone left context per step (20 ms frames)
    redo_frames: int = 25           # previous step's backbone frames recomputed
    recluster_seconds: float = 5.0  # re-cluster the session this often (0: never)
    recluster_after: int = 40       # central embeddings (~s of clean speech) before the first
    recluster_history: int = 600    # central embeddings kept (thinned evenly beyond)
    report_delay_seconds: float = 10.0  # windows wait this long to be matched again for the report
    max_turns: int = 10_000         # turns kept for the report (oldest dropped)
    learn_min_seconds: float = 10.0  # clean speech before a voice can be learned
    learn_max_windows: int = 64     # embeddings kept per speaker for learning

    def __post_init__(self):
        step = self.step_seconds * SAMPLE_RATE
        if not 0 < self.step_seconds <= 2 or step % 320:
            raise ConfigError(f"step_seconds must be a multiple of 0.02 in (0, 2], got "
                              f"{self.step_seconds}")
        if self.num_speakers is not None and not 1 <= self.num_speakers <= MAX_SPEAKERS:
            raise ConfigError(f"num_speakers must be between 1 and {MAX_SPEAKERS}, got "
                              f"{self.num_speakers}")
        if not 1 <= self.max_speakers <= 20:
            raise ConfigError(f"max_speakers must be between 1 and 20, got {self.max_speakers}")
        if not 0 < self.delta_new < 2 or not 0 < self.count_threshold < 1:
            raise ConfigError("need 0 < delta_new < 2 and 0 < count_threshold < 1")
        if self.report_delay_seconds < 0:
            raise ConfigError(f"report_delay_seconds must be >= 0, got "
                              f"{self.report_delay_seconds}")
        if self.recluster_seconds < 0 or not 2 <= self.recluster_after <= self.recluster_history:
            raise ConfigError("need recluster_seconds >= 0 and 2 <= recluster_after <= "
                              f"recluster_history, got {self.recluster_seconds}, "
                              f"{self.recluster_after}, {self.recluster_history}")

    @property
    def speaker_limit(self) -> int:
        return self.num_speakers or self.max_speakers


@dataclass(frozen=True)
class SpeakerEvent:
    """Who is speaking in the latest step."""

    time: float                    # seconds of audio processed when the event was made
    speaker: int                   # current speaker id (most speech in the step)
    name: str | None               # its enrolled name, when a speaker model names voices
    speaking_ms: dict              # speaker id -> milliseconds heard so far (live count)


@dataclass(frozen=True)
class SpeakerTotal:
    id: int
    total_ms: int
    name: str | None


@dataclass(frozen=True)
class Report:
    """A finished session: per-speaker totals and turns (seconds from the first sample)."""

    duration: float
    speakers: list                 # SpeakerTotal, by id
    segments: list                 # Turn, by start time
    names: dict = field(default_factory=dict)     # speaker id -> name or None
    dropped_segments: int = 0      # oldest turns not kept (OnlineConfig.max_turns)
    merged: dict = field(default_factory=dict)    # id heard live -> id its turns went to


class OnlineDiarizer:
    """Who speaks when, while a stream is going on (bounded memory whatever its length).

    Each step of ``config.step_seconds`` slides a 10 s window: segmentation-3.0 gives its
    local speakers, CAM++ (incremental backbone, masked pooling) their embeddings,
    :class:`IncrementalClustering` their global ids (and re-clusters the session every
    ``recluster_seconds``). Events report the latest step with those ids. For the report,
    each window is held ``report_delay_seconds`` and matched again with what the session
    knows by then (:meth:`IncrementalClustering.rematch`) before a :class:`Timeline`
    averages the overlapping windows into final turns, 10 s after that.

    Parameters
    ----------
    models : streamz_speaker.diarization.pipeline.DiarizationModels
        Bundled CAM++ models (``kind == "campplus"``), shared by any number of sessions.
    config : OnlineConfig
    namer : callable, optional
        ``namer(unit_centroid) -> name or None``, e.g. :class:`SpeakerNamer`.

    Examples
    --------
    >>> diarizer = OnlineDiarizer(load_models())                     # doctest: +SKIP
    >>> for block in blocks:                                         # doctest: +SKIP
    ...     for event in diarizer.push(block):
    ...         print(event.speaker, event.speaking_ms)
    >>> report = diarizer.finish()                                   # doctest: +SKIP
    """

    def __init__(self, models, config: OnlineConfig = OnlineConfig(), *, namer=None):
        if models.kind != "campplus":
            raise ConfigError(f"online diarization needs the bundled CAM++ models, not "
                              f"{models.kind!r}")
        self.config, self.namer = config, namer
        self.step = int(round(config.step_seconds * SAMPLE_RATE))
        self.frontend = Frontend(models.segmentation, models.embedding, step_samples=self.step,
                                 context_frames=config.context_frames,
                                 redo_frames=config.redo_frames)
        self.head = models.head
        per_second = max(1, int(round(1.0 / config.step_seconds)))   # steps per second
        self.clustering = IncrementalClustering(
            config.speaker_limit, config.delta_new, config.delta_same,
            fixed_count=config.num_speakers is not None,
            recluster_every=int(round(config.recluster_seconds / config.step_seconds)),
            min_points=config.recluster_after, keep_every=per_second,
            history=config.recluster_history,
            # one kept embedding per voice and second: the offline graph's neighbourhood
            neighbours=int(round(ClusteringConfig().neighbour_seconds)))
        limit = self.clustering.max_ids
        self.timeline = Timeline(limit, count_threshold=config.count_threshold,
                                 max_turns=config.max_turns)
        self.pending = np.zeros(0, np.float32)   # samples of the step being filled
        self.held: deque[_Window] = deque()      # windows not in the timeline yet
        self.delay = int(round(config.report_delay_seconds / config.step_seconds))
        self.samples = 0                          # samples received
        self.speaking = np.zeros(limit, np.float64)   # live seconds per speaker
        self.names: dict[int, str | None] = {}
        self.clean_seconds = np.zeros(limit, np.float64)
        self.learn: dict[int, list] = {}          # speaker -> embeddings for learning
        self.finished = False

    @property
    def duration(self) -> float:
        """Seconds of audio received."""
        return self.samples / SAMPLE_RATE

    def push(self, y: np.ndarray) -> list[SpeakerEvent]:
        """Feed audio; returns the events of the steps it completes.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Mono float32 audio at 16 kHz, any length.

        Returns
        -------
        list of SpeakerEvent
            One per completed step in which a tracked speaker speaks.

        Raises
        ------
        ValueError
            If ``y`` is not a finite 1-D array or the session is finished.
        """
        if self.finished:
            raise ValueError("session is finished")
        y = np.asarray(y, dtype=np.float32)
        if y.ndim != 1 or not np.all(np.isfinite(y)):
            raise ValueError(f"audio must be a finite 1-D array, got shape {y.shape}")
        self.samples += y.size
        self.pending = np.concatenate([self.pending, y])
        events = []
        while self.pending.size >= self.step:
            block, self.pending = self.pending[:self.step], self.pending[self.step:]
            event = self._step(block)
            if event is not None:
                events.append(event)
        return events

    def finish(self) -> Report:
        """End the session: the last partial step (zero-padded) and the report."""
        if not self.finished and self.pending.size:
            padded = np.zeros(self.step, np.float32)
            padded[:self.pending.size] = self.pending
            self._step(padded)
        self.finished = True
        self._commit(0)
        duration = self.duration
        self.timeline.close(duration)
        self._refresh_names()
        resolve = self.clustering.resolve
        totals = self._fold(self.timeline.totals)
        spoken = [s for s in range(len(totals)) if totals[s] > 0]
        speakers = [SpeakerTotal(s, int(round(1000 * totals[s])), self.names.get(s))
                    for s in spoken]
        return Report(duration=duration, speakers=speakers,
                      segments=_merge_turns(Turn(t.start, t.end, resolve(t.speaker))
                                            for t in self.timeline.turns),
                      names={s: self.names.get(s) for s in spoken},
                      dropped_segments=self.timeline.dropped,
                      merged={s: resolve(s) for s in sorted(self.clustering.merged)})

    def _fold(self, per_id: np.ndarray) -> np.ndarray:
        """Per-id amounts with merged ids added to the id they were merged into."""
        out = np.zeros_like(per_id)
        np.add.at(out, [self.clustering.resolve(s) for s in range(len(per_id))], per_id)
        return out

    def _step(self, block: np.ndarray) -> SpeakerEvent | None:
        activity, features = self.frontend.advance(block)
        #   activity: (589, 3) binary local speakers; features: (500, 512) backbone frames
        embeddings, central = window_embeddings(self.head, activity, features)
        #   shape: (3, 192) each, NaN where a local speaker has too little speech
        frames = activity.shape[0]
        speech = activity.sum(axis=0)
        clean = (activity * (activity.sum(axis=1, keepdims=True) == 1)).sum(axis=0)
        active = speech * FRAME_STEP_SECONDS >= self.config.min_active_seconds
        long = clean >= self.config.min_long_ratio * frames
        mapping = self.clustering(embeddings, active, long, central)
        #   shape: (3,) global id per local speaker, -1 for none
        end = self.frontend.samples / SAMPLE_RATE
        start = frame_of(end - SEGMENTATION_WINDOW_SECONDS)
        usable = active & np.all(np.isfinite(embeddings), axis=1)
        self.held.append(_Window(start, end, activity, embeddings, usable, mapping))
        self._commit(self.delay)
        self._remember(mapping, embeddings, long)
        # the live decision: the frames of the window that cover the new step
        glob = self._global(activity, mapping)
        recent = glob[frame_of(end - self.config.step_seconds) - start:]
        heard = recent.sum(axis=0) / max(len(recent), 1)
        self.speaking += heard * self.config.step_seconds
        if not heard.any():
            return None
        current = int(np.argmax(heard))
        if self.namer is not None and current not in self.names:
            self._refresh_names()
        speaking = self._fold(self.speaking)
        return SpeakerEvent(time=round(end, 3), speaker=current, name=self.names.get(current),
                            speaking_ms={s: int(round(1000 * speaking[s]))
                                         for s in np.flatnonzero(speaking > 0).tolist()})

    def _global(self, activity: np.ndarray, mapping: np.ndarray) -> np.ndarray:
        """A window's activity per global speaker, shape (589, max_ids)."""
        glob = np.zeros((activity.shape[0], self.clustering.max_ids), np.float32)
        for local, speaker in enumerate(mapping):
            if speaker != UNMAPPED:
                glob[:, speaker] = np.maximum(glob[:, speaker], activity[:, local])
        return glob

    def _commit(self, keep: int) -> None:
        """Move all but the last ``keep`` held windows to the timeline, each matched again
        with what the session knows now (``report_delay_seconds`` of hindsight)."""
        while len(self.held) > keep:
            window = self.held.popleft()
            mapping = self.clustering.rematch(window.embeddings, window.usable, window.mapping)
            self.timeline.add(window.start, self._global(window.activity, mapping),
                              window.activity.sum(axis=1))
            self.timeline.finalize(frame_of(window.end + self.config.step_seconds
                                            - SEGMENTATION_WINDOW_SECONDS))

    def _remember(self, mapping, embeddings, long) -> None:
        """Count clean speech per speaker and keep a bounded sample of its embeddings."""
        for local, speaker in enumerate(mapping):
            if speaker == UNMAPPED or not long[local]:
                continue
            self.clean_seconds[speaker] += self.config.step_seconds
            kept = self.learn.setdefault(int(speaker), [])
            kept.append(embeddings[local].copy())
            if len(kept) > self.config.learn_max_windows:
                del kept[::2]          # thin out evenly: memory stays bounded
            if self.namer is not None:
                self.names.pop(int(speaker), None)     # centroid moved: name again

    def _refresh_names(self) -> None:
        if self.namer is None:
            return
        for s in range(self.clustering.num_speakers):
            if s not in self.names:
                self.names[s] = self.namer(self.clustering.centroid(s))

    def learnable(self) -> dict:
        """Speakers with at least ``learn_min_seconds`` of clean speech.

        Returns
        -------
        dict
            speaker id -> ndarray of shape (n, 192), its kept embeddings.
        """
        clean = self._fold(self.clean_seconds)
        voices: dict = {}
        for s, kept in sorted(self.learn.items()):
            voices.setdefault(self.clustering.resolve(s), []).extend(kept)
        return {s: np.stack(e) for s, e in voices.items()
                if clean[s] >= self.config.learn_min_seconds}


@dataclass(frozen=True)
class _Window:
    """One step's window, held back from the report's timeline."""

    start: int                     # global segmentation frame of its first frame
    end: float                     # seconds of audio when it was made
    activity: np.ndarray           # (589, 3) local speakers
    embeddings: np.ndarray         # (3, 192)
    usable: np.ndarray             # (3,) bool: active, with an embedding
    mapping: np.ndarray            # (3,) the ids the live decision gave


def _merge_turns(turns) -> list:
    """Turns sorted by start, overlapping or touching turns of one speaker joined."""
    out: list[Turn] = []
    last: dict[int, int] = {}          # speaker -> index of its latest turn in out
    for turn in sorted(turns, key=lambda t: (t.start, t.speaker)):
        i = last.get(turn.speaker)
        if i is not None and turn.start <= out[i].end:
            out[i] = Turn(out[i].start, max(out[i].end, turn.end), turn.speaker)
        else:
            last[turn.speaker] = len(out)
            out.append(turn)
    return out


def diarize_stream(y: np.ndarray, models, config: OnlineConfig = OnlineConfig(), *,
                   block_seconds: float = 0.5, namer=None) -> tuple[list, Report]:
    """Run a whole recording through :class:`OnlineDiarizer` in blocks, as a stream would.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Mono float32 16 kHz audio.
    models : DiarizationModels
    config : OnlineConfig
    block_seconds : float
        Audio per :meth:`OnlineDiarizer.push` call.

    Returns
    -------
    events : list of SpeakerEvent
    report : Report
    """
    diarizer = OnlineDiarizer(models, config, namer=namer)
    block = max(1, int(block_seconds * SAMPLE_RATE))
    events = []
    for i in range(0, len(y), block):
        events += diarizer.push(y[i:i + block])
    return events, diarizer.finish()


def report_segments(report: Report):
    """The report's turns as :class:`streamz_speaker.diarization.rttm.Segment` (``SPEAKER_NN``)."""
    from ..diarization.rttm import Segment, speaker_label

    return [Segment(t.start, t.end, speaker_label(t.speaker)) for t in report.segments]


__all__ = ["OnlineConfig", "OnlineDiarizer", "SpeakerEvent", "SpeakerTotal", "Report", "Turn",
           "diarize_stream", "report_segments", "MAX_SPEAKERS"]
