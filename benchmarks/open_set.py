"""Open-set speaker ID on dev-wide, by part: tuned-on voices apart from held-out ones.

Usage: python benchmarks/open_set.py [--corpus ../shared/data/dev-wide/id]
                                     [--features embedding mfcc] [--seed 0]
                                     [--cache DIR] [--plain] [--eval-json FILE ...]

Trains a model on train_files.txt (one run) and on train_phase1 then train_phase2 (two
runs), scores target_files.txt as ``streamz eval`` does, and prints one table per front
end. Rows are the parts of the target list: "tuned" (spk01-spk14 and the unknown voice
unk01, on which this project chose its scorer settings), "held out" (spk15-spk18 and the
unknown voice unk02, never looked at while choosing) and "all". Columns: closed-set
accuracy, known-vs-unknown AUC, EER, minDCF (p_target 0.01), and open-set accuracy at the
default threshold 0.8. --plain scores as the plain baseline does: cosine to speaker
centroids of the clean file embeddings, no nuisance projection, no channel copies (the
threshold is still learned). With --eval-json, the same table for saved
``streamz eval --json`` outputs instead (e.g. of an older commit).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from streamz_speaker.speaker_id.evaluation import _auc_eer, detection_figures, evaluate_list
from streamz_speaker.speaker_id.extraction import CacheConfig
from streamz_speaker.core.config import FeatureConfig
from streamz_speaker.speaker_id.ledger import read_ledger
from streamz_speaker.speaker_id.persistence import load_model
from streamz_speaker.speaker_id.training import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
TUNED = {f"spk{i:02d}" for i in range(1, 15)} | {"unk01"}
THRESHOLD = 0.8


def absolute_list(src: Path, dst: Path) -> Path:
    dst.write_text("".join(f"{e.path}" + (f",{e.label}" if e.label else "") + "\n"
                           for e in read_ledger(src)))
    return dst


def true_voices(corpus: Path) -> dict:
    """File name -> true voice (unknown ones as unk01/unk02)."""
    out = {}
    for line in (corpus / "target_speakers.txt").read_text().split():
        path, voice = line.split(",")
        out[Path(path).name] = voice
    return out


def part_figures(files: list[dict], voices: dict) -> dict:
    """Figures of each part from per-file results (``streamz eval --json`` ``files``)."""
    out = {}
    for part in ("tuned", "held out", "all"):
        chosen = [f for f in files if part == "all"
                  or (voices[Path(f["path"]).name] in TUNED) == (part == "tuned")]
        known = [f for f in chosen if f["known"]]
        unknown = [f for f in chosen if not f["known"]]
        kc = np.array([f["confidence"] for f in known])
        uc = np.array([f["confidence"] for f in unknown])
        auc, eer = _auc_eer(kc, uc)
        right = [f["speaker"] == (f["truth"] if f["known"] else "unknown") for f in chosen]
        out[part] = {"n_known": len(known), "n_unknown": len(unknown),
                     "accuracy": np.mean([f["best"] == f["truth"] for f in known]),
                     "auc": auc, "eer": eer,
                     "min_dcf": detection_figures(kc, uc)["min_dcf"],
                     "open_set_accuracy": float(np.mean(right))}
    return out


def print_table(title: str, figures: dict) -> None:
    print(f"\n{title}\n")
    print("| part | known / unknown files | closed-set acc | AUC | EER | minDCF (0.01) | "
          f"open-set acc @ {THRESHOLD} |")
    print("|---|---|---|---|---|---|---|")
    for part, f in figures.items():
        print(f"| {part} | {f['n_known']} / {f['n_unknown']} | {f['accuracy']:.3f} | "
              f"{f['auc']:.3f} | {f['eer']:.3f} | {f['min_dcf']:.3f} | "
              f"{f['open_set_accuracy']:.3f} |")


def run(corpus: Path, kind: str, seed: int, cache: CacheConfig, work: Path) -> dict:
    features = FeatureConfig(kind=kind)
    cfg = TrainConfig(seed=seed)
    target = absolute_list(corpus / "target_files.txt", work / "target.txt")
    one = absolute_list(corpus / "train_files.txt", work / "train.txt")
    train(one, work / f"{kind}-one.npz", cfg, cache=cache, feature_config=features)
    p1 = absolute_list(corpus / "train_phase1_files.txt", work / "p1.txt")
    p2 = absolute_list(corpus / "train_phase2_files.txt", work / "p2.txt")
    train(p1, work / f"{kind}-two.npz", cfg, cache=cache, feature_config=features)
    train(p2, work / f"{kind}-two.npz", cfg, cache=cache)
    out = {}
    for runs in ("one", "two"):
        report = evaluate_list(load_model(work / f"{kind}-{runs}.npz"), target,
                               threshold=THRESHOLD, cache=cache)
        out[runs] = report.to_dict()["files"]
    return out


def plain_scoring() -> None:
    """Make every model score by plain cosine to centroids (no projection, no copies)."""
    from streamz_speaker.speaker_id import open_set

    fit = open_set.fit_scorer
    for kind in open_set.NUISANCE_RANK:
        open_set.NUISANCE_RANK[kind] = 0
    open_set.fit_scorer = lambda profiles, labels, speakers, **kw: fit(
        profiles, labels, speakers, rank=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared/data/dev-wide/id")
    ap.add_argument("--features", nargs="+", default=["embedding", "mfcc"],
                    choices=["embedding", "mfcc"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=None,
                    help="Feature and WAV cache folder to reuse (default: a temporary one).")
    ap.add_argument("--eval-json", type=Path, nargs="+", default=None)
    ap.add_argument("--plain", action="store_true")
    args = ap.parse_args()
    if args.plain:
        plain_scoring()
    voices = true_voices(args.corpus)
    if args.eval_json:
        for path in args.eval_json:
            print_table(str(path), part_figures(json.loads(path.read_text())["files"], voices))
        return
    with tempfile.TemporaryDirectory(prefix="streamz-open-set-") as tmp:
        root = args.cache or Path(tmp)
        cache = CacheConfig(feature_dir=root / "feat", wav_dir=root / "wav")
        for kind in args.features:
            files = run(args.corpus, kind, args.seed, cache, Path(tmp))
            print_table(f"{kind}, one run on train_files.txt (seed {args.seed})",
                        part_figures(files["one"], voices))
            print_table(f"{kind}, train_phase1 then train_phase2 (seed {args.seed})",
                        part_figures(files["two"], voices))


if __name__ == "__main__":
    main()
