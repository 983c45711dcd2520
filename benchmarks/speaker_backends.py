"""Speaker-ID back ends on real and synthetic voices, side by side, beside plain cosine.

Usage::

    python scripts/make_real_voices.py             # build/real-voices (Debian packages)
    python benchmarks/speaker_backends.py [--cache DIR] [--sets real-tune real-report ...]

Sets (each: 5 enrolment clips per known speaker, target clips of known and never-enrolled
speakers):

- ``real-tune``: the English Drascula cast + two Asterisk voices (build/real-voices/tune).
  Back-end settings were chosen here and on ``dev-wide tuned``.
- ``real-report``: the Spanish Drascula cast + three other Asterisk voices
  (build/real-voices/report): speaker-disjoint from real-tune, never used for choosing.
- ``dev-wide tuned`` / ``dev-wide held out``: the synthetic dev-wide ID set, enrolled on all
  18 voices, targets of spk01-14 + unk01 (tuned) and spk15-18 + unk02 (held out).
- ``dev-corpus``: the synthetic dev corpus (not used for choosing).

Every back end scores a clip by its mean CAM++ window embedding (the bundled model, as
``streamz train`` stores it) against each enrolled speaker, and turns scores into
confidences the way the product does: from leave-one-file-out trials on the enrolment data
(confidence 0.5 at their equal error rate). A clip is named when its best confidence
reaches the default threshold (0.8). Columns: closed-set accuracy (known clips, best match
right), open-set accuracy at 0.8, at the best threshold chosen afterwards on the same clips,
known clips refused at 0.8, unknown clips accepted at 0.8, AUC and EER of the best
confidence (known vs unknown clips). The row ``streamz`` is the product end to end
(``train`` then ``eval``'s decisions, with the rule for recordings of several people), in
one run and in two incremental runs (phase 1 then phase 2); with ``--mfcc`` also the MFCC
front end end to end (one run).
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamz_speaker.core.config import FeatureConfig
from streamz_speaker.speaker_id import open_set
from streamz_speaker.speaker_id.evaluation import _auc_eer, evaluate_list
from streamz_speaker.speaker_id.extraction import CacheConfig, extract_many
from streamz_speaker.speaker_id.ledger import read_ledger
from streamz_speaker.speaker_id.open_set import eer_threshold, gaussian_slope, unit_rows
from streamz_speaker.speaker_id.persistence import load_model
from streamz_speaker.speaker_id.training import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
THRESHOLD = 0.8
DEV_WIDE_TUNED = {f"spk{i:02d}" for i in range(1, 15)} | {"unk01"}
SETS = {
    "real-tune": (REPO / "build/real-voices/tune", None),
    "real-report": (REPO / "build/real-voices/report", None),
    "dev-wide tuned": (REPO.parent / "shared/data/dev-wide/id", "tuned"),
    "dev-wide held out": (REPO.parent / "shared/data/dev-wide/id", "held out"),
    "dev-corpus": (REPO.parent / "shared/data/dev-corpus/id", None),
}
#: Back ends built on the product's scorer: (nuisance rank, telephone copies, centring).
SCORER_BACKENDS = {
    "plain cosine (reference)": (0, False, False),
    "NAP 10 + tel. copies (before)": (10, True, False),
    "tel. copies": (0, True, False),
    "NAP 10": (10, False, False),
    "NAP 5": (5, False, False),
    "centred": (0, False, True),
    "centred + tel.": (0, True, True),
    "centred + NAP 10 + tel.": (10, True, True),
    "centred + NAP 5 + tel. (default)": (5, True, True),
}


@dataclass
class Clips:
    """Unit file embeddings of one set: enrolment (with telephone copies) and targets."""

    train: np.ndarray          # (n_train, 192)
    train_tel: np.ndarray      # (n_train, 192)
    labels: np.ndarray         # (n_train,)
    target: np.ndarray         # (n_target, 192)
    target_label: np.ndarray   # (n_target,) speaker or "unknown"
    target_voice: np.ndarray   # (n_target,) true voice


def _unit_mean(windows: np.ndarray) -> np.ndarray:
    return unit_rows(unit_rows(np.asarray(windows, np.float64)).mean(axis=0))


def load_clips(corpus: Path, part: str | None, cache: CacheConfig) -> Clips:
    config = FeatureConfig(kind="embedding")
    voices = {}
    for line in (corpus / "target_speakers.txt").read_text().split():
        path, voice = line.split(",")
        voices[(corpus / path).resolve()] = voice
    train_entries = read_ledger(corpus / "train_files.txt")
    target_entries = [e for e in read_ledger(corpus / "target_files.txt")
                      if part is None or (voices[Path(e.path).resolve()] in DEV_WIDE_TUNED)
                      == (part == "tuned")]
    enrol = [o.value for o in extract_many([e.path for e in train_entries], config, cache,
                                           augment_seed=0)]
    tests = [o.value for o in extract_many([e.path for e in target_entries], config, cache)]
    return Clips(np.stack([_unit_mean(f.clean) for f in enrol]),
                 np.stack([_unit_mean(f.augmented) for f in enrol]),
                 np.array([e.label for e in train_entries]),
                 np.stack([_unit_mean(f.clean) for f in tests]),
                 np.array([e.label for e in target_entries]),
                 np.array([voices[Path(e.path).resolve()] for e in target_entries]))


def scorer_confidences(clips: Clips, rank: int, tel: bool, centre: bool):
    speakers = sorted(set(clips.labels))
    scorer = open_set.fit_scorer(clips.train, clips.labels, speakers,
                                 copies=clips.train_tel if tel else None, rank=rank,
                                 centre=centre)
    return speakers, scorer.confidence(scorer.cosine(clips.target))


def _calibrated(score, clips: Clips, speakers: list):
    """Confidences of a custom scoring function, calibrated as the product's scorer is."""
    targets, impostors = [], []
    for i in range(len(clips.train)):
        keep = np.arange(len(clips.train)) != i
        if not np.any(clips.labels[keep] == clips.labels[i]):
            continue
        s = score(clips.train[keep], clips.labels[keep], clips.train[i:i + 1])[0]
        own = speakers.index(clips.labels[i])
        targets.append(s[own])
        impostors += [v for j, v in enumerate(s) if j != own]
    targets, impostors = np.array(targets), np.array(impostors)
    threshold, slope = eer_threshold(targets, impostors), gaussian_slope(targets, impostors)
    raw = score(clips.train, clips.labels, clips.target)
    return 1 / (1 + np.exp(-slope * (raw - threshold)))


