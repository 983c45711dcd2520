"""Online diarization with the bundled models: the example meeting, streaming, memory."""

import numpy as np
import pytest

from live_support import EXAMPLES, live_models, meeting  # noqa: F401  fixtures
from streamz_speaker.diarization import embedding
from streamz_speaker.diarization.rttm import read_rttm
from streamz_speaker.core.errors import ConfigError
from streamz_speaker.live.frontend import Frontend
from streamz_speaker.live.online import OnlineConfig, OnlineDiarizer, diarize_stream, report_segments
from streamz_speaker.diarization.scoring import score

pytestmark = pytest.mark.models


@pytest.mark.slow
def test_meeting_is_diarized_online(live_models, meeting):
    events, report = diarize_stream(meeting, live_models)
    reference = read_rttm(EXAMPLES / "meeting.rttm")
    _, total = score(reference, {"meeting": report_segments(report)})
    assert total.der < 0.25          # 19-23 %: the segmentation takes carol for alice at first
    assert len(report.speakers) == 3
    assert report.duration == pytest.approx(meeting.size / 16000)
    # events: one per 0.5 s step while someone speaks, times increasing, totals growing
    times = [e.time for e in events]
    assert times == sorted(times) and len(events) >= 0.7 * meeting.size / 8000
    assert all(np.diff(times) >= 0.5 - 1e-9)
    last = events[-1].speaking_ms
    assert sum(last.values()) == pytest.approx(sum(s.total_ms for s in report.speakers),
                                               rel=0.2)


@pytest.mark.slow
def test_ids_stay_with_their_voices(live_models):
    # alice and bob take turns three times each: every turn of a voice gets one id
    from streamz_speaker.core.audio import load_audio
    from streamz_speaker.diarization.rttm import Segment

    pieces, reference, t = [], [], 0.0
    gap = np.zeros(8000, np.float32)
    for i in range(3):
        for name in ("alice", "bob"):
            y = load_audio(EXAMPLES / "train" / f"{name}_{i}.flac")
            pieces += [y, gap]
            reference.append(Segment(t, t + y.size / 16000, name))
            t += (y.size + gap.size) / 16000
    _, report = diarize_stream(np.concatenate(pieces), live_models)
    ids = {name: {_overlapping_id(turn, report.segments) for turn in reference
                  if turn.label == name} for name in ("alice", "bob")}
    assert len(ids["alice"]) == len(ids["bob"]) == 1 and ids["alice"] != ids["bob"], ids
    assert None not in ids["alice"] | ids["bob"]
    assert len(report.speakers) == 2


def _overlapping_id(turn, segments):
    overlap = {}
    for s in segments:
        overlap[s.speaker] = overlap.get(s.speaker, 0) + max(
            0.0, min(turn.end, s.end) - max(turn.start, s.start))
    best = max(overlap, key=overlap.get, default=None)
    return best if best is not None and overlap[best] > 0.5 * turn.duration else None


def test_results_do_not_depend_on_how_audio_is_cut(live_models, meeting):
    y = meeting[:8 * 16000]
    _, a = diarize_stream(y, live_models, block_seconds=0.5)
    _, b = diarize_stream(y, live_models, block_seconds=0.137)
    assert a.segments == b.segments


def test_fixed_speaker_count_caps_the_ids(live_models, meeting):
    _, report = diarize_stream(meeting[:12 * 16000], live_models, OnlineConfig(num_speakers=2))
    assert {s.id for s in report.speakers} <= {0, 1}


