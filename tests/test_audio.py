import numpy as np
import pytest
import soundfile as sf

from streamz_speaker.core.audio import load_audio, resample, to_mono
from streamz_speaker.core.errors import AudioLoadError


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_wav_bit_depths_load_as_float32(tmp_path, subtype):
    t = np.arange(16000) / 16000
    y = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / f"tone_{subtype}.wav"
    sf.write(path, y, 16000, subtype=subtype)
    out = load_audio(path)
    assert out.dtype == np.float32 and out.shape == (16000,)
    assert np.max(np.abs(out - y)) < (0.02 if subtype == "PCM_U8" else 1e-3)


@pytest.mark.parametrize("fmt,ext", [("FLAC", "flac"), ("OGG", "ogg"), ("MP3", "mp3")])
def test_compressed_formats(tmp_path, fmt, ext):
    y = 0.3 * np.sin(2 * np.pi * 300 * np.arange(22050) / 22050)
    path = tmp_path / f"a.{ext}"
    sf.write(path, y, 22050, format=fmt)
    out = load_audio(path)
    assert abs(out.size - 16000) < 1200  # MP3 adds encoder padding
    assert 0.15 < np.sqrt(np.mean(out[2000:-2000] ** 2)) < 0.26


def test_stereo_to_mono_and_resample(tmp_path):
    left = np.full(44100, 0.2)
    right = np.full(44100, 0.4)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 44100, subtype="FLOAT")
    out = load_audio(path)
    assert out.shape == (16000,)
    assert np.allclose(out[1000:-1000], 0.3, atol=1e-3)


def test_to_mono_many_channels():
    y = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert np.allclose(to_mono(y), y.mean(axis=1))


def test_resample_preserves_duration_and_energy(rng):
    y = rng.standard_normal(48000).astype(np.float32) * 0.1
    y = resample(y, orig_sr=48000, target_sr=16000)  # band-limit first
    up = resample(y, orig_sr=16000, target_sr=44100)
    assert up.size == 44100
    assert np.isclose(np.mean(up ** 2), np.mean(y ** 2), rtol=0.05)


def test_mp3_cache_written_and_reused(tmp_path):
    y = 0.3 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000)
    mp3 = tmp_path / "clip.mp3"
    sf.write(mp3, y, 16000, format="MP3")
    cache = tmp_path / "cache"
    first = load_audio(mp3, cache_dir=cache)
    cached = list(cache.glob("clip.*.wav"))
    assert len(cached) == 1
    assert np.allclose(load_audio(mp3, cache_dir=cache), first)
    # --no-cache-wav: nothing new is written
    other = tmp_path / "other.mp3"
    sf.write(other, y, 16000, format="MP3")
    load_audio(other, cache_dir=cache, write_cache=False)
    assert len(list(cache.glob("*.wav"))) == 1


def test_neighbouring_wav_used_for_mp3(tmp_path):
    sf.write(tmp_path / "x.mp3", np.zeros(16000), 16000, format="MP3")
    sf.write(tmp_path / "x.wav", np.full(8000, 0.25), 16000, subtype="FLOAT")
    assert np.allclose(load_audio(tmp_path / "x.mp3"), 0.25)


def _truncated(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, np.zeros(16000), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("make,problem", [
    (lambda p: p / "missing.wav", "file not found"),
    (lambda p: (p / "empty.wav").write_bytes(b"") and None or p / "empty.wav", "file is empty"),
    (lambda p: (p / "text.wav").write_text("hello, not audio") and p / "text.wav",
     "not a readable audio file"),
    (_truncated, "truncated"),
])
def test_bad_files_name_file_and_problem(tmp_path, make, problem):
    path = make(tmp_path)
    with pytest.raises(AudioLoadError, match=problem) as info:
        load_audio(path)
    assert str(info.value).startswith(str(path))


def test_nan_and_absurd_rate(tmp_path):
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.full(1000, np.nan), 16000, subtype="FLOAT")
    with pytest.raises(AudioLoadError, match="NaN"):
        load_audio(nan)
    slow = tmp_path / "slow.wav"
    sf.write(slow, np.zeros(100), 10)
    with pytest.raises(AudioLoadError, match="absurd sample rate 10 Hz"):
        load_audio(slow)


def test_ffmpeg_container_without_ffmpeg(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    path = tmp_path / "voice.m4a"
    path.write_bytes(b"\0" * 64)
    with pytest.raises(AudioLoadError, match="need ffmpeg, which is not installed"):
        load_audio(path)


@pytest.mark.parametrize("sr,channels,fmt", [(44_100, 2, "WAV"), (8_000, 1, "FLAC"),
                                             (48_000, 1, "MP3")])
def test_block_by_block_equals_resampling_the_whole_signal(tmp_path, rng, monkeypatch, sr,
                                                           channels, fmt):
    """Decoding and resampling in small blocks (soxr's streaming resampler) gives the samples
    of decoding the whole file and resampling it at once (how load_audio used to work)."""
    from streamz_speaker.core import audio as audio_module

    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, 0.2 * rng.standard_normal((3 * sr + 77, channels)), sr, format=fmt)
    whole, native = sf.read(path, dtype="float32", always_2d=True)
    expected = resample(to_mono(whole), orig_sr=native, target_sr=16_000)
    monkeypatch.setattr(audio_module, "DECODE_BLOCK_FRAMES", 3 * audio_module.MP3_FRAME_SAMPLES)
    out = load_audio(path)
    assert out.dtype == np.float32 and out.shape == expected.shape
    # MP3: mpg123 rounds the last bit differently from one read size to another
    np.testing.assert_allclose(out, expected, rtol=0, atol=2e-7 if fmt == "MP3" else 0)


def test_mp3_read_in_blocks_keeps_stderr_clean(tmp_path, monkeypatch, capfd):
    """A variable-bitrate MP3 read in blocks gives the samples of one whole read (without
    going back before each read, libmpg123 lost its bit reservoir and decoded silence at
    every boundary), and its notes on file descriptor 2 stay off the user's stderr."""
    from streamz_speaker.core import audio as audio_module

    t = np.arange(10 * 16_000) / 16_000
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 0.7 * t) > 0)
    path = tmp_path / "vbr.mp3"
    with sf.SoundFile(path, "w", 16_000, 1, format="MP3", compression_level=0.5,
                      bitrate_mode="VARIABLE") as fh:
        fh.write(y)
    monkeypatch.setattr(audio_module, "DECODE_BLOCK_FRAMES", 3 * audio_module.MP3_FRAME_SAMPLES)
    whole, _ = sf.read(path, dtype="float32")
    np.testing.assert_allclose(load_audio(path), whole, rtol=0, atol=2e-7)
    assert capfd.readouterr().err == ""
