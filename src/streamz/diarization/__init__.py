"""Speaker diarization on ONNX Runtime: pyannote segmentation-3.0 + CAM++ embeddings + VBx."""

from .config import DiarizationConfig, RuntimeConfig
from .pipeline import (DiarizationModels, DiarizationResult, diarize, diarize_many,
                       load_models)

__all__ = ["DiarizationConfig", "DiarizationModels", "DiarizationResult", "RuntimeConfig",
           "diarize", "diarize_many", "load_models"]