def test_the_report_folds_merged_ids_into_the_id_they_went_to(live_models):
    from streamz_speaker.live.timeline import Turn

    diarizer = OnlineDiarizer(live_models)
    clustering = diarizer.clustering
    clustering.centroids, clustering.support = np.ones((3, 192)), np.ones(3, np.int64)
    clustering.merged = {2: 0}                  # a re-clustering found 2 to be 0's voice
    diarizer.samples = 10 * 16000
    diarizer.timeline.turns.extend([Turn(0.0, 2.0, 0), Turn(1.5, 3.0, 2), Turn(4.0, 5.0, 1),
                                    Turn(6.0, 7.0, 2)])
    diarizer.timeline.totals[:3] = [2.0, 1.0, 2.5]
    diarizer.learn = {0: [np.zeros(192)] * 20, 2: [np.ones(192)] * 20}
    diarizer.clean_seconds[[0, 2]] = 6.0        # 12 s together: enough to learn (10 s)
    report = diarizer.finish()
    assert [(t.start, t.end, t.speaker) for t in report.segments] == [
        (0.0, 3.0, 0), (4.0, 5.0, 1), (6.0, 7.0, 0)]
    assert [(s.id, s.total_ms) for s in report.speakers] == [(0, 4500), (1, 1000)]
    assert report.merged == {2: 0}
    assert list(diarizer.learnable()) == [0] and len(diarizer.learnable()[0]) == 40


def test_silence_gives_no_events_and_an_empty_report(live_models):
    events, report = diarize_stream(np.zeros(3 * 16000, np.float32), live_models)
    assert events == [] and report.segments == [] and report.speakers == []


def test_bad_audio_and_configs_are_refused(live_models):
    diarizer = OnlineDiarizer(live_models)
    with pytest.raises(ValueError, match="finite 1-D"):
        diarizer.push(np.array([np.nan], np.float32))
    diarizer.finish()
    with pytest.raises(ValueError, match="finished"):
        diarizer.push(np.zeros(10, np.float32))
    with pytest.raises(ConfigError, match="num_speakers"):
        OnlineConfig(num_speakers=6)
    with pytest.raises(ConfigError, match="step_seconds"):
        OnlineConfig(step_seconds=0.33)
    with pytest.raises(ConfigError, match="recluster_after"):
        OnlineConfig(recluster_after=1000)


@pytest.mark.slow
def test_memory_is_bounded_whatever_the_session_length(live_models, meeting):
    diarizer = OnlineDiarizer(live_models, OnlineConfig(max_turns=20, learn_max_windows=8))

    def state_bytes():
        arrays = [diarizer.frontend.audio, diarizer.frontend.fbank, diarizer.frontend.frames,
                  diarizer.timeline.score, diarizer.timeline.local, diarizer.timeline.windows,
                  diarizer.pending]
        kept = sum(len(v) for v in diarizer.learn.values())
        return sum(a.nbytes for a in arrays), len(diarizer.timeline.turns), kept

    sizes = []
    for lap in range(2):                     # the meeting twice over: 48 s
        for i in range(0, meeting.size, 4000):
            diarizer.push(meeting[i:i + 4000])
        sizes.append(state_bytes())
    # fixed-size buffers (10 s windows) plus at most one window of frames not final yet
    assert sizes[0][0] <= 2.2e6 and sizes[1][0] <= 2.2e6
    assert sizes[1][1] <= 20 and sizes[1][2] <= 8 * 3
    assert len(diarizer.held) == diarizer.delay == 20       # windows held for the report


def test_incremental_backbone_matches_the_offline_backbone(live_models, meeting):
    # frames computed step by step (left context, one redo) against the offline
    # block computation of the same 10 s: the embeddings they pool agree closely
    frontend = Frontend(live_models.segmentation, live_models.embedding, step_samples=8000,
                        context_frames=50, redo_frames=25)
    y = meeting[:12 * 16000]
    for i in range(0, y.size, 8000):
        activity, online = frontend.advance(y[i:i + 8000])
    offline = embedding.backbone_features(live_models.embedding, y, 100, 600)
    masks = embedding.pooling_masks(activity[None])
    a, _ = embedding.pool(online[None], masks)
    b, _ = embedding.pool(offline[None], masks)
    ea, eb = live_models.head(a[0][np.isfinite(a[0]).all(1)]), \
        live_models.head(b[0][np.isfinite(b[0]).all(1)])
    cos = np.sum(ea * eb, axis=1) / np.linalg.norm(ea, axis=1) / np.linalg.norm(eb, axis=1)
    assert len(cos) >= 1 and cos.min() > 0.9

