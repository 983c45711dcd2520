"""Speaker-ID benchmark on the dev corpus: accuracy, incremental learning and speed.

Usage: python benchmarks/speaker_id.py [--corpus ../shared/data/dev-corpus/id] [--seeds 0 1 2]
                                       [--features embedding mfcc]

Prints a table: closed-set accuracy and known-vs-unknown AUC on target_files.txt after (a) one
training run on train_files.txt and (b) two runs, train_phase1 then train_phase2; then
seconds per hour of audio for feature extraction, training and identification, with cold and
warm caches; one column per feature front end.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from streamz_speaker.core.config import FeatureConfig
from streamz_speaker.speaker_id.evaluation import evaluate_list
from streamz_speaker.speaker_id.extraction import CacheConfig
from streamz_speaker.speaker_id.identification import identify_files
from streamz_speaker.speaker_id.ledger import read_ledger
from streamz_speaker.speaker_id.persistence import load_model
from streamz_speaker.speaker_id.training import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]


def absolute_list(src: Path, dst: Path) -> Path:
    lines = [f"{e.path}" + (f",{e.label}" if e.label else "") for e in read_ledger(src)]
    dst.write_text("\n".join(lines) + "\n")
    return dst


def audio_hours(paths) -> float:
    return sum(sf.info(str(p)).duration for p in paths) / 3600


def calibration_fit(model) -> tuple[float, float]:
    """Unregularised logistic slope of P(same | cosine) on the leave-one-out training trials,
    and the threshold the model learned (the constant DEFAULT_SLOPE comes from the first)."""
    from sklearn.linear_model import LogisticRegression

    X, y = model.profile_X.astype(np.float64), model.profile_y
    scores, same = [], []
    for i, (x, label) in enumerate(zip(X, y)):
        for speaker in np.unique(y):
            others = X[(y == speaker) & (np.arange(len(y)) != i)]
            if len(others):
                c = others.sum(0)
                scores.append(float(x @ c / np.linalg.norm(c)))
                same.append(speaker == label)
    lr = LogisticRegression(C=1e6, class_weight="balanced").fit(np.array(scores)[:, None], same)
    return float(lr.coef_[0, 0]), model.scorer().threshold


def run(corpus: Path, seed: int, work: Path, kind: str) -> dict:
    cache = CacheConfig(feature_dir=work / "features", wav_dir=work / "wav")
    cfg = TrainConfig(seed=seed)
    features = FeatureConfig(kind=kind)
    out = {}
    # (a) one run on everything, cold caches then warm
    one = absolute_list(corpus / "train_files.txt", work / "train.txt")
    t = time.perf_counter()
    train(one, work / "one.npz", cfg, cache=cache, feature_config=features)
    out["train_cold_s"] = time.perf_counter() - t
    t = time.perf_counter()
    train(one, work / "one_warm.npz", cfg, cache=cache, feature_config=features)
    out["train_warm_s"] = time.perf_counter() - t
    target = absolute_list(corpus / "target_files.txt", work / "target.txt")
    model = load_model(work / "one.npz")
    if kind == "embedding":
        out["calibration_slope"], out["calibration_threshold"] = calibration_fit(model)
    rep = evaluate_list(model, target, threshold=0.8, cache=cache)
    out["acc_one"], out["auc_one"] = rep.accuracy, rep.auc
    # (b) two phases
    p1 = absolute_list(corpus / "train_phase1_files.txt", work / "p1.txt")
    p2 = absolute_list(corpus / "train_phase2_files.txt", work / "p2.txt")
    train(p1, work / "two.npz", cfg, cache=cache, feature_config=features)
    train(p2, work / "two.npz", cfg, cache=cache)
    rep = evaluate_list(load_model(work / "two.npz"), target, threshold=0.8, cache=cache)
    out["acc_two"], out["auc_two"] = rep.accuracy, rep.auc
    # feature extraction alone (with the training copies), cold and with a warm cache
    from streamz_speaker.speaker_id.extraction import FeatureExtractor

    train_paths = [e.path for e in read_ledger(one)]
    for name, c in (("features_cold_s", CacheConfig(work / "fx", work / "wx")),
                    ("features_warm_s", CacheConfig(work / "fx", work / "wx"))):
        extractor = FeatureExtractor.for_config(features, c)
        t = time.perf_counter()
        for p in train_paths:
            extractor.features(p, augment_seed=seed)
        out[name] = time.perf_counter() - t
    # identification speed, cold (no caches) and warm
    paths = [e.path for e in read_ledger(target)]
    t = time.perf_counter()
    identify_files(model, paths, threshold=0.8, cache=CacheConfig(None, None))
    out["identify_cold_s"] = time.perf_counter() - t
    t = time.perf_counter()
    identify_files(model, paths, threshold=0.8, cache=cache)
    out["identify_warm_s"] = time.perf_counter() - t
    out["train_hours"] = audio_hours([e.path for e in read_ledger(one)])
    out["target_hours"] = audio_hours(paths)
    return out


ROWS = [
    ("closed-set accuracy, one run", "acc_one", "{:.3f}"),
    ("known-vs-unknown AUC, one run", "auc_one", "{:.3f}"),
    ("closed-set accuracy, phase1 then phase2", "acc_two", "{:.3f}"),
    ("known-vs-unknown AUC, phase1 then phase2", "auc_two", "{:.3f}"),
    ("feature extraction incl. training copies, cold, s per audio hour", "features_cold", "{:.0f}"),
    ("feature extraction, warm cache, s per audio hour", "features_warm", "{:.1f}"),
    ("train, cold caches, s per audio hour", "train_cold", "{:.0f}"),
    ("train, warm feature cache, s per audio hour", "train_warm", "{:.0f}"),
    ("identify, cold (decode + features), s per audio hour", "identify_cold", "{:.0f}"),
    ("identify, warm feature cache, s per audio hour", "identify_warm", "{:.0f}"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared/data/dev-corpus/id")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--features", nargs="+", default=["embedding", "mfcc"],
                    choices=["embedding", "mfcc"])
    args = ap.parse_args()
    means = {}
    for kind in args.features:
        rows = []
        for seed in args.seeds:
            work = Path(tempfile.mkdtemp(prefix="streamz-bench-"))
            try:
                rows.append(run(args.corpus, seed, work, kind))
            finally:
                shutil.rmtree(work, ignore_errors=True)
            r = rows[-1]
            print(f"{kind} seed {seed}: one run acc {r['acc_one']:.3f} auc {r['auc_one']:.3f} | "
                  f"two runs acc {r['acc_two']:.3f} auc {r['auc_two']:.3f}", flush=True)
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        for name in ("features_cold", "features_warm", "train_cold", "train_warm"):
            mean[name] = mean[f"{name}_s"] / mean["train_hours"]
        for name in ("identify_cold", "identify_warm"):
            mean[name] = mean[f"{name}_s"] / mean["target_hours"]
        means[kind] = mean
    if "embedding" in means:
        print(f"embedding calibration: logistic slope {means['embedding']['calibration_slope']:.1f}, "
              f"learned threshold {means['embedding']['calibration_threshold']:.3f}")
    print()
    print(f"| metric (mean of seeds {' '.join(map(str, args.seeds))}) | "
          + " | ".join(args.features) + " |")
    print("|---|" + "---|" * len(args.features))
    for label, key, fmt in ROWS:
        print(f"| {label} | " + " | ".join(fmt.format(means[k][key]) for k in args.features)
              + " |")


if __name__ == "__main__":
    main()
