"""Diarization constants (pyannote segmentation-3.0 geometry) and per-stage configs."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.config import SAMPLE_RATE
from ..core.errors import ConfigError

SEGMENTATION_WINDOW_SECONDS = 10.0
SEGMENTATION_STEP_SECONDS = 1.0
FAST_SEGMENTATION_STEP_SECONDS = 2.0
#: Adaptive windows: coarse grid and agreement needed to fill between (RESULTS.md,
#: "Diarization cost per audio hour"; chosen on dev-wide's odd-numbered conversations).
COARSE_SEGMENTATION_SECONDS = 4.0
ADAPTIVE_MAX_MISMATCH = 0.05
ADAPTIVE_TOLERANCE_FRAMES = 0
#: Segmentation-3.0 output geometry for one 10 s window.
FRAMES_PER_WINDOW = 589
FRAME_STEP_SECONDS = 0.016875
FRAME_DURATION_SECONDS = 0.0619375
NUM_LOCAL_SPEAKERS = 3
NUM_POWERSET_CLASSES = 7
WINDOW_SAMPLES = int(SEGMENTATION_WINDOW_SECONDS * SAMPLE_RATE)
assert WINDOW_SAMPLES == SEGMENTATION_WINDOW_SECONDS * SAMPLE_RATE
#: Kaldi fbank fed to the speaker-embedding model.
FBANK_BINS = 80
FBANK_FRAME_LENGTH_MS = 25.0
FBANK_FRAME_SHIFT_MS = 10.0
EMBEDDING_DIMENSION = 192


@dataclass(frozen=True)
class SegmentationConfig:
    step_seconds: float = SEGMENTATION_STEP_SECONDS  # window step; --fast uses 2 s
    #: adaptive windows (diarization.adaptive): the model runs on windows this far apart
    #: (rounded to a multiple of the step), and on the windows between only where two
    #: computed windows disagree; the others are filled from them. 0: every window
    coarse_seconds: float = COARSE_SEGMENTATION_SECONDS
    #: share of the frames two computed windows share that may differ (after matching their
    #: local speakers) for the windows between them to be filled rather than computed
    max_mismatch: float = ADAPTIVE_MAX_MISMATCH
    #: differences within this many frames (17 ms each) of a speaker change are not counted
    tolerance_frames: int = ADAPTIVE_TOLERANCE_FRAMES

    def __post_init__(self):
        if not 0 < self.step_seconds <= SEGMENTATION_WINDOW_SECONDS:
            raise ConfigError(f"segmentation step must be in (0, {SEGMENTATION_WINDOW_SECONDS}] s, "
                              f"got {self.step_seconds}")
        if not 0 <= self.coarse_seconds <= SEGMENTATION_WINDOW_SECONDS:
            raise ConfigError(f"coarse_seconds must be in [0, {SEGMENTATION_WINDOW_SECONDS}] s, "
                              f"got {self.coarse_seconds}")
        if not 0 <= self.max_mismatch <= 1:
            raise ConfigError(f"max_mismatch must be in [0, 1], got {self.max_mismatch}")
        if self.tolerance_frames < 0:
            raise ConfigError(f"tolerance_frames must be >= 0, got {self.tolerance_frames}")

    @property
    def coarse_factor(self) -> int:
        """Steps between the windows of the coarse grid (1: every window is computed)."""
        return max(1, int(round(self.coarse_seconds / self.step_seconds)))


@dataclass(frozen=True)
class BinarizeConfig:
    onset: float = 0.5              # activation threshold
    offset: float = 0.5             # deactivation threshold
    min_duration_on: float = 0.0    # seconds; shorter speech turns are removed
    min_duration_off: float = 0.0   # seconds; shorter pauses are filled
    pad_onset: float = 0.0          # seconds added before every turn
    pad_offset: float = 0.0         # seconds added after every turn

    def __post_init__(self):
        if not 0 <= self.offset <= self.onset <= 1:
            raise ConfigError(f"need 0 <= offset <= onset <= 1, got onset={self.onset}, "
                              f"offset={self.offset}")
        if min(self.min_duration_on, self.min_duration_off, self.pad_onset,
               self.pad_offset) < 0:
            raise ConfigError("min_duration_on/off and pad_onset/offset must be >= 0 seconds")


@dataclass(frozen=True)
class VbxConfig:
    fa: float = 0.07                # sufficient-statistics scale
    fb: float = 0.8                 # speaker regularisation; higher -> fewer speakers
    max_iters: int = 20
    init_smoothing: float = 7.0     # softmax sharpness of the AHC initialisation
    min_prior: float = 1e-7         # speakers with a smaller prior are dropped
    epsilon: float = 1e-4           # stop when the ELBO improves by less than this

    def __post_init__(self):
        if self.fa <= 0 or self.fb <= 0:
            raise ConfigError(f"VBx fa and fb must be > 0, got fa={self.fa}, fb={self.fb}")
        if self.max_iters < 1:
            raise ConfigError(f"VBx max_iters must be >= 1, got {self.max_iters}")


CLUSTERING_METHODS = ("spectral", "vbx")


@dataclass(frozen=True)
class ClusteringConfig:
    method: str = "spectral"        # eigengap count + spectral partition; "vbx": AHC -> PLDA -> VBx
    #: spectral: each embedding keeps its most similar neighbours, as many as there are chunk
    #: steps in this many seconds (8 at the 1 s step, 4 in --fast). Swept on dev-wide's
    #: odd-numbered conversations: 5 s scored best there at the 1 s step, but 4 s (2
    #: neighbours) falls apart at the 2 s step; from 8 s up every set is flat (RESULTS.md)
    neighbour_seconds: float = 8.0
    #: spectral: each embedding also keeps this share of that many neighbours among the
    #: embeddings of chunks that share no audio with its own (10 s or more away), so that a
    #: long turn does not form a speaker of its own (RESULTS.md, "far neighbours for long
    #: turns"); 0 turns it off
    far_neighbour_share: float = 0.5
    ahc_threshold: float = 0.6      # vbx: centroid-linkage threshold on length-normalised embeddings
    vbx: VbxConfig = field(default_factory=VbxConfig)
    num_speakers: int | None = None
    min_speakers: int = 1
    max_speakers: int | None = None
    min_active_ratio: float = 0.2   # clustered embeddings need this share of single-speaker frames
    plda_method: str = "isotropic"  # per-recording PLDA estimate when no PLDA model is given
    plda_shrinkage: float = 0.1     # identity weight in the estimated within-class covariance
    constrained_assignment: bool = True  # one-to-one local speaker -> cluster in each chunk

    def __post_init__(self):
        if self.method not in CLUSTERING_METHODS:
            raise ConfigError(f"clustering method must be one of [{', '.join(CLUSTERING_METHODS)}]"
                              f", got {self.method!r}")
        if self.neighbour_seconds <= 0:
            raise ConfigError(f"neighbour_seconds must be > 0, got {self.neighbour_seconds}")
        if not 0 <= self.far_neighbour_share <= 1:
            raise ConfigError(f"far_neighbour_share must be in [0, 1], got "
                              f"{self.far_neighbour_share}")
        if self.plda_method not in ("lda", "isotropic"):
            raise ConfigError(f"plda_method must be one of [lda, isotropic], got "
                              f"{self.plda_method!r}")
        if not 0 <= self.plda_shrinkage <= 1:
            raise ConfigError(f"plda_shrinkage must be in [0, 1], got {self.plda_shrinkage}")
        if self.num_speakers is not None and self.num_speakers < 1:
            raise ConfigError(f"num_speakers must be >= 1, got {self.num_speakers}")
        if self.min_speakers < 1:
            raise ConfigError(f"min_speakers must be >= 1, got {self.min_speakers}")
        if self.max_speakers is not None and self.max_speakers < self.min_speakers:
            raise ConfigError(f"max_speakers ({self.max_speakers}) < min_speakers "
                              f"({self.min_speakers})")


@dataclass(frozen=True)
class DiarizationConfig:
    segmentation: SegmentationConfig = field(default_factory=SegmentationConfig)
    binarize: BinarizeConfig = field(default_factory=BinarizeConfig)
    clustering: ClusteringConfig = field(default_factory=ClusteringConfig)
    exclusive: bool = False         # at most one speaker per frame in the output
    #: reconstruction: chunk votes weighted by a Hamming window (the chunk's centre counts
    #: most); chosen on dev-wide's odd-numbered conversations (DER 12.2 -> 10.7 %)
    centre_weighted: bool = True
    #: A frame gets n speakers when the average number of active local speakers over the chunks
    #: covering it is >= n - 1 + count_threshold (0.5: pyannote's rounding).
    count_threshold: float = 0.75

    def __post_init__(self):
        if not 0 < self.count_threshold < 1:
            raise ConfigError(f"count_threshold must be in (0, 1), got {self.count_threshold}")


@dataclass(frozen=True)
class RuntimeConfig:
    """Knobs that change speed, never results."""

    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    intra_op_threads: int = 0       # parallel workers, one ORT thread each; 0: one per core
    batch_size: int = 4             # windows per segmentation call (at most 4: memory)
