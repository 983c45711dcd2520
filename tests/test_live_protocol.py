"""Live protocol: message parsing, PCM decoding, JSON shapes of events and reports."""

import json

import numpy as np
import pytest

from streamz_speaker.core.errors import ProtocolError, StreamzError
from streamz_speaker.live import protocol
from streamz_speaker.live.client import to_pcm16
from streamz_speaker.live.online import Report, SpeakerEvent, SpeakerTotal, Turn


def test_start_with_and_without_a_speaker_count():
    assert protocol.parse_message('{"action": "start", "num_speakers": 2}') == \
        protocol.Start(2)
    assert protocol.parse_message('{"action": "start"}') == protocol.Start(None)
    assert protocol.parse_message('{"action": "start", "num_speakers": null}') == \
        protocol.Start(None)
    assert protocol.parse_message('{"action": "stop", "extra": 1}') == protocol.Stop()


@pytest.mark.parametrize("text, message", [
    ("{not json", "malformed JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"action": "pause"}', "unknown action 'pause'"),
    ('{"num_speakers": 2}', "unknown action None"),
    ('{"action": "start", "num_speakers": 0}', "num_speakers must be an integer from 1 to 5"),
    ('{"action": "start", "num_speakers": 6}', "num_speakers must be"),
    ('{"action": "start", "num_speakers": "2"}', "num_speakers must be"),
    ('{"action": "start", "num_speakers": true}', "num_speakers must be"),
    ('{"action": "start", "num_speakers": 2.0}', "num_speakers must be"),
    ('"' + "x" * 5000 + '"', "text message too long"),
])
def test_bad_messages_raise_protocol_errors(text, message):
    with pytest.raises(ProtocolError, match=message) as info:
        protocol.parse_message(text)
    assert isinstance(info.value, StreamzError)


def test_pcm_round_trip_and_bad_frames():
    y = np.array([0.0, 0.5, -0.5, -1.0, 0.999], np.float32)
    data = to_pcm16(y)
    assert data[:4] == b"\x00\x00\x00\x40"          # little-endian 16-bit
    np.testing.assert_allclose(protocol.decode_pcm(data), y, atol=1 / 32768)
    assert protocol.decode_pcm(b"").shape == (0,)
    with pytest.raises(ProtocolError, match="even number of bytes"):
        protocol.decode_pcm(b"\x00\x01\x02")
    with pytest.raises(ProtocolError, match="too large"):
        protocol.decode_pcm(bytes(protocol.MAX_FRAME_BYTES + 2))


def test_event_and_report_shapes_match_the_reference_protocol():
    event = SpeakerEvent(time=1.5, speaker=1, name="alice", speaking_ms={0: 1200, 1: 500})
    out = protocol.speaker_event(event, with_names=False)
    assert out == {"event": "speaker", "currentSpeakerId": 1,
                   "speakingTimeMs": {"0": 1200, "1": 500}, "audioTimeMs": 1500}
    assert protocol.speaker_event(event, with_names=True)["currentSpeakerName"] == "alice"
    report = Report(duration=4.0, speakers=[SpeakerTotal(0, 3390, None)],
                    segments=[Turn(0.52, 3.91, 0)], names={0: None})
    out = json.loads(json.dumps(protocol.report(report)))
    assert out == {"event": "report", "durationMs": 4000,
                   "speakers": [{"id": 0, "totalTimeMs": 3390, "name": None}],
                   "segments": [{"start": 0.52, "end": 3.91, "speaker": 0, "name": None}]}
    assert protocol.report(report, learned=[])["learned"] == []
    merged = Report(duration=4.0, speakers=[], segments=[], merged={3: 1})
    assert protocol.report(merged)["merged"] == {"3": 1}
    assert protocol.started(None) == {"event": "started", "num_speakers": None}
