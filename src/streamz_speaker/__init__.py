"""StreamZ: incremental speaker identification and speaker diarization."""

from .core.errors import (AudioLoadError, ConfigError, FeatureError, LedgerError, LockError,
                          ModelFormatError, ModelLoadError, NotFittedError, StreamzError)
from .core.audio import load_audio
from .speaker_id.classifier import SpeakerClassifier
from .core.config import FeatureConfig
from .speaker_id.extraction import CacheConfig
from .speaker_id.identification import identify_file, identify_files
from .speaker_id.persistence import SpeakerModel, load_model, save_model
from .speaker_id.training import TrainConfig, train

__all__ = [
    "AudioLoadError", "CacheConfig", "ConfigError", "FeatureConfig", "FeatureError",
    "LedgerError", "LockError", "ModelFormatError", "ModelLoadError", "NotFittedError",
    "SpeakerClassifier", "SpeakerModel", "StreamzError", "TrainConfig", "identify_file",
    "identify_files", "load_audio", "load_model", "save_model", "train",
]
