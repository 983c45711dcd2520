"""StreamZ: incremental speaker identification and speaker diarization."""

from .errors import (AudioLoadError, ConfigError, FeatureError, LedgerError, LockError,
                     ModelFormatError, ModelLoadError, NotFittedError, StreamzError)
from .audio import load_audio

__all__ = [
    "AudioLoadError", "ConfigError", "FeatureError", "LedgerError", "LockError",
    "ModelFormatError", "ModelLoadError", "NotFittedError", "StreamzError", "load_audio",
]
