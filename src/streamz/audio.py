"""Audio loading: any supported file to mono float32 at the working sample rate."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from ._fileio import atomic_path, sha256_file
from .config import MAX_SOURCE_SAMPLE_RATE, MIN_SOURCE_SAMPLE_RATE, SAMPLE_RATE
from .errors import AudioLoadError

#: Containers libsndfile reads directly.
SOUNDFILE_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aiff",
                                  ".aif", ".au", ".caf", ".w64", ".opus"})
#: Containers that need ffmpeg through pydub.
FFMPEG_EXTENSIONS = frozenset({".m4a", ".aac", ".mp4", ".wma", ".webm", ".mka", ".amr",
                               ".3gp", ".mov"})
AUDIO_EXTENSIONS = SOUNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS


def load_audio(path: os.PathLike | str, *, sr: int = SAMPLE_RATE,
               cache_dir: os.PathLike | str | None = None,
               write_cache: bool = True) -> np.ndarray:
    """Load an audio file as mono float32 at ``sr``.

    Parameters
    ----------
    path : path-like
        WAV (8/16/24/32-bit integer or float), FLAC, OGG or MP3 through libsndfile; other
        containers (m4a, aac, ...) through pydub when ffmpeg is installed.
    sr : int
        Target sample rate in Hz.
    cache_dir : path-like, optional
        Where decoded MP3s are kept as WAV (named by content hash), so a later run skips
        decoding. A ``.wav`` next to the MP3 with the same stem is used as is.
    write_cache : bool
        When False an existing cached WAV is reused but none is written.

    Returns
    -------
    y : ndarray of shape (n_samples,), float32

    Raises
    ------
    AudioLoadError
        Missing, empty, truncated or non-audio file, an unsupported container without
        ffmpeg, an absurd sample rate, or NaN/infinite samples. The message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise AudioLoadError(path, "file not found")
    if path.is_dir():
        raise AudioLoadError(path, "is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioLoadError(path, "file is empty")
    data, native_sr = _decode(path, cache_dir=cache_dir, write_cache=write_cache)
    if not MIN_SOURCE_SAMPLE_RATE <= native_sr <= MAX_SOURCE_SAMPLE_RATE:
        raise AudioLoadError(path, f"absurd sample rate {native_sr} Hz (expected "
                                   f"{MIN_SOURCE_SAMPLE_RATE}..{MAX_SOURCE_SAMPLE_RATE} Hz)")
    if data.shape[0] == 0:
        raise AudioLoadError(path, "contains no audio samples")
    if not np.isfinite(data).all():
        raise AudioLoadError(path, "contains NaN or infinite samples")
    return resample(to_mono(data), orig_sr=native_sr, target_sr=sr)


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average channels.

    Parameters
    ----------
    y : ndarray of shape (n_samples,) or (n_samples, n_channels)

    Returns
    -------
    ndarray of shape (n_samples,), float32
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        return y
    if y.ndim != 2:
        raise ValueError(f"audio must have shape (n_samples,) or (n_samples, n_channels), got {y.shape}")
    return y.mean(axis=1, dtype=np.float32) if y.shape[1] > 1 else y[:, 0]


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling (the only place streamz changes sample rate).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    orig_sr, target_sr : int
        Sample rates in Hz.

    Returns
    -------
    ndarray of shape (round(n_samples * target_sr / orig_sr),), float32
    """
    y = np.asarray(y, dtype=np.float32)
    if orig_sr == target_sr:
        return y
    import soxr  # installed with librosa; called directly to skip librosa's import time

    return np.ascontiguousarray(soxr.resample(y, orig_sr, target_sr, quality="HQ"),
                                dtype=np.float32)


def _decode(path: Path, *, cache_dir, write_cache: bool) -> tuple[np.ndarray, int]:
    suffix = path.suffix.lower()
    if suffix == ".mp3":
        neighbour = path.with_suffix(".wav")
        if neighbour.exists():
            return _read_soundfile(neighbour)
        if cache_dir is not None:
            return _decode_mp3_cached(path, Path(cache_dir), write_cache)
    if suffix in FFMPEG_EXTENSIONS:
        return _read_ffmpeg(path)
    try:
        return _read_soundfile(path)
    except AudioLoadError:
        if suffix in SOUNDFILE_EXTENSIONS or shutil.which("ffmpeg") is None:
            raise
        return _read_ffmpeg(path)


def _decode_mp3_cached(path: Path, cache_dir: Path, write_cache: bool):
    cached = cache_dir / f"{path.stem}.{sha256_file(path)[:16]}.wav"
    if cached.exists():
        try:
            return _read_soundfile(cached)
        except AudioLoadError:
            pass  # a damaged cache entry is rebuilt from the MP3 below
    data, native_sr = _read_soundfile(path)
    if write_cache:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached) as tmp:
            sf.write(tmp, data, native_sr, subtype="FLOAT", format="WAV")
    return data, native_sr


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    try:
        with sf.SoundFile(path) as fh:
            declared = fh.frames
            native_sr = fh.samplerate
            fmt = fh.format
            data = fh.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioLoadError(path, f"not a readable audio file ({_short(e)})") from e
    if fmt in ("WAV", "WAVEX") and _wav_is_truncated(path):
        raise AudioLoadError(path, "file is truncated (WAV data chunk shorter than its header says)")
    if data.shape[0] < declared and fmt != "MPEG":
        raise AudioLoadError(path, f"file is truncated ({data.shape[0]} of {declared} frames)")
    return data, int(native_sr)


def _wav_is_truncated(path: Path) -> bool:
    """True when the RIFF data chunk declares more bytes than the file holds."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        header = fh.read(12)
        if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return False
        offset = 12
        while offset + 8 <= size:
            fh.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", fh.read(8))
            if chunk_id == b"data":
                # 0 and 0xFFFFFFFF mark streamed WAVs whose size was never filled in
                return chunk_size not in (0, 0xFFFFFFFF) and offset + 8 + chunk_size > size
            offset += 8 + chunk_size + (chunk_size & 1)
    return False


def _read_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    if shutil.which("ffmpeg") is None:
        raise AudioLoadError(path, f"{path.suffix or 'this'} files need ffmpeg, which is not "
                                   "installed (install ffmpeg, or convert the file to WAV/FLAC)")
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    try:
        seg = AudioSegment.from_file(path)
    except (CouldntDecodeError, OSError, IndexError) as e:
        raise AudioLoadError(path, f"ffmpeg could not decode it ({_short(e)})") from e
    samples = np.asarray(seg.get_array_of_samples(), dtype=np.float32)
    scale = float(1 << (8 * seg.sample_width - 1))
    return samples.reshape(-1, seg.channels) / scale, int(seg.frame_rate)


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[-1][:200] if text else type(error).__name__
