"""Server load: CPU the sessions' model work takes, measured as it runs, and each session's lag."""

from __future__ import annotations

import threading
import time
from collections import deque


class LoadMeter:
    """CPU seconds the model work of all sessions used over the last ``window`` seconds.

    Every step a session runs is recorded with its thread CPU time and the audio it covered,
    so the meter knows both the machine's current load (CPU seconds per second) and what one
    real-time session costs here (CPU seconds per audio second, averaged over the window):
    on this CPU, with these models, under whatever else is running, not a fixed figure.

    Parameters
    ----------
    cores : float
        CPU the models may use (the worker threads, at most the cores available).
    max_load : float
        Share of ``cores`` that admitted sessions may need, leaving room for the event loop
        and the WebSocket traffic.
    window : float
        Seconds of history.
    clock : callable
        Monotonic wall clock (tests pass their own).
    """

    def __init__(self, cores: float, *, max_load: float = 0.85, window: float = 10.0,
                 clock=time.monotonic):
        self.cores, self.max_load, self.window, self.clock = cores, max_load, window, clock
        self._records = deque()           # (wall time, cpu seconds, audio seconds)
        self._lock = threading.Lock()

    def record(self, cpu_seconds: float, audio_seconds: float) -> None:
        """One step's CPU time and the audio it processed."""
        with self._lock:
            self._records.append((self.clock(), cpu_seconds, audio_seconds))
            self._trim()

    def _trim(self) -> None:
        limit = self.clock() - self.window
        while self._records and self._records[0][0] < limit:
            self._records.popleft()

    def load(self) -> float:
        """CPU seconds used per wall second over the window."""
        with self._lock:
            self._trim()
            return sum(r[1] for r in self._records) / self.window

    def cost(self) -> float | None:
        """CPU seconds per audio second of a session (None before any measured audio)."""
        with self._lock:
            self._trim()
            audio = sum(r[2] for r in self._records)
            return sum(r[1] for r in self._records) / audio if audio > 0 else None

    def capacity(self) -> float:
        """CPU seconds per second the sessions may use."""
        return self.cores * self.max_load

    def admit(self, open_sessions: int) -> tuple[bool, str]:
        """Whether one more real-time session fits, and why not.

        It fits when both the measured load plus one session's measured cost and the cost
        of ``open_sessions + 1`` real-time sessions stay within :meth:`capacity`. Before
        anything was measured, it fits.
        """
        cost = self.cost()
        if cost is None:
            return True, ""
        load = self.load()
        need = max(load + cost, (open_sessions + 1) * cost)
        if need <= self.capacity():
            return True, ""
        return False, (f"server at capacity: {open_sessions} sessions use {load:.2f} CPU "
                       f"seconds per second, one more needs about {cost:.2f} (measured), and "
                       f"{self.capacity():.2f} are available; try again later")


class LagTracker:
    """How far a session's processing is behind real time (for a client streaming live).

    A real-time client's audio at time ``A`` of its stream exists at ``anchor + A`` on the
    wall clock. The anchor is set whenever the server had to wait for the client (no
    backlog: it is caught up), so a client that pauses is not counted as lagging.

    Parameters
    ----------
    clock : callable
        Monotonic wall clock.
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.anchor = None                 # wall time of the stream's audio time 0
        self.audio = 0.0                   # seconds of audio processed

    def waited(self, seconds_waited: float, *, threshold: float = 0.02) -> None:
        """The server waited this long for the next frame: it was caught up before it."""
        if self.anchor is None or seconds_waited > threshold:
            self.anchor = max(self.anchor if self.anchor is not None else -float("inf"),
                              self.clock() - self.audio)

    def processed(self, audio_seconds: float) -> float:
        """Add processed audio; returns the lag in seconds (>= 0)."""
        self.audio += audio_seconds
        if self.anchor is None:
            self.anchor = self.clock() - self.audio
        return max(0.0, self.clock() - self.anchor - self.audio)
