"""StreamZ: incremental speaker identification and speaker diarization."""

from .errors import (AudioLoadError, ConfigError, FeatureError, LedgerError, LockError,
                     ModelFormatError, ModelLoadError, NotFittedError, StreamzError)
from .audio import load_audio
from .classifier import SpeakerClassifier
from .config import FeatureConfig
from .extraction import CacheConfig
from .identification import identify_file, identify_files
from .persistence import SpeakerModel, load_model, save_model
from .training import TrainConfig, train

__all__ = [
    "AudioLoadError", "CacheConfig", "ConfigError", "FeatureConfig", "FeatureError",
    "LedgerError", "LockError", "ModelFormatError", "ModelLoadError", "NotFittedError",
    "SpeakerClassifier", "SpeakerModel", "StreamzError", "TrainConfig", "identify_file",
    "identify_files", "load_audio", "load_model", "save_model", "train",
]
