"""Speaker diarization on ONNX Runtime: pyannote segmentation-3.0 + CAM++ embeddings + spectral clustering."""

from .config import DiarizationConfig, RuntimeConfig
from .pipeline import DiarizationModels, DiarizationResult, diarize, load_models

__all__ = ["DiarizationConfig", "DiarizationModels", "DiarizationResult", "RuntimeConfig",
           "diarize", "load_models"]
