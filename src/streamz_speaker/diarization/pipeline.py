"""Diarization pipeline: a script of stage calls, from audio to speaker turns."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import model_assets
from ..core.audio import load_audio
from ..core.config import SAMPLE_RATE
from . import aggregation
from . import binarize
from . import embedding
from . import frontend
from . import reconstruct
from . import rttm
from . import segmentation
from .config import DiarizationConfig, RuntimeConfig
from .onnx import EXPECTED_INPUTS, create_session, release_memory
from .source import STREAM_MIN_SECONDS, FileAudio, open_streamable


#: Windows per segmentation call: the fastest batch on CPU (36.7 ms per window at 4, 39.7 at
#: 16, 45.4 at 1), and ONNX Runtime needs ~22 MB per window of a batch.
MAX_SEGMENTATION_BATCH = 4


@dataclass(frozen=True)
class DiarizationModels:
    """Loaded models for :func:`diarize`; load once with :func:`load_models`, reuse for many files."""

    kind: str                      # "campplus" (bundled) or "wespeaker" (community-1 folder)
    segmentation: object           # onnxruntime.InferenceSession
    embedding: object              # backbone session (campplus) or full model (wespeaker)
    head: embedding.EmbeddingHead | None = None
    plda: object | None = None     # plda.Plda for wespeaker, None: estimated per recording
    #: segmentation.SplitModel (the first convolution shared by overlapping windows), or None:
    #: ``segmentation`` runs every window on its own
    segmentation_split: object | None = None


@dataclass(frozen=True)
class DiarizationResult:
    """Speaker turns of one recording."""

    uri: str
    segments: tuple[rttm.Segment, ...]
    duration: float                # seconds of audio
    num_speakers: int              # speakers with at least one turn
    count: object = None           # clustering.SpeakerCount: how sure the count is (None: silence)

    def to_rttm(self) -> str:
        """RTTM text (empty string when nobody speaks)."""
        return rttm.format_rttm(self.segments, self.uri)


def load_models(models_dir: os.PathLike | str | None = None,
                runtime: RuntimeConfig = RuntimeConfig()) -> DiarizationModels:
    """Find, verify (sha256) and open the models.

    Parameters
    ----------
    models_dir : path-like, optional
        ``--models-dir``; else ``$STREAMZ_MODELS_DIR``; else the bundled models. A pyannote
        community-1 folder (WeSpeaker ResNet34 ONNX + PLDA) switches to those embeddings.
    runtime : RuntimeConfig
        ONNX Runtime providers and threads.

    Raises
    ------
    ModelLoadError
        Naming the missing, corrupt or incompatible file.
    """
    assets = model_assets.find_models(models_dir)

    def session(path, role):
        # One thread per session: diarize() runs model calls in parallel on a thread pool
        # (runtime.intra_op_threads workers), which keeps every core busy without ORT's
        # spinning thread pools competing for them.
        return create_session(path, runtime.providers, expected_inputs=EXPECTED_INPUTS[role],
                              intra_op_threads=1)

    from . import clustering  # noqa: F401  scikit-learn/SciPy import paid here, not per file

    seg = session(assets.segmentation, "segmentation")
    split = None
    if assets.segmentation_split is not None:
        sincnet, tail = assets.segmentation_split
        split = segmentation.SplitModel(session(sincnet, "segmentation_sincnet"),
                                        session(tail, "segmentation_tail"))
    if assets.kind == "wespeaker":
        from .plda import load_plda

        return DiarizationModels("wespeaker", seg, session(assets.embedding, "wespeaker"),
                                 plda=load_plda(assets.plda_transform, assets.plda),
                                 segmentation_split=split)
    return DiarizationModels("campplus", seg, session(assets.embedding, "embedding_backbone"),
                             head=embedding.load_head(assets.embedding_head),
                             segmentation_split=split)


def diarize(audio, *, models: DiarizationModels | None = None,
            config: DiarizationConfig = DiarizationConfig(),
            runtime: RuntimeConfig = RuntimeConfig(), uri: str | None = None,
            hook=None) -> DiarizationResult:
    """Who spoke when.

    Parameters
    ----------
    audio : path-like, ndarray of shape (n_samples,) or source.FileAudio
        A file (any format :func:`streamz_speaker.load_audio` reads) or mono float32 16 kHz samples.
        Files of 10 minutes or more are read from disk block by block (:mod:`source`: a
        16 kHz WAV/FLAC in place, others decoded and resampled to a temporary file first),
        so memory does not grow with their length.
    models : DiarizationModels, optional
        From :func:`load_models`; loaded from the bundled models when omitted.
    config : DiarizationConfig
        Segmentation step, binarization, clustering (speaker-count constraints), exclusive.
    runtime : RuntimeConfig
        Batch size and threads (never change results).
    uri : str, optional
        RTTM file id; defaults to the file's stem (``"audio"`` for arrays).
    hook : callable, optional
        ``hook(step, artifact=None, total=None, completed=None)`` progress callback.

    Returns
    -------
    DiarizationResult

    Raises
    ------
    AudioLoadError
        If the file cannot be read.
    ModelLoadError
        If the models cannot be loaded.
    """
    if isinstance(audio, (str, os.PathLike)):
        uri = uri or Path(audio).stem.replace(" ", "_") or "audio"
        streamed = open_streamable(audio)          # long 16 kHz files: read block by block
        if streamed is not None:
            with streamed:
                return diarize(streamed, models=models, config=config, runtime=runtime,
                               uri=uri, hook=hook)
        y = load_audio(audio)
    elif isinstance(audio, FileAudio):
        uri = uri or audio.path.stem.replace(" ", "_") or "audio"
        y = audio
    else:
        uri = uri or "audio"
        y = np.asarray(audio, dtype=np.float32)
        if y.ndim != 1 or not np.all(np.isfinite(y)):
            raise ValueError(f"audio must be a finite 1-D array, got shape {y.shape}")
    models = models or load_models(runtime=runtime)
    duration = y.shape[0] / SAMPLE_RATE
    _call(hook, "loaded", artifact=y)

    with ThreadPoolExecutor(_workers(runtime), thread_name_prefix="streamz-diarize") as pool:
        activity, embeddings, central = _segment_and_embed(models, y, config, runtime, pool,
                                                           hook)
    if duration >= STREAM_MIN_SECONDS:      # long recording: memory for the stages below
        release_memory(models.segmentation)
        release_memory(models.embedding)
        if models.segmentation_split is not None:
            release_memory(models.segmentation_split.tail)
    #   activity: (num_chunks, num_frames, num_local_speakers) = (num_chunks, 589, 3)
    #   embeddings, central: (num_chunks, num_local_speakers, dimension); central is None for
    #   the WeSpeaker models
    return from_embeddings(activity, embeddings, central, config=config, uri=uri,
                           duration=duration, plda=models.plda, hook=hook)


def from_embeddings(activity: np.ndarray, embeddings: np.ndarray, central: np.ndarray | None,
                    *, config: DiarizationConfig = DiarizationConfig(), uri: str = "audio",
                    duration: float, plda=None, hook=None) -> DiarizationResult:
    """The stages after the front end: speaker count, clustering, reconstruction, turns.

    :func:`diarize` ends with this; benchmarks call it on cached front-end outputs.

    Parameters
    ----------
    activity : ndarray of shape (num_chunks, num_frames, num_local_speakers)
        Binary local activity.
    embeddings, central : ndarray of shape (num_chunks, num_local_speakers, dimension)
        Whole-chunk and central embeddings (``central`` None for the WeSpeaker models).
    config : DiarizationConfig
    uri : str
    duration : float
        Seconds of audio (turns are clipped to it).
    plda : plda.Plda, optional
    hook : callable, optional

    Returns
    -------
    DiarizationResult
    """
    step = config.segmentation.step_seconds
    if not activity.any():
        return DiarizationResult(uri, (), duration, 0)   # no speech anywhere
    count = aggregation.speaker_count(activity, step_seconds=step,
                                      threshold=config.count_threshold)
    #   shape: (num_global_frames,) int
    from . import clustering  # scikit-learn/SciPy: imported when first needed

    clusters = clustering.cluster(embeddings, activity, config.clustering, central=central,
                                  step_seconds=step, plda=plda)
    #   hard_clusters: (num_chunks, num_local_speakers); centroids: (num_speakers, dimension)
    _call(hook, "clustering", artifact=clusters)
    discrete = reconstruct.reconstruct(activity, clusters.hard_clusters, count,
                                       exclusive=config.exclusive,
                                       num_speakers=len(clusters.centroids),
                                       centre_weighted=config.centre_weighted,
                                       step_seconds=step)
    #   shape: (num_global_frames, num_speakers)
    smoothed = binarize.binarize(discrete, config.binarize)
    if config.exclusive:            # padding or filled pauses must not overlap two speakers
        first = np.argmax(discrete + smoothed, axis=1)      # the speaker reconstructed there
        smoothed *= np.arange(smoothed.shape[1])[None, :] == first[:, None]
    first_turn = np.where(smoothed.any(axis=0), smoothed.argmax(axis=0), smoothed.shape[0])
    discrete = smoothed[:, np.argsort(first_turn, kind="stable")]
    #   shape: (num_global_frames, num_speakers), pads and min on/off durations applied,
    #   speakers in order of their first turn (SPEAKER_00 speaks first)
    segments = rttm.to_segments(discrete, duration=duration)
    return DiarizationResult(uri, tuple(segments), duration, len({s.label for s in segments}),
                             clusters.count)


def _workers(runtime: RuntimeConfig) -> int:
    return max(1, runtime.intra_op_threads or os.cpu_count() or 1)


def _segment_and_embed(models: DiarizationModels, y, config: DiarizationConfig,
                       runtime: RuntimeConfig, pool, hook):
    seg_cfg = config.segmentation
    batch = min(runtime.batch_size, MAX_SEGMENTATION_BATCH)
    if models.kind == "wespeaker":
        from . import wespeaker

        activity = frontend.segment(models.segmentation, y, seg_cfg, executor=pool,
                                    batch_size=batch, hook=hook)
        return activity, wespeaker.run(models.embedding, y, activity,
                                       step_seconds=seg_cfg.step_seconds, executor=pool,
                                       hook=hook), None
    return frontend.segment_and_embed(models.segmentation_split or models.segmentation,
                                      models.embedding, models.head, y,
                                      seg_cfg, executor=pool, batch_size=batch, hook=hook)


def _call(hook, step, **kwargs):
    if hook is not None:
        hook(step, **kwargs)
