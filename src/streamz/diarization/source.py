"""Long 16 kHz recordings read from disk block by block instead of decoded whole.

A 2-hour recording is 460 MB of float32 samples; the diarization front end only ever needs
the few minutes of audio its in-flight model calls cover. :class:`FileAudio` is a read-only,
sliceable stand-in for the decoded array (``y[a:b]`` reads those samples from the file), used
by :func:`pipeline.diarize` for files that need no resampling. The samples are exactly what
:func:`streamz.load_audio` returns for such files (libsndfile float32, channels averaged).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from ..config import SAMPLE_RATE
from ..errors import AudioLoadError

#: Files at least this long are streamed (shorter ones are decoded whole, as before).
STREAM_MIN_SECONDS = 600.0
#: Containers whose frame count libsndfile knows up front and that it seeks exactly.
_SEEKABLE_FORMATS = ("WAV", "WAVEX", "FLAC", "W64", "AIFF", "CAF")


class FileAudio:
    """Mono float32 16 kHz samples of a sound file, read on slicing (thread-safe).

    Parameters
    ----------
    path : path-like
        A file libsndfile reads at 16 kHz (see :func:`open_streamable`).
    """

    ndim = 1
    dtype = np.dtype(np.float32)

    def __init__(self, path: os.PathLike | str):
        import soundfile as sf

        self.path = Path(path)
        self._file = sf.SoundFile(self.path)
        self.shape = (int(self._file.frames),)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        if not isinstance(key, slice):
            raise TypeError("FileAudio supports slices only")
        start, stop, step = key.indices(self.shape[0])
        if step != 1:
            raise ValueError("FileAudio supports contiguous slices only")
        if stop <= start:
            return np.zeros(0, np.float32)
        with self._lock:
            self._file.seek(start)
            data = self._file.read(stop - start, dtype="float32", always_2d=True)
        y = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
        if y.shape[0] != stop - start:
            raise AudioLoadError(self.path, f"file is truncated (read {start + y.shape[0]} of "
                                            f"{self.shape[0]} frames)")
        if not np.isfinite(y).all():
            raise AudioLoadError(self.path, "contains NaN or infinite samples")
        return np.ascontiguousarray(y)

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_streamable(path: os.PathLike | str, *,
                    min_seconds: float | None = None) -> FileAudio | None:
    """A :class:`FileAudio` for a long, intact 16 kHz WAV/FLAC-like file; else None.

    None means "decode it whole with :func:`streamz.load_audio`" (which also produces the
    error message for any broken file). ``min_seconds`` defaults to ``STREAM_MIN_SECONDS``.
    """
    min_seconds = STREAM_MIN_SECONDS if min_seconds is None else min_seconds
    import soundfile as sf

    from ..audio import _wav_is_truncated

    path = Path(path)
    try:
        info = sf.info(str(path))
    except Exception:  # noqa: BLE001 - anything unreadable goes the load_audio way
        return None
    if (info.samplerate != SAMPLE_RATE or info.format not in _SEEKABLE_FORMATS
            or info.frames < min_seconds * SAMPLE_RATE):
        return None
    if info.format in ("WAV", "WAVEX") and _wav_is_truncated(path):
        return None
    return FileAudio(path)