def snorm_confidences(clips: Clips):
    """Symmetric score normalisation against the other enrolled speakers' files."""
    speakers = sorted(set(clips.labels))

    def score(enrol, labels, test):
        C = unit_rows(np.stack([enrol[labels == s].mean(axis=0) for s in speakers]))
        raw, cohort = test @ C.T, test @ enrol.T
        out = np.empty_like(raw)
        for j, s in enumerate(speakers):
            others = labels != s
            t = cohort[:, others]
            c = enrol[others] @ C[j]
            out[:, j] = 0.5 * ((raw[:, j] - t.mean(1)) / (t.std(1) + 1e-6)
                               + (raw[:, j] - c.mean()) / (c.std() + 1e-6))
        return out

    return speakers, _calibrated(score, clips, speakers)


def nearest_confidences(clips: Clips):
    """Mean cosine to the speaker's two nearest enrolment clips."""
    speakers = sorted(set(clips.labels))

    def score(enrol, labels, test):
        S = test @ enrol.T
        return np.stack([np.sort(S[:, labels == s], axis=1)[:, -2:].mean(axis=1)
                         for s in speakers], axis=1)

    return speakers, _calibrated(score, clips, speakers)


def figures(speakers: list, conf: np.ndarray, clips: Clips) -> dict:
    best = np.array(speakers)[conf.argmax(axis=1)]
    top = conf.max(axis=1)
    known = clips.target_label != "unknown"
    return decision_figures(best, top, known, clips.target_voice, clips.target_label)


def decision_figures(best, top, known, voice, label, named=None) -> dict:
    """Table figures from each clip's best match, its confidence and (optionally) the name given."""
    named = np.where(top >= THRESHOLD, best, "unknown") if named is None else named
    candidates = np.unique(np.concatenate([top, [np.inf]]))
    best_open = max(np.mean(np.where(top >= t, best, "unknown") == label) for t in candidates)
    auc, eer = _auc_eer(top[known], top[~known])
    return {"closed": np.mean(best[known] == voice[known]),
            "open": np.mean(named == label), "best_open": best_open,
            "refused": np.mean(named[known] == "unknown"),
            "accepted": np.mean(named[~known] != "unknown"), "auc": auc, "eer": eer,
            "n": f"{known.sum()}/{(~known).sum()}"}


