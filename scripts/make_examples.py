"""Make the small example set shipped in examples/ (dev-time; needs Debian's espeak-ng).

Three synthetic voices (espeak-ng variants), three training clips each and one clip each to
identify, plus a 3-speaker meeting with its reference RTTM for the diarization example and a
Whisper-shaped transcript of it (meeting.whisper.json, for ``streamz diarize --transcript``).

Usage: python scripts/make_examples.py [--out examples]
       python scripts/make_examples.py --transcript-only   # meeting.whisper.json from
                                                           # meeting.rttm, no espeak-ng
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from streamz_speaker.core.audio import load_audio

VOICES = {"alice": ("en-us+f3", 60), "bob": ("en-gb+m3", 35), "carol": ("en+klatt2", 85)}
SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please bring the blue folder to the meeting room after lunch.",
    "We measured the wooden table twice before cutting the boards.",
    "Could you call me back tomorrow morning about the delivery?",
    "The train to the coast leaves at half past seven every day.",
]
MEETING = [("alice", 0), ("bob", 1), ("carol", 2), ("alice", 3), ("bob", 4), ("carol", 0)]
#: Whisper-like segments of the transcript: utterances joined while a segment stays this short,
#: so that, as with Whisper, segments run across speaker changes.
SEGMENT_SECONDS = 8.0


def speak(voice: str, pitch: int, text: str, workdir: Path) -> np.ndarray:
    wav = workdir / "tts.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", "160", "-w", str(wav), text],
                   check=True)
    return load_audio(wav)


def whisper_transcript(turns) -> dict:
    """A Whisper-shaped transcript of the meeting, from its utterances' texts and times.

    The words of each utterance (``MEETING``) are spread over its reference turn in
    proportion to their characters (the audio is espeak-ng speaking them at an even rate);
    utterances are joined into segments of at most ``SEGMENT_SECONDS``.

    Parameters
    ----------
    turns : list of (start, end) in seconds
        The reference turns of meeting.rttm, in order, one per utterance of ``MEETING``.
    """
    segments = []
    for (start, end), (_, k) in zip(turns, MEETING):
        texts = SENTENCES[k].split()
        weights = np.array([len(t) + 1 for t in texts], dtype=float)
        edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
        words = [{"word": " " + t, "start": round(float(a), 2), "end": round(float(b) - 0.04, 2)}
                 for t, a, b in zip(texts, edges[:-1], edges[1:])]
        if segments and end - segments[-1]["start"] <= SEGMENT_SECONDS:
            segments[-1]["words"] += words
            segments[-1]["end"] = words[-1]["end"]
        else:
            segments.append({"start": words[0]["start"], "end": words[-1]["end"], "words": words})
    out = []
    for i, seg in enumerate(segments):
        text = "".join(w["word"] for w in seg["words"])
        out.append({"id": i, "seek": 0, "start": seg["start"], "end": seg["end"], "text": text,
                    "words": seg["words"]})
    return {"text": "".join(s["text"] for s in out), "segments": out, "language": "en"}


def write_transcript(out: Path) -> None:
    """Write ``out/meeting.whisper.json`` from ``out/meeting.rttm``."""
    turns = []
    for line in (out / "meeting.rttm").read_text().splitlines():
        fields = line.split()
        turns.append((float(fields[3]), float(fields[3]) + float(fields[4])))
    doc = whisper_transcript(turns)
    (out / "meeting.whisper.json").write_text(json.dumps(doc, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("examples"))
    ap.add_argument("--transcript-only", action="store_true",
                    help="only write meeting.whisper.json from meeting.rttm")
    args = ap.parse_args()
    if args.transcript_only:
        write_transcript(args.out)
        return
    rng = np.random.default_rng(7)
    out = args.out
    (out / "train").mkdir(parents=True, exist_ok=True)
    (out / "test").mkdir(parents=True, exist_ok=True)
    train_lines, test_lines = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, (voice, pitch) in VOICES.items():
            for i in range(3):
                y = speak(voice, pitch, SENTENCES[i], tmp)
                y = y + rng.normal(0, 0.003, y.size).astype(np.float32)
                sf.write(out / "train" / f"{name}_{i}.flac", y, 16000)
                train_lines.append(f"train/{name}_{i}.flac,{name}")
            y = speak(voice, pitch, SENTENCES[3 + (len(name) % 2)], tmp)
            sf.write(out / "test" / f"{name}.flac", y, 16000)
            test_lines.append(f"test/{name}.flac,{name}")
        parts, rttm, t = [], [], 0.5
        parts.append(np.zeros(8000, np.float32))
        for name, k in MEETING:
            voice, pitch = VOICES[name]
            y = speak(voice, pitch, SENTENCES[k], tmp)
            active = np.flatnonzero(np.abs(y) > 0.01)
            y = y[active[0]:active[-1] + 1]
            parts += [y, np.zeros(int(16000 * rng.uniform(0.3, 0.8)), np.float32)]
            rttm.append(f"SPEAKER meeting 1 {t:.3f} {y.size / 16000:.3f} <NA> <NA> {name} <NA> <NA>")
            t += (y.size + parts[-1].size) / 16000
        meeting = np.concatenate(parts)
        meeting += rng.normal(0, 0.002, meeting.size).astype(np.float32)
        sf.write(out / "meeting.flac", meeting, 16000)
    (out / "train_files.txt").write_text("\n".join(train_lines) + "\n")
    (out / "target_files.txt").write_text("\n".join(test_lines) + "\n")
    (out / "meeting.rttm").write_text("\n".join(rttm) + "\n")
    write_transcript(out)


if __name__ == "__main__":
    main()
