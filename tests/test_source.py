"""Long 16 kHz files read block by block: same samples, same diarization as decoding whole."""

import numpy as np
import pytest
import soundfile as sf

from streamz.audio import load_audio
from streamz.diarization import source
from streamz.errors import AudioLoadError

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


def test_only_long_16k_files_stream(tmp_path, rng):
    short = tmp_path / "short.wav"
    sf.write(short, 0.1 * rng.standard_normal(SR), SR)
    assert source.open_streamable(short) is None                    # < STREAM_MIN_SECONDS
    other = tmp_path / "44k.wav"
    sf.write(other, 0.1 * rng.standard_normal(44_100), 44_100)
    assert source.open_streamable(other, min_seconds=0) is None      # needs resampling
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    assert source.open_streamable(text, min_seconds=0) is None       # load_audio says why
    truncated = tmp_path / "truncated.wav"
    sf.write(truncated, 0.1 * rng.standard_normal(2 * SR), SR, subtype="PCM_16")
    truncated.write_bytes(truncated.read_bytes()[:-SR])
    assert source.open_streamable(truncated, min_seconds=0) is None


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
def test_streamed_file_diarizes_like_decoded_array(tmp_path, monkeypatch, make_wav):
    from streamz.diarization import DiarizationConfig, diarize, load_models
    from streamz.diarization.config import BinarizeConfig

    path = make_wav("talk.wav", "alice", seconds=14.0)
    models = load_models()
    decoded = diarize(load_audio(path), models=models, uri="talk")
    monkeypatch.setattr(source, "STREAM_MIN_SECONDS", 0.0)
    streamed = diarize(path, models=models)
    assert streamed.uri == "talk" and streamed.duration == decoded.duration
    assert streamed.segments == decoded.segments
    # options reach a streamed file too: a 20 s minimum turn removes the 14 s one
    config = DiarizationConfig(binarize=BinarizeConfig(min_duration_on=20.0))
    assert streamed.segments and diarize(path, models=models, config=config).segments == ()
