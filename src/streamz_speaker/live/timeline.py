"""Stitching windows onto one timeline: live step decisions and the finalised speaker turns."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..diarization.config import FRAME_DURATION_SECONDS, FRAME_STEP_SECONDS


@dataclass(frozen=True)
class Turn:
    """One speaker turn of a live session, in seconds from the first sample."""

    start: float
    end: float
    speaker: int


def frame_of(seconds: float) -> int:
    """The global segmentation frame whose window starts closest to ``seconds``."""
    return int(np.rint(seconds / FRAME_STEP_SECONDS))


class Timeline:
    """Averages the windows' global-speaker activity frame by frame and closes turns.

    Each window adds its activity, mapped to global speakers, to the frames it covers. A
    frame no later window covers is final: it gets ``n`` speakers, ``n`` the average
    number of active local speakers rounded at ``count_threshold`` (as the offline
    reconstruction), the ``n`` with the highest average activity. Memory holds the frames
    of one window plus the turns kept (at most ``max_turns``, the oldest dropped first).

    Parameters
    ----------
    max_speakers : int
    count_threshold : float in (0, 1)
    max_turns : int
    """

    def __init__(self, max_speakers: int, *, count_threshold: float, max_turns: int):
        self.max_speakers = max_speakers
        self.count_threshold = count_threshold
        self.first = 0                                        # first frame not final yet
        self.score = np.zeros((0, max_speakers), np.float32)  # summed activity from first
        self.local = np.zeros(0, np.float32)                  # summed local speaker counts
        self.windows = np.zeros(0, np.float32)                # windows covering each frame
        self.open = np.full(max_speakers, -1, np.int64)       # start frame of open turns
        self.turns: deque[Turn] = deque(maxlen=max_turns)
        self.duration = np.inf                                # clip turns here (close)
        self.dropped = 0                                      # turns dropped (max_turns)
        self.totals = np.zeros(max_speakers, np.float64)      # seconds of final turns

    def add(self, start_frame: int, activity: np.ndarray, local_count: np.ndarray) -> None:
        """Add one window.

        Parameters
        ----------
        start_frame : int
            Global frame of the window's first frame (negative at the stream's start).
        activity : ndarray of shape (num_frames, max_speakers)
            The window's binary activity per global speaker.
        local_count : ndarray of shape (num_frames,)
            Active local speakers per frame (mapped or not).
        """
        end = start_frame + len(activity)
        if end > self.first + len(self.windows):
            grow = end - self.first - len(self.windows)
            self.score = np.concatenate([self.score, np.zeros((grow, self.max_speakers),
                                                              np.float32)])
            self.local = np.concatenate([self.local, np.zeros(grow, np.float32)])
            self.windows = np.concatenate([self.windows, np.zeros(grow, np.float32)])
        skip = max(0, self.first - start_frame)
        a, b = start_frame + skip - self.first, end - self.first
        self.score[a:b] += activity[skip:]
        self.local[a:b] += local_count[skip:]
        self.windows[a:b] += 1

    def finalize(self, until_frame: int | None = None) -> None:
        """Decide the frames before ``until_frame`` (all frames when None)."""
        n = len(self.windows) if until_frame is None else \
            max(0, min(until_frame - self.first, len(self.windows)))
        if n == 0:
            return
        covered = np.maximum(self.windows[:n], 1)[:, None]
        avg = self.score[:n] / covered
        count = np.floor(self.local[:n] / covered[:, 0] + 1 - self.count_threshold + 1e-5)
        rank = np.argsort(np.argsort(-avg, axis=1, kind="stable"), axis=1)
        active = (rank < count[:, None]) & (avg > 0)
        self._close_turns(active)
        self.first += n
        self.score, self.local, self.windows = self.score[n:], self.local[n:], self.windows[n:]

    def _close_turns(self, active: np.ndarray) -> None:
        # as rttm.to_segments: a frame stands for its middle; a turn ends at the middle of
        # the first inactive frame
        was = (self.open >= 0)[None]
        edges = np.diff(np.concatenate([was, active]).astype(np.int8), axis=0)
        for speaker in np.flatnonzero(np.any(edges, axis=0)):
            starts = list(self.first + np.flatnonzero(edges[:, speaker] > 0))
            if self.open[speaker] >= 0:
                starts.insert(0, self.open[speaker])
            ends = self.first + np.flatnonzero(edges[:, speaker] < 0)
            for start, end in zip(starts, ends):
                self._turn(speaker, start, end)
            self.open[speaker] = starts[-1] if len(starts) > len(ends) else -1

    def close(self, duration: float) -> None:
        """Finalise every frame and close the open turns at ``duration`` seconds."""
        self.finalize()
        for speaker in np.flatnonzero(self.open >= 0):
            self._turn(speaker, self.open[speaker], self.first - 1)   # the last frame's middle
            self.open[speaker] = -1
        self.duration = duration

    def _turn(self, speaker: int, first: int, stop: int) -> None:
        mid = 0.5 * FRAME_DURATION_SECONDS
        start = first * FRAME_STEP_SECONDS + mid
        end = min(stop * FRAME_STEP_SECONDS + mid, self.duration)
        if end <= start:
            return
        self.totals[speaker] += end - start
        if len(self.turns) == self.turns.maxlen:
            self.dropped += 1
        self.turns.append(Turn(round(float(start), 3), round(float(end), 3), int(speaker)))