def product_figures(corpus: Path, part: str | None, cache: CacheConfig, work: Path,
                    runs: str, kind: str = "embedding") -> dict:
    """``streamz train`` then ``eval``'s decisions on the set (one run, or two)."""
    model = work / f"model-{kind}-{runs}.npz"
    if not model.exists():
        lists = (["train_files.txt"] if runs == "one"
                 else ["train_phase1_files.txt", "train_phase2_files.txt"])
        for name in lists:
            copy = work / name
            copy.write_text("".join(f"{e.path},{e.label}\n" for e in read_ledger(corpus / name)))
            train(copy, model, TrainConfig(seed=0), cache=cache,
                  feature_config=FeatureConfig(kind=kind))
    voices = {}
    for line in (corpus / "target_speakers.txt").read_text().split():
        path, voice = line.split(",")
        voices[(corpus / path).resolve()] = voice
    target = work / "target.txt"
    target.write_text("".join(f"{e.path},{e.label}\n"
                              for e in read_ledger(corpus / "target_files.txt")
                              if part is None or (voices[Path(e.path).resolve()]
                                                  in DEV_WIDE_TUNED) == (part == "tuned")))
    files = evaluate_list(load_model(model), target, threshold=THRESHOLD,
                          cache=cache).to_dict()["files"]
    label = np.array([f["truth"] if f["known"] else "unknown" for f in files])
    return decision_figures(np.array([f["best"] for f in files]),
                            np.array([f["confidence"] for f in files]), label != "unknown",
                            np.array([voices[Path(f["path"]).resolve()] for f in files]), label,
                            named=np.array([f["speaker"] for f in files]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--cache", type=Path, default=REPO / "build/feature-cache",
                        help="feature cache folder (default: build/feature-cache)")
    parser.add_argument("--mfcc", action="store_true",
                        help="also train and evaluate the MFCC front end (slow)")
    args = parser.parse_args(argv)
    cache = CacheConfig(feature_dir=args.cache, wav_dir=None)
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="streamz-backends-") as tmp:
        for name in args.sets:
            corpus, part = SETS[name]
            if not (corpus / "train_files.txt").exists():
                print(f"skipping {name}: {corpus} not found")
                continue
            clips = load_clips(corpus, part, cache)
            for backend, (rank, tel, centre) in SCORER_BACKENDS.items():
                rows.setdefault(backend, {})[name] = figures(
                    *scorer_confidences(clips, rank, tel, centre), clips)
            rows.setdefault("s-norm", {})[name] = figures(*snorm_confidences(clips), clips)
            rows.setdefault("nearest 2 clips", {})[name] = figures(
                *nearest_confidences(clips), clips)
            work = Path(tmp) / corpus.parent.name / corpus.name
            work.mkdir(parents=True, exist_ok=True)
            for runs in ("one", "two"):
                rows.setdefault(f"streamz, {runs} run{'s' if runs == 'two' else ''}", {})[name] = \
                    product_figures(corpus, part, cache, work, runs)
            if args.mfcc:
                rows.setdefault("streamz, MFCC front end, one run", {})[name] = \
                    product_figures(corpus, part, cache, work, "one", kind="mfcc")
    sets = [s for s in args.sets if any(s in r for r in rows.values())]
    print(f"threshold {THRESHOLD}; cells: closed / open@{THRESHOLD} (best) / refused known / "
          "accepted unknown / AUC / EER")
    print("| back end | " + " | ".join(f"{s} ({next(iter(rows.values()))[s]['n']})"
                                       for s in sets) + " |")
    print("|---" * (len(sets) + 1) + "|")
    for backend, by_set in rows.items():
        cells = [f"{f['closed']:.3f} / {f['open']:.3f} ({f['best_open']:.3f}) / "
                 f"{f['refused']:.2f} / {f['accepted']:.2f} / {f['auc']:.3f} / {f['eer']:.3f}"
                 for f in (by_set[s] for s in sets)]
        print(f"| {backend} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
