"""Long 16 kHz files read block by block: same samples, same diarization as decoding whole."""

import numpy as np
import pytest
import soundfile as sf

from streamz_speaker.core.audio import load_audio
from streamz_speaker.diarization import source
from streamz_speaker.core.errors import AudioLoadError

SR = 16_000


def test_slices_equal_load_audio(tmp_path, rng):
    path = tmp_path / "stereo.wav"
    sf.write(path, 0.3 * rng.standard_normal((3 * SR, 2)), SR, subtype="PCM_16")
    y = load_audio(path)
    with source.open_streamable(path, min_seconds=0) as audio:
        assert audio.shape == y.shape and len(audio) == y.size
        for a, b in ((0, 400), (1234, 30_000), (40_000, 10 * SR), (5 * SR, 6 * SR)):
            np.testing.assert_array_equal(audio[a:b], y[a:b])
        assert audio[a:b].dtype == np.float32


def test_only_long_files_stream(tmp_path, rng):
    short = tmp_path / "short.wav"
    sf.write(short, 0.1 * rng.standard_normal(SR), SR)
    assert source.open_streamable(short) is None                    # < STREAM_MIN_SECONDS
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    assert source.open_streamable(text, min_seconds=0) is None       # load_audio says why
    truncated = tmp_path / "truncated.wav"
    sf.write(truncated, 0.1 * rng.standard_normal(2 * SR), SR, subtype="PCM_16")
    truncated.write_bytes(truncated.read_bytes()[:-SR])
    with pytest.raises(AudioLoadError, match="truncated"):           # what load_audio says
        source.open_streamable(truncated, min_seconds=0)


@pytest.mark.parametrize("name,sr,fmt,channels", [("44k.wav", 44_100, "WAV", 2),
                                                  ("8k.flac", 8_000, "FLAC", 1),
                                                  ("talk.mp3", 22_050, "MP3", 1),
                                                  ("16k.mp3", SR, "MP3", 1)])
def test_other_files_are_spooled_with_load_audio_samples(tmp_path, rng, monkeypatch, name, sr,
                                                         fmt, channels):
    """Resampled or MP3 input is decoded block by block into a temporary file: its slices
    are the samples load_audio gives (small blocks, so block edges are crossed)."""
    from streamz_speaker.core import audio as audio_module

    path = tmp_path / name
    t = np.arange(int(2.5 * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    sf.write(path, np.repeat(y[:, None], channels, axis=1), sr, format=fmt)
    decoded = load_audio(path)
    monkeypatch.setattr(audio_module, "DECODE_BLOCK_FRAMES", 4 * audio_module.MP3_FRAME_SAMPLES)
    with source.open_streamable(path, min_seconds=0) as audio:
        assert isinstance(audio, source.SpooledAudio)
        assert audio.shape == decoded.shape
        tolerance = 2e-7 if fmt == "MP3" else 0.0        # mpg123: last-bit rounding
        np.testing.assert_allclose(audio[0:len(audio)], decoded, rtol=0, atol=tolerance)
        np.testing.assert_allclose(audio[1234:30_000], decoded[1234:30_000], rtol=0,
                                   atol=tolerance)
        assert audio[5:9].dtype == np.float32 and audio[5:9].flags.writeable


def test_spooling_holds_one_block_not_the_recording(tmp_path, rng, monkeypatch):
    """Python-side memory while spooling a 30 s 48 kHz stereo file (23 MB as float32) stays
    near one block (soxr's own buffers are C memory, not traced)."""
    import tracemalloc

    from streamz_speaker.core import audio as audio_module

    path = tmp_path / "long48k.wav"
    sf.write(path, 0.1 * rng.standard_normal((30 * 48_000, 2)), 48_000, subtype="PCM_16")
    monkeypatch.setattr(audio_module, "DECODE_BLOCK_FRAMES", 16 * audio_module.MP3_FRAME_SAMPLES)
    tracemalloc.start()
    try:
        with source.open_streamable(path, min_seconds=0) as audio:
            peak = tracemalloc.get_traced_memory()[1]
            assert len(audio) == 30 * SR
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, peak


def test_nan_samples_raise(tmp_path):
    path = tmp_path / "nan.wav"
    y = np.zeros(SR, np.float32)
    y[100] = np.nan
    sf.write(path, y, SR, subtype="FLOAT")
    with source.open_streamable(path, min_seconds=0) as audio:
        assert audio[:50].shape == (50,)
        with pytest.raises(AudioLoadError, match="NaN"):
            audio[0:200]


@pytest.mark.models
@pytest.mark.parametrize("name,sr", [("talk.wav", SR), ("talk.flac", 44_100)])
def test_streamed_file_diarizes_like_decoded_array(tmp_path, monkeypatch, make_wav, name, sr):
    """Read in place (16 kHz) or spooled (44.1 kHz): the same turns as the decoded array."""
    from streamz_speaker.diarization import DiarizationConfig, diarize, load_models
    from streamz_speaker.diarization.config import BinarizeConfig

    path = make_wav(name, "alice", seconds=14.0, sr=sr)
    models = load_models()
    decoded = diarize(load_audio(path), models=models, uri="talk")
    monkeypatch.setattr(source, "STREAM_MIN_SECONDS", 0.0)
    streamed = diarize(path, models=models)
    assert streamed.uri == "talk" and streamed.duration == decoded.duration
    assert streamed.segments == decoded.segments
    # options reach a streamed file too: a 20 s minimum turn removes the 14 s one
    config = DiarizationConfig(binarize=BinarizeConfig(min_duration_on=20.0))
    assert streamed.segments and diarize(path, models=models, config=config).segments == ()
