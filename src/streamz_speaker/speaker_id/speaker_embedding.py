"""Neural speaker embeddings of whole clips: the bundled CAM++ model as a feature front end."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import model_assets
from ..core.config import SAMPLE_RATE
from ..diarization import embedding as _campplus
from ..diarization.onnx import EXPECTED_INPUTS, create_session
from ..core.errors import FeatureError

#: Audio needed for one embedding window.
MIN_EMBEDDING_SECONDS = 0.5


@dataclass(frozen=True)
class SpeakerEmbedder:
    """CAM++ backbone session and pooling head; load once with :func:`load_embedder`."""

    session: object                       # onnxruntime.InferenceSession (backbone)
    head: _campplus.EmbeddingHead

    def embed_windows(self, y: np.ndarray, *, window_seconds: float,
                      hop_seconds: float) -> np.ndarray:
        """Length-normalised embeddings of sliding windows of a clip.

        The backbone runs once over the clip; each window pools its frames (mean and
        standard deviation) and goes through the head. A clip shorter than one window gives
        one embedding of the whole clip.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Mono float32 audio at 16 kHz.
        window_seconds, hop_seconds : float
            Window length and step.

        Returns
        -------
        ndarray of shape (n_windows, 192), float32, rows of unit length

        Raises
        ------
        FeatureError
            If the clip is shorter than ``MIN_EMBEDDING_SECONDS`` or silent.
        """
        y = np.ascontiguousarray(y, dtype=np.float32)
        if y.size < MIN_EMBEDDING_SECONDS * SAMPLE_RATE:
            raise FeatureError(f"audio too short for a speaker embedding: "
                               f"{y.size / SAMPLE_RATE:.3f} s, need {MIN_EMBEDDING_SECONDS} s")
        if not np.any(np.abs(y) > 1e-4):
            raise FeatureError("audio is silent")
        hop = _campplus.BACKBONE_HOP
        n_frames = y.size // hop
        frames = _campplus.backbone_features(self.session, y, 0, n_frames)   # (T, 512)
        win = min(n_frames, max(2, int(round(window_seconds * SAMPLE_RATE / hop))))
        step = max(1, int(round(hop_seconds * SAMPLE_RATE / hop)))
        starts = np.arange(0, n_frames - win + 1, step)
        windows = frames[starts[:, None] + np.arange(win)]                  # (n, win, 512)
        stats, _ = _campplus.pool(windows, np.ones((len(starts), 1, win), np.float32))
        emb = self.head(stats[:, 0])
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        return (emb / np.maximum(norms, 1e-12)).astype(np.float32)


def load_embedder(providers=("CPUExecutionProvider",)) -> SpeakerEmbedder:
    """Open the bundled CAM++ backbone and head (sha256-checked).

    Speaker models always use the bundled CAM++, whatever ``--models-dir`` says for
    diarization, so their stored embeddings stay comparable. The backbone runs on one
    thread: ONNX Runtime's results change in the last bits with its thread count (clips of
    1.5-2 s differed by up to 3e-7), and features must not depend on how many files are
    worked on at once (``--jobs``), which is where the parallelism comes from.

    Raises
    ------
    ModelLoadError
    """
    folder = model_assets.package_models_dir()
    manifest = model_assets.load_manifest(folder)
    backbone = model_assets.verify_file(folder / model_assets.BACKBONE_FILE, manifest)
    head = model_assets.verify_file(folder / model_assets.HEAD_FILE, manifest)
    session = create_session(backbone, providers,
                             expected_inputs=EXPECTED_INPUTS["embedding_backbone"],
                             intra_op_threads=1)
    return SpeakerEmbedder(session=session, head=_campplus.load_head(head))
