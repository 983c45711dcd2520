"""Do the speakers of the real-voice set sound apart? CAM++ similarity within and between them.

Usage::

    python scripts/make_real_voices.py            # builds build/real-voices first
    python scripts/real_voice_pairs.py [--corpus build/real-voices] [--top 12] [--margin 0.15]
                                       [--json FILE]

For every clip of each part (train and target clips of ``<part>/manifest.json``) the
project's CAM++ embedder gives unit embeddings of 1.5 s windows (0.75 s hop); their mean,
renormalised, is the clip's embedding. Per part the script prints each speaker's mean cosine
similarity within speaker (over pairs of its clips) and the closest other speaker, then the
closest speaker pairs: mean cosine between their clips, the gap to the lower of the two
within-speaker means, and how many of each speaker's clips lie nearer the other speaker's
centroid than their own (leave-one-out). A pair is flagged when the gap is below --margin:
the two may be one actor voicing two roles. Last, the closest pairs across the two parts
(they must be different people: the parts are meant to be speaker-disjoint), e.g. an actor of
the English cast who is also in the Spanish one.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

from streamz_speaker.core.audio import load_audio
from streamz_speaker.speaker_id.speaker_embedding import load_embedder

WINDOW_SECONDS, HOP_SECONDS = 1.5, 0.75


def clip_embeddings(part: Path, embedder) -> dict[str, np.ndarray]:
    """Speaker -> (n_clips, dim) unit clip embeddings of one part."""
    clips = json.loads((part / "manifest.json").read_text())["clips"]
    out: dict[str, list] = {}
    for clip in clips:
        y = load_audio(part / clip["path"])
        windows = embedder.embed_windows(y, window_seconds=WINDOW_SECONDS,
                                         hop_seconds=HOP_SECONDS)
        e = windows.mean(axis=0)
        out.setdefault(clip["speaker"], []).append(e / np.linalg.norm(e))
    return {s: np.stack(v) for s, v in sorted(out.items())}


def within(e: np.ndarray) -> float:
    """Mean cosine over pairs of distinct clips."""
    s = e @ e.T
    n = len(e)
    return float((s.sum() - np.trace(s)) / (n * (n - 1)))


def nearer_other(ea: np.ndarray, eb: np.ndarray) -> int:
    """Clips of A nearer B's centroid than A's own leave-one-out centroid."""
    cb = eb.mean(axis=0)
    cb /= np.linalg.norm(cb)
    count = 0
    for i in range(len(ea)):
        ca = np.delete(ea, i, axis=0).mean(axis=0)
        ca /= np.linalg.norm(ca)
        count += int(ea[i] @ cb > ea[i] @ ca)
    return count


def pair_rows(emb_a: dict, emb_b: dict, wsim: dict, same_part: bool) -> list[dict]:
    """One row per speaker pair, closest first."""
    if same_part:
        pairs = itertools.combinations(emb_a, 2)
    else:
        pairs = itertools.product(emb_a, emb_b)
    rows = []
    for a, b in pairs:
        ea, eb = emb_a[a], emb_b[b]
        between = float((ea @ eb.T).mean())
        rows.append({"a": a, "b": b, "between": round(between, 3),
                     "within_a": round(wsim[a], 3), "within_b": round(wsim[b], 3),
                     "gap": round(min(wsim[a], wsim[b]) - between, 3),
                     "a_nearer_b": f"{nearer_other(ea, eb)}/{len(ea)}",
                     "b_nearer_a": f"{nearer_other(eb, ea)}/{len(eb)}"})
    return sorted(rows, key=lambda r: r["gap"])


def print_pairs(title: str, rows: list[dict], top: int, margin: float) -> None:
    print(f"\n{title}\n")
    print("| speaker A | speaker B | between | within A | within B | gap | A nearer B | "
          "B nearer A | flag |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows[:top]:
        flag = "CLOSE" if r["gap"] < margin else ""
        print(f"| {r['a']} | {r['b']} | {r['between']:.3f} | {r['within_a']:.3f} | "
              f"{r['within_b']:.3f} | {r['gap']:.3f} | {r['a_nearer_b']} | {r['b_nearer_a']} | "
              f"{flag} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=REPO / "build" / "real-voices")
    ap.add_argument("--top", type=int, default=12, help="pairs printed per table")
    ap.add_argument("--margin", type=float, default=0.15,
                    help="flag a pair when min(within) - between is below this")
    ap.add_argument("--json", type=Path, help="also write all figures here")
    args = ap.parse_args(argv)
    parts = [p for p in ("tune", "report") if (args.corpus / p / "manifest.json").exists()]
    if not parts:
        print(f"no parts under {args.corpus}: run scripts/make_real_voices.py first",
              file=sys.stderr)
        return 2
    embedder = load_embedder()
    emb, wsim, result = {}, {}, {"margin": args.margin, "parts": {}}
    for part in parts:
        emb[part] = clip_embeddings(args.corpus / part, embedder)
        wsim[part] = {s: within(e) for s, e in emb[part].items()}
        rows = pair_rows(emb[part], emb[part], wsim[part], True)
        print(f"\n## {part}: {len(emb[part])} speakers, "
              f"{sum(len(e) for e in emb[part].values())} clips\n")
        print("| speaker | clips | within | closest other | between | gap |")
        print("|---|---|---|---|---|---|")
        for s in emb[part]:
            r = min((r for r in rows if s in (r["a"], r["b"])), key=lambda r: r["gap"])
            other = r["b"] if r["a"] == s else r["a"]
            print(f"| {s} | {len(emb[part][s])} | {wsim[part][s]:.3f} | {other} | "
                  f"{r['between']:.3f} | {wsim[part][s] - r['between']:.3f} |")
        print_pairs(f"Closest pairs in {part} (gap = lower within - between; flag: gap < "
                    f"{args.margin})", rows, args.top, args.margin)
        result["parts"][part] = {"within": {s: round(v, 3) for s, v in wsim[part].items()},
                                 "pairs": rows}
    if len(parts) == 2:
        a, b = parts
        rows = pair_rows(emb[a], emb[b], {**wsim[a], **wsim[b]}, False)
        print_pairs(f"Closest pairs across parts ({a} x {b}; the parts should share no "
                    "person)", rows, args.top, args.margin)
        result["across"] = rows
    flagged = [(p, r["a"], r["b"]) for p in parts for r in result["parts"][p]["pairs"]
               if r["gap"] < args.margin]
    flagged += [("across", r["a"], r["b"]) for r in result.get("across", [])
                if r["gap"] < args.margin]
    print(f"\nflagged pairs (gap < {args.margin}): "
          + (", ".join(f"{a}~{b} ({p})" for p, a, b in flagged) or "none"))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
