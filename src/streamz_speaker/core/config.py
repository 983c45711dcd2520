"""Named constants and frozen configuration dataclasses for the speaker-ID side."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import ConfigError

#: The one working sample rate: every loader output, feature and model uses it.
SAMPLE_RATE = 16_000
#: Sample rates outside this range are rejected as absurd.
MIN_SOURCE_SAMPLE_RATE = 1_000
MAX_SOURCE_SAMPLE_RATE = 768_000
#: Speaker-ID feature front ends.
FEATURE_KINDS = ("embedding", "mfcc")


@dataclass(frozen=True)
class FeatureConfig:
    """Feature front end; stored in model.npz so prediction matches training.

    ``kind="embedding"``: unit CAM++ embeddings of sliding windows (the MFCC fields are then
    unused). ``kind="mfcc"``: pooled MFCC + delta + delta-delta windows.
    """

    kind: str = "embedding"          # "embedding" (CAM++) or "mfcc"
    embedding_window_seconds: float = 1.5  # CAM++ window length
    embedding_hop_seconds: float = 0.75    # CAM++ window step
    sr: int = SAMPLE_RATE            # sample rate of the audio the features come from, Hz
    n_fft: int = 400                 # analysis frame, samples (25 ms)
    hop_length: int = 160            # frame step, samples (10 ms)
    n_mels: int = 26                 # mel bands
    n_mfcc: int = 20                 # cepstral coefficients kept (deltas triple this)
    fmin: float = 100.0              # lowest mel edge, Hz
    fmax: float = 3_800.0            # highest mel edge, Hz: telephone band, shared by every channel
    window_frames: int = 3           # frames pooled into one window (30 ms; benchmarks/RESULTS.md)
    window_hop_frames: int = 3       # step between windows (30 ms)
    min_rms_db: float = -55.0        # frames quieter than this below full scale are dropped

    def __post_init__(self):
        if self.kind not in FEATURE_KINDS:
            raise ConfigError(f"feature kind must be one of [{', '.join(FEATURE_KINDS)}], "
                              f"got {self.kind!r}")
        if not 0 < self.embedding_hop_seconds <= self.embedding_window_seconds:
            raise ConfigError("need 0 < embedding_hop_seconds <= embedding_window_seconds")
        for name in ("sr", "n_fft", "hop_length", "n_mels", "n_mfcc", "window_frames",
                     "window_hop_frames"):
            if int(getattr(self, name)) <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.n_mfcc > self.n_mels:
            raise ConfigError(f"n_mfcc ({self.n_mfcc}) cannot exceed n_mels ({self.n_mels})")
        if not 0 <= self.fmin < self.fmax <= self.sr / 2:
            raise ConfigError(
                f"need 0 <= fmin < fmax <= sr/2, got fmin={self.fmin}, fmax={self.fmax}, sr={self.sr}")

    def to_dict(self) -> dict:
        return asdict(self)
