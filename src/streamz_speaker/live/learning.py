"""Names for live speakers from a speaker model, and learning their voices when a session ends."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from ..core.errors import ConfigError
from ..speaker_id.training import TrainConfig, learn_voices


class SpeakerNamer:
    """Names a live speaker by its centroid: the enrolled speaker whose calibrated
    confidence reaches ``threshold``, else None.

    The centroid is a CAM++ embedding like the model's own profiles (same backbone and
    head), so the model's cosine scorer applies as it is.

    Parameters
    ----------
    model : SpeakerModel
        An embedding-feature model (``streamz train``'s default).
    threshold : float

    Raises
    ------
    ConfigError
        If the model uses MFCC features (live sessions keep no audio to compute them).
    """

    def __init__(self, model, threshold: float):
        self.scorer = (model.scorer(naming=True) if model.feature_config.kind == "embedding"
                       else None)
        if self.scorer is None:
            raise ConfigError("naming live speakers needs a speaker model with embedding "
                              f"features (streamz train's default), not "
                              f"{model.feature_config.kind}")
        self.threshold = threshold

    def __call__(self, centroid: np.ndarray) -> str | None:
        confidence = self.scorer.confidence(self.scorer.cosine(centroid))
        best = int(np.argmax(confidence))
        return self.scorer.speakers[best] if confidence[best] >= self.threshold else None


class VoiceLearner:
    """``serve --learn``: adds the voices of finished sessions to a speaker model.

    One learner per server: sessions ending together learn one after the other (a thread
    lock, then the model's file lock, as ``streamz train``), and the namer is rebuilt from
    the model as saved, so later sessions know the new voices.

    Parameters
    ----------
    model_path : path-like
    threshold : float
        Confidence for naming and for matching a voice to a known speaker.
    lock_timeout : float
        Seconds to wait for a ``streamz train`` run holding the model.
    """

    def __init__(self, model_path: os.PathLike | str, threshold: float, *,
                 lock_timeout: float = 30.0):
        self.model_path = Path(model_path)
        self.cfg = TrainConfig(threshold=threshold, lock_timeout=lock_timeout)
        self._lock = threading.Lock()
        self.namer: SpeakerNamer | None = None
        if self.model_path.exists():
            from ..speaker_id.persistence import load_model

            self.namer = SpeakerNamer(load_model(self.model_path), threshold)

    def learn(self, voices: dict, *, source: str) -> list[dict]:
        """Learn each voice; returns what was learned, for the session's report.

        Parameters
        ----------
        voices : dict
            Live speaker id -> ndarray of shape (n, 192) (``OnlineDiarizer.learnable()``).
        source : str

        Returns
        -------
        list of dict
            ``{"id", "name", "new", "confidence"}`` per voice.
        """
        if not voices:
            return []
        ids = sorted(voices)
        with self._lock:
            model, results = learn_voices(self.model_path, [voices[i] for i in ids], self.cfg,
                                          source=source)
            self.namer = SpeakerNamer(model, self.cfg.threshold)
        return [{"id": i, "name": label, "new": bool(new), "confidence": round(float(c), 4)}
                for i, (label, c, new) in zip(ids, results)]
