"""Exception hierarchy: every error streamz raises derives from StreamzError."""

from __future__ import annotations


class StreamzError(Exception):
    """Root of all streamz errors."""


class ConfigError(StreamzError, ValueError):
    """An option or configuration value is out of range."""


class AudioLoadError(StreamzError, OSError):
    """An audio file is missing, unreadable or unusable.

    The message always starts with the file's path.
    """

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __str__(self) -> str:  # OSError would otherwise format its own way
        return f"{self.path}: {self.problem}"

    def __reduce__(self):  # picklable across joblib workers
        return (type(self), (self.path, self.problem))


class FeatureError(StreamzError, ValueError):
    """Audio cannot be turned into features (too short, silent, ...)."""


class NotFittedError(StreamzError, ValueError, AttributeError):
    """A model is used before it was trained."""


class ModelFormatError(StreamzError, ValueError):
    """A saved speaker model is corrupt, incomplete or of an unknown version."""


class ModelLoadError(StreamzError, RuntimeError):
    """An ONNX or PLDA asset is missing, corrupt or does not match its manifest."""


class LedgerError(StreamzError, ValueError):
    """A training or target list has a malformed line."""


class LockError(StreamzError, RuntimeError):
    """Another streamz process holds the lock on a model."""


class RttmError(StreamzError, ValueError):
    """An RTTM or UEM file is missing or has a malformed line (the message names file and line)."""


class ReportError(StreamzError, ValueError):
    """A saved run given as a baseline is unreadable, or not comparable with this run."""


class MissingDependencyError(StreamzError, ImportError):
    """An optional dependency is not installed; the message says which pip install adds it."""


class ProtocolError(StreamzError, ValueError):
    """A live-session client sent something the protocol does not allow."""


class WorkerError(StreamzError, RuntimeError):
    """A batch could not reach its cluster, or a worker died (killed, out of memory) on a file."""


class TranscriptError(StreamzError, ValueError):
    """A speech-to-text transcript is unreadable, malformed or does not fit its recording.

    The message names the file and the segment, cue or line.
    """
