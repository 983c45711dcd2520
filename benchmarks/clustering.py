"""Sweep the clustering stage on a corpus (segmentation + embeddings cached once).

Usage::

    python benchmarks/clustering.py --cache /tmp/streamz-clustering-cache
    python benchmarks/clustering.py --corpus ../shared/data/dev-wide/diar --halves \
        --cache /tmp/wide --grid neighbour_seconds=4,6,8,10 count_threshold=0.5,0.75
    python benchmarks/clustering.py --cache DIR --grid method=vbx ahc_threshold=0.5,0.6 fb=0.8,3
    python benchmarks/clustering.py --cache DIR-fast --step 2   # the --fast geometry

Each run prints DER (collar 0, overlap scored, all.uem) and the number of files whose
speaker count is right, for the corpus and, with ``--halves``, for its odd- and
even-numbered files apart (dev-wide: tune on the odd half, report the even half). Only the clustering stage changes between rows; segmentation and
CAM++ embeddings come from ``streamz_speaker.diarization`` (the bundled models) and are cached as
``<uri>.npz`` in ``--cache``. Nothing is fitted on the reference labels: they are only used
to score.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CORPUS = DATA / "dev-corpus" / "diar"

VBX_KEYS = {"fa", "fb", "max_iters", "init_smoothing"}
BINARIZE_KEYS = {"onset", "offset", "min_duration_on", "min_duration_off", "pad_onset",
                 "pad_offset"}
PIPELINE_KEYS = {"count_threshold", "centre_weighted", "exclusive"}


def extract(cache: Path, uris: list[str], step: float, corpus: Path = CORPUS) -> dict[str, dict]:
    from streamz_speaker.core.audio import load_audio
    from streamz_speaker.diarization import embedding
    from streamz_speaker.diarization import pipeline
    from streamz_speaker.diarization import powerset
    from streamz_speaker.diarization import segmentation
    from streamz_speaker.diarization.config import SegmentationConfig

    cache.mkdir(parents=True, exist_ok=True)
    out, models = {}, None
    for uri in uris:
        path = cache / f"{uri}.npz"
        if not path.exists():
            models = models or pipeline.load_models()
            t = time.perf_counter()
            y = load_audio(next(p for p in corpus.glob(f"{uri}.*") if p.suffix not in (".rttm", ".uem")))
            act = powerset.to_multilabel(segmentation.run(models.segmentation, y,
                                                          SegmentationConfig(step)))
            emb, central = embedding.run(models.embedding, models.head, y, act,
                                         step_seconds=step)
            np.savez(path, act=act, emb=emb, central=central, n=len(y), step=step)
            print(f"# extracted {uri} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        with np.load(path) as z:
            out[uri] = {k: z[k] for k in z.files}
        if float(out[uri].get("step", 1.0)) != step or "central" not in out[uri]:
            raise SystemExit(f"{path} was extracted with step {out[uri]['step']} (or before "
                             f"central embeddings), not {step}: use another --cache folder")
    return out


def evaluate(data: dict[str, dict], config, ref, uem) -> tuple[float, int, list[int], dict]:
    from streamz_speaker.diarization.pipeline import from_embeddings
    from streamz_speaker.diarization.scoring import score

    hyp, found = {}, []
    for uri, z in data.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = from_embeddings(z["act"], z["emb"], z["central"], config=config, uri=uri,
                                     duration=int(z["n"]) / 16_000)
        hyp[uri] = list(result.segments)
        found.append(result.num_speakers)
    per_file, total = score({u: ref[u] for u in data}, hyp, uem={u: uem[u] for u in data})
    right = sum(f == len({s.label for s in ref[u]}) for f, u in zip(found, data))
    return total.der, right, found, per_file


def main(argv=None):
    from streamz_speaker.diarization.config import (BinarizeConfig, ClusteringConfig,
                                                    DiarizationConfig, SegmentationConfig, VbxConfig)
    from streamz_speaker.diarization.rttm import read_rttm
    from streamz_speaker.diarization.scoring import read_uem

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, required=True)
    p.add_argument("--grid", nargs="*", default=[],
                   help="key=v1,v2 over ClusteringConfig fields, VBx fa/fb/..., binarize "
                   "settings (min_duration_on/off, pad_onset/offset) and count_threshold, "
                   "centre_weighted (0/1)")
    p.add_argument("--per-file", action="store_true")
    p.add_argument("--step", type=float, default=1.0, help="segmentation step (2 = --fast)")
    p.add_argument("--corpus", type=Path, default=CORPUS)
    p.add_argument("--halves", action="store_true", help="odd- and even-numbered files apart")
    args = p.parse_args(argv)
    ref, uem = read_rttm(args.corpus / "all.rttm"), read_uem(args.corpus / "all.uem")
    data = extract(args.cache, list(uem), args.step, args.corpus)
    parts = {"all": list(data)}
    if args.halves:
        parts.update({name: [u for u in data if int(u[-2:]) % 2 == parity]
                      for name, parity in (("odd", 1), ("even", 0))})
    keys, values = [], []
    for item in args.grid:
        key, _, vals = item.partition("=")
        keys.append(key)
        values.append([_parse(v) for v in vals.split(",")])
    for combo in itertools.product(*values) if keys else [()]:
        settings = dict(zip(keys, combo))
        pick = lambda names: {k: v for k, v in settings.items() if k in names}  # noqa: E731
        config = DiarizationConfig(
            segmentation=SegmentationConfig(args.step),
            binarize=BinarizeConfig(**pick(BINARIZE_KEYS)),
            clustering=ClusteringConfig(vbx=VbxConfig(**pick(VBX_KEYS)), **{
                k: v for k, v in settings.items()
                if k not in VBX_KEYS | BINARIZE_KEYS | PIPELINE_KEYS}),
            **pick(PIPELINE_KEYS))
        label = " ".join(f"{k}={v}" for k, v in settings.items()) or "defaults"
        for part, uris in parts.items():
            der, right, found, scored = evaluate({u: data[u] for u in uris}, config, ref, uem)
            if part == "all":
                per_file = scored
            print(f"{label:44s} {part:4s} DER {100 * der:6.2f}%  right count "
                  f"{right}/{len(uris)}  {found}", flush=True)
        if args.per_file:
            for uri, r in per_file.items():
                print(f"    {uri} DER {100 * r.der:6.2f}  miss {100 * r.missed / r.total:5.2f}"
                      f"  fa {100 * r.false_alarm / r.total:5.2f}"
                      f"  conf {100 * r.confusion / r.total:5.2f}")


def _parse(v: str):
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return None if v == "None" else v


if __name__ == "__main__":
    main()
