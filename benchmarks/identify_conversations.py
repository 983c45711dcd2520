"""Who spoke when, by name, on the dev corpus conversations.

Usage: python benchmarks/identify_conversations.py [--corpus ../shared/data/dev-corpus]
                                                   [--threshold 0.8] [--fast]
                                                   [--diarization-cache DIR]

Enrols the known speakers of the ID set (id/train_files.txt, CAM++ front end), diarizes each
conversation of diar/ with `diarize --identify` semantics, and prints per file: the share of
known speakers' speech attributed to their own name, the share of unknown speakers' speech
given a known name (should be 0), the share of known speakers' speech given another
enrolled speaker's name, and the speakers named; then totals of the odd- and
even-numbered conversations separately (dev-wide: tune on the odd, report on the even).
With --diarization-cache, each file's unnamed diarization is kept there as RTTM and reused,
so that naming rules can be compared without diarizing again. With --oracle, names come from
the reference instead of the model: each cluster (or each turn) takes the name of the
reference speaker who speaks most of it, when that speaker is enrolled; the figures are then
what the diarization allows a naming of clusters (or of turns) to reach.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from streamz_speaker.core.audio import load_audio
from streamz_speaker.diarization import DiarizationConfig, diarize, load_models
from streamz_speaker.diarization.config import FAST_SEGMENTATION_STEP_SECONDS, SegmentationConfig
from streamz_speaker.diarization.rttm import read_rttm, write_rttm
from streamz_speaker.speaker_id.extraction import CacheConfig, FeatureExtractor
from streamz_speaker.speaker_id.ledger import read_ledger
from streamz_speaker.speaker_id.persistence import load_model
from streamz_speaker.diarization.scoring import read_uem
from streamz_speaker.speaker_id.naming import name_speakers
from streamz_speaker.speaker_id.training import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
STEP = 0.01  # seconds per scoring frame


def frames(segments, n: int) -> dict[str, np.ndarray]:
    out = {}
    for s in segments:
        track = out.setdefault(s.label, np.zeros(n, bool))
        track[int(round(s.start / STEP)):int(round(s.end / STEP))] = True
    return out


def oracle_names(segments, ref: dict, uem: np.ndarray, known: set, n: int, unit: str):
    """Segments named after the enrolled reference speaker who speaks most of their cluster
    (``unit="cluster"``) or of themselves (``"turn"``); others keep their label."""
    def majority(track):
        talk = {r: (ref[r] & track & uem).sum() for r in ref}
        best = max(talk, key=talk.get) if talk else None
        return best if best in known and talk[best] > 0 else None

    by_cluster = {label: majority(track) for label, track in frames(segments, n).items()}
    out = []
    for s in segments:
        name = by_cluster[s.label] if unit == "cluster" else majority(frames([s], n)[s.label])
        out.append(replace(s, label=name or s.label))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared/data/dev-corpus")
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--diarization-cache", type=Path, default=None)
    ap.add_argument("--oracle", choices=["cluster", "turn"], default=None,
                    help="Name from the reference: the bound the diarization sets.")
    ap.add_argument("--feature-cache", type=Path, nargs=2, default=None,
                    metavar=("FEATURES", "WAV"), help="Feature and WAV cache folders to reuse.")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="streamz-name-"))
    lst = work / "train.txt"
    lst.write_text("".join(f"{e.path},{e.label}\n"
                           for e in read_ledger(args.corpus / "id/train_files.txt")))
    train(lst, work / "model.npz", TrainConfig(), cache=CacheConfig(*args.feature_cache)
          if args.feature_cache else CacheConfig(work / "f", work / "c"))
    model = load_model(work / "model.npz")
    known = set(model.speakers)
    extractor = FeatureExtractor.for_config(model.feature_config)
    models = load_models()
    config = DiarizationConfig(segmentation=SegmentationConfig(FAST_SEGMENTATION_STEP_SECONDS)
                               if args.fast else SegmentationConfig())
    diar = args.corpus / "diar"
    totals = {"known": 0.0, "right": 0.0, "wrong": 0.0, "unknown": 0.0, "misnamed": 0.0,
              "unknown_speakers": 0, "unknown_named": 0}
    halves = {"odd": dict(totals), "even": dict(totals)}
    print("| file | known speech s | right name | another's name | unknown speech s | "
          "given a known name | unknown speakers mostly named | "
          "named (cluster -> name, confidence) | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in (diar / "files.txt").read_text().split():
        path = diar / name
        uri = Path(name).stem
        t = time.perf_counter()
        y = load_audio(path)
        cached = args.diarization_cache / f"{uri}.rttm" if args.diarization_cache else None
        if cached is not None and cached.exists():
            segments = read_rttm(cached).get(uri, [])
        else:
            segments = diarize(y, models=models, config=config, uri=uri).segments
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                write_rttm(cached, segments, uri=uri)
        n = int(np.ceil(len(y) / 16000 / STEP)) + 1
        uem = np.zeros(n, bool)
        for start, end in read_uem(diar / f"{uri}.uem")[uri]:
            uem[int(round(start / STEP)):int(round(end / STEP))] = True
        ref = frames(read_rttm(diar / f"{uri}.rttm")[uri], n)
        if args.oracle:
            named, matches = oracle_names(segments, ref, uem, known, n, args.oracle), []
        else:
            named, matches = name_speakers(segments, y, model, threshold=args.threshold,
                                           extractor=extractor)
        elapsed = time.perf_counter() - t
        hyp = frames(named, n)
        row = {"known": 0.0, "right": 0.0, "wrong": 0.0, "unknown": 0.0, "misnamed": 0.0,
               "unknown_speakers": 0, "unknown_named": 0}
        # frames where a known name is given while that speaker is not talking
        wrong_name = np.zeros(n, bool)
        for label, track in hyp.items():
            if label in known:
                wrong_name |= track & ~ref.get(label, np.zeros(n, bool))
        for speaker, track in ref.items():
            track = track & uem
            if speaker in known:
                row["known"] += track.sum() * STEP
                row["right"] += (track & hyp.get(speaker, np.zeros(n, bool))).sum() * STEP
                # given another enrolled speaker's name while that one is silent
                others = wrong_name & ~hyp.get(speaker, np.zeros(n, bool))
                row["wrong"] += (track & others).sum() * STEP
            else:
                row["unknown"] += track.sum() * STEP
                row["misnamed"] += (track & wrong_name).sum() * STEP
                # the label covering most of this unknown speaker's speech
                cover = {label: (track & h).sum() for label, h in hyp.items()}
                majority = max(cover, key=cover.get) if cover else None
                row["unknown_speakers"] += 1
                row["unknown_named"] += int(majority in known)
        for k in totals:
            totals[k] += row[k]
        half = halves["odd" if int("".join(c for c in uri if c.isdigit()) or 0) % 2 else "even"]
        for k in half:
            half[k] += row[k]
        clusters = frames(segments, n)
        truth = {label: max(ref, key=lambda r: (ref[r] & track & uem).sum())
                 for label, track in clusters.items()}
        named_text = ", ".join(f"{m.label}({truth.get(m.label, '?')})->{m.name or '-'} "
                               f"{m.confidence:.2f}" for m in matches)
        print(f"| {uri} | {row['known']:.1f} | {row['right'] / max(row['known'], 1e-9):.3f} | "
              f"{row['wrong'] / max(row['known'], 1e-9):.3f} | {row['unknown']:.1f} | {row['misnamed'] / max(row['unknown'], 1e-9):.3f} | "
              f"{row['unknown_named']} of {row['unknown_speakers']} | "
              f"{named_text} | {elapsed:.1f} |", flush=True)
    for name, t in (("odd-numbered", halves["odd"]), ("even-numbered", halves["even"]),
                    ("TOTAL", totals)):
        print(f"| {name} | {t['known']:.1f} | {t['right'] / max(t['known'], 1e-9):.3f} | "
              f"{t['wrong'] / max(t['known'], 1e-9):.3f} | {t['unknown']:.1f} | {t['misnamed'] / max(t['unknown'], 1e-9):.3f} | "
              f"{t['unknown_named']} of {t['unknown_speakers']} | | |")


if __name__ == "__main__":
    main()
