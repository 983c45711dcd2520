"""Audio loading: any supported file to mono float32 at the working sample rate."""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import sys
import threading
from pathlib import Path

import numpy as np
import soundfile as sf

from .fileio import atomic_path, sha256_file
from .config import MAX_SOURCE_SAMPLE_RATE, MIN_SOURCE_SAMPLE_RATE, SAMPLE_RATE
from .errors import AudioLoadError

#: Containers libsndfile reads directly.
SOUNDFILE_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aiff",
                                  ".aif", ".au", ".caf", ".w64", ".opus"})
#: Containers that need ffmpeg through pydub.
FFMPEG_EXTENSIONS = frozenset({".m4a", ".aac", ".mp4", ".wma", ".webm", ".mka", ".amr",
                               ".3gp", ".mov"})
AUDIO_EXTENSIONS = SOUNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS
#: Source frames decoded at a time (about 11 s at 48 kHz): memory for one block, whatever
#: the file's length. A multiple of the MP3 frame (1152 samples): libsndfile's MP3 reader
#: garbles samples across reads that end inside a frame of some files (4096-frame reads of
#: a 22.05 kHz MP3 it wrote itself were off by 0.07 at a read boundary).
MP3_FRAME_SAMPLES = 1152
DECODE_BLOCK_FRAMES = 455 * MP3_FRAME_SAMPLES
#: MP3 frames decoded again before each read after the first (see ``_SoundFileSource``).
MP3_LOOKBEHIND_FRAMES = 8
#: soxr quality of every sample-rate change.
RESAMPLE_QUALITY = "HQ"


def load_audio(path: os.PathLike | str, *, sr: int = SAMPLE_RATE,
               cache_dir: os.PathLike | str | None = None,
               write_cache: bool = True) -> np.ndarray:
    """Load an audio file as mono float32 at ``sr``.

    The file is decoded, mixed down and resampled block by block (:class:`AudioStream`)
    into one array, so memory is the result plus one block.

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
    with AudioStream(path, sr=sr, cache_dir=cache_dir, write_cache=write_cache) as stream:
        y = np.empty(stream.expected_samples, np.float32)
        n, extra = 0, []
        for block in stream:
            take = min(block.size, y.size - n)
            y[n:n + take] = block[:take]
            n += take
            if take < block.size:           # longer than the header said (rare)
                extra.append(block[take:])
    if extra:
        return np.concatenate([y, *extra])
    y.resize(n, refcheck=False)             # shorter than the header said: give back the rest
    return y


class AudioStream:
    """An audio file read block by block as mono float32 at ``sr``.

    Iterating decodes ``DECODE_BLOCK_FRAMES`` source frames at a time (libsndfile, whose
    MP3 decoder is mpg123), averages the channels and resamples with soxr's streaming
    resampler, whose output is the same as resampling the whole signal at once. Containers
    that need ffmpeg are decoded whole, then handed out the same way.

    Parameters
    ----------
    path : path-like
    sr : int
        Sample rate of the blocks, in Hz.
    cache_dir, write_cache
        As :func:`load_audio` (the MP3 cache: decoded MP3s are written there as they are
        read).

    Attributes
    ----------
    native_sr : int
        The file's own sample rate.
    expected_samples : int
        Samples at ``sr`` that the file's header announces (0 when it does not say).

    Raises
    ------
    AudioLoadError
        When opening (missing, empty, non-audio file, absurd sample rate) or while
        iterating (truncated file, NaN or infinite samples, no samples at all).
    """

    def __init__(self, path: os.PathLike | str, *, sr: int = SAMPLE_RATE,
                 cache_dir: os.PathLike | str | None = None, write_cache: bool = True):
        self.path, self.sr = Path(path), sr
        if not self.path.exists():
            raise AudioLoadError(self.path, "file not found")
        if self.path.is_dir():
            raise AudioLoadError(self.path, "is a directory, not an audio file")
        if self.path.stat().st_size == 0:
            raise AudioLoadError(self.path, "file is empty")
        self._cache_target = None
        self._source = self._open(cache_dir, write_cache)
        self.native_sr = self._source.samplerate
        if not MIN_SOURCE_SAMPLE_RATE <= self.native_sr <= MAX_SOURCE_SAMPLE_RATE:
            self.close()
            raise AudioLoadError(self.path, f"absurd sample rate {self.native_sr} Hz (expected "
                                            f"{MIN_SOURCE_SAMPLE_RATE}..{MAX_SOURCE_SAMPLE_RATE}"
                                            " Hz)")
        frames = self._source.frames
        self.expected_samples = (int(round(frames * sr / self.native_sr))
                                 if 0 < frames < 1 << 40 else 0)

    def __iter__(self):
        resampler = None
        if self.native_sr != self.sr:
            import soxr  # imported when a file needs it

            resampler = soxr.ResampleStream(self.native_sr, self.sr, 1, dtype="float32",
                                            quality=RESAMPLE_QUALITY)
        with self._cache_writer() as cache:
            read = 0
            for data in self._source.blocks():
                if cache is not None:
                    cache.write(data)
                if not np.isfinite(data).all():
                    raise AudioLoadError(self.path, "contains NaN or infinite samples")
                read += data.shape[0]
                y = to_mono(data)
                yield y if resampler is None else resampler.resample_chunk(y)
            if read == 0:
                raise AudioLoadError(self.path, "contains no audio samples")
            if read < self._source.frames:
                raise AudioLoadError(self.path, f"file is truncated ({read} of "
                                                f"{self._source.frames} frames)")
        if resampler is not None:
            yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)

    def close(self) -> None:
        self._source.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _open(self, cache_dir, write_cache: bool):
        path, suffix = self.path, self.path.suffix.lower()
        if suffix == ".mp3":
            neighbour = path.with_suffix(".wav")
            if neighbour.exists():
                return _SoundFileSource(neighbour)
            if cache_dir is not None:
                cached = Path(cache_dir) / f"{path.stem}.{sha256_file(path)[:16]}.wav"
                if cached.exists():
                    with contextlib.suppress(AudioLoadError):  # a damaged entry is rebuilt
                        return _SoundFileSource(cached)
                if write_cache:
                    self._cache_target = cached
        if suffix in FFMPEG_EXTENSIONS:
            return _FfmpegSource(path)
        try:
            return _SoundFileSource(path)
        except AudioLoadError:
            if suffix in SOUNDFILE_EXTENSIONS or shutil.which("ffmpeg") is None:
                raise
            return _FfmpegSource(path)

    @contextlib.contextmanager
    def _cache_writer(self):
        """A float WAV writer for the MP3 cache entry (written atomically), or None."""
        if self._cache_target is None:
            yield None
            return
        self._cache_target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self._cache_target) as tmp:
            with sf.SoundFile(tmp, "w", samplerate=self.native_sr,
                              channels=self._source.channels, subtype="FLOAT",
                              format="WAV") as fh:
                yield fh


class _SoundFileSource:
    """Blocks of a file libsndfile reads (2-D float32, native rate)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._file = sf.SoundFile(path)
        except (sf.LibsndfileError, RuntimeError, TypeError) as e:
            raise AudioLoadError(path, f"not a readable audio file ({_short(e)})") from e
        self.samplerate, self.channels = int(self._file.samplerate), self._file.channels
        self.frames, self.format = self._file.frames, self._file.format
        if self.format in ("WAV", "WAVEX") and _wav_is_truncated(path):
            self._file.close()
            raise AudioLoadError(path, "file is truncated (WAV data chunk shorter than its "
                                       "header says)")

    def blocks(self):
        mp3 = self.format == "MP3"
        quiet = _quiet_c_stderr if mp3 else contextlib.nullcontext
        position = 0
        while True:
            # libmpg123 behind libsndfile loses the bit reservoir across reads: the first
            # frames of a read that does not start the file decode wrong (silence in VBR
            # files). Going back a few frames and dropping them restores it.
            back = min(position, MP3_LOOKBEHIND_FRAMES * MP3_FRAME_SAMPLES) if mp3 else 0
            try:
                with quiet():
                    if back:
                        self._file.seek(position - back)
                    data = self._file.read(DECODE_BLOCK_FRAMES + back, dtype="float32",
                                           always_2d=True)[back:]
            except (sf.LibsndfileError, RuntimeError) as e:
                raise AudioLoadError(self.path, f"not a readable audio file ({_short(e)})") from e
            if data.shape[0] == 0:
                return
            position += data.shape[0]
            yield data

    def close(self) -> None:
        self._file.close()


