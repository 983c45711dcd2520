"""Long recordings read block by block instead of decoded whole into memory.

A 2-hour recording is 460 MB of float32 samples at 16 kHz; the diarization front end only
ever needs the few minutes of audio its in-flight model calls cover. :class:`FileAudio` is a
read-only, sliceable stand-in for the decoded array (``y[a:b]`` reads those samples from
disk), used by :func:`pipeline.diarize` for long files. A 16 kHz WAV/FLAC is read in place;
any other long file (MP3, other sample rates, other containers libsndfile reads) is decoded
and resampled block by block (:class:`streamz_speaker.core.audio.AudioStream`) into an anonymous
temporary file of 16 kHz float32 samples (:class:`SpooledAudio`, 230 MB per audio hour in
``$TMPDIR``, gone when it is closed or the process ends). Either way the samples are exactly
what :func:`streamz_speaker.load_audio` returns for the file.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..core.audio import AudioStream, _wav_is_truncated, to_mono
from ..core.config import SAMPLE_RATE
from ..core.errors import AudioLoadError

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
        y = self._read(start, stop)
        if y.shape[0] != stop - start:
            raise AudioLoadError(self.path, f"file is truncated (read {start + y.shape[0]} of "
                                            f"{self.shape[0]} frames)")
        if not np.isfinite(y).all():
            raise AudioLoadError(self.path, "contains NaN or infinite samples")
        return y

    def _read(self, start: int, stop: int) -> np.ndarray:
        with self._lock:
            self._file.seek(start)
            data = self._file.read(stop - start, dtype="float32", always_2d=True)
        return np.ascontiguousarray(to_mono(data))

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SpooledAudio(FileAudio):
    """Any audio file, decoded and resampled to 16 kHz block by block into a temporary file.

    Parameters
    ----------
    path : path-like
        A file :class:`streamz_speaker.core.audio.AudioStream` reads.

    Raises
    ------
    AudioLoadError
        As :func:`streamz_speaker.load_audio`, for a broken file (while spooling, before any slice).
    """

    def __init__(self, path: os.PathLike | str):
        self.path = Path(path)
        # unnamed where the OS allows it (O_TMPFILE): nothing is left behind, even on SIGKILL
        self._file = tempfile.TemporaryFile(prefix="streamz-audio-")
        n = 0
        try:
            with AudioStream(self.path, sr=SAMPLE_RATE) as stream:
                for block in stream:
                    self._file.write(np.ascontiguousarray(block, np.float32).data)
                    n += block.size
            self._file.flush()
        except BaseException:
            self._file.close()
            raise
        self.shape = (n,)

    def _read(self, start: int, stop: int) -> np.ndarray:
        y = np.empty(stop - start, np.float32)
        got = os.preadv(self._file.fileno(), [y.data.cast("B")], start * y.itemsize)
        return y[:got // y.itemsize]


def open_streamable(path: os.PathLike | str, *,
                    min_seconds: float | None = None) -> FileAudio | None:
    """A :class:`FileAudio` of a long audio file; None for a short or unknown one.

    Long (at least ``min_seconds``, default ``STREAM_MIN_SECONDS``), intact 16 kHz
    WAV/FLAC-like files are read in place; other long files libsndfile reads are spooled
    (:class:`SpooledAudio`). None means "decode it whole with :func:`streamz_speaker.load_audio`"
    (which also produces the error message for a file libsndfile cannot open).

    Raises
    ------
    AudioLoadError
        When spooling a long file fails (truncated, NaN samples, ...).
    """
    min_seconds = STREAM_MIN_SECONDS if min_seconds is None else min_seconds
    import soundfile as sf

    path = Path(path)
    try:
        info = sf.info(str(path))
    except Exception:  # noqa: BLE001 - anything unreadable goes the load_audio way
        return None
    if info.frames < min_seconds * info.samplerate:
        return None
    if (info.samplerate == SAMPLE_RATE and info.format in _SEEKABLE_FORMATS
            and not (info.format in ("WAV", "WAVEX") and _wav_is_truncated(path))):
        return FileAudio(path)
    return SpooledAudio(path)