class _FfmpegSource:
    """A container only ffmpeg reads, decoded whole through pydub."""

    format = "FFMPEG"

    def __init__(self, path: Path):
        if shutil.which("ffmpeg") is None:
            raise AudioLoadError(path, f"{path.suffix or 'this'} files need ffmpeg, which is "
                                       "not installed (install ffmpeg, or convert the file to "
                                       "WAV/FLAC)")
        from pydub import AudioSegment
        from pydub.exceptions import CouldntDecodeError

        try:
            seg = AudioSegment.from_file(path)
        except (CouldntDecodeError, OSError, IndexError) as e:
            raise AudioLoadError(path, f"ffmpeg could not decode it ({_short(e)})") from e
        samples = np.asarray(seg.get_array_of_samples(), dtype=np.float32)
        scale = float(1 << (8 * seg.sample_width - 1))
        self._data = samples.reshape(-1, seg.channels) / scale
        self.samplerate, self.channels = int(seg.frame_rate), seg.channels
        self.frames = self._data.shape[0]

    def blocks(self):
        for start in range(0, self.frames, DECODE_BLOCK_FRAMES):
            yield self._data[start:start + DECODE_BLOCK_FRAMES]

    def close(self) -> None:
        self._data = None


_stderr_lock = threading.Lock()


@contextlib.contextmanager
def _quiet_c_stderr():
    """Silence what C code writes to file descriptor 2 meanwhile.

    libmpg123 reports the frame it decodes without its bit reservoir after a seek as a
    decoding "error" on stderr, one line per block (that frame is dropped).
    """
    with _stderr_lock:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            yield
            return
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


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
    """Band-limited resampling of a signal in memory (the same soxr filter as file loading).

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
    import soxr

    return np.ascontiguousarray(soxr.resample(y, orig_sr, target_sr, quality=RESAMPLE_QUALITY),
                                dtype=np.float32)


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


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[-1][:200] if text else type(error).__name__
