"""Which voices of a corpus the diarization models themselves cannot tell apart.

Usage::

    python benchmarks/voice_pairs.py --corpus ../shared/data/dev-wide/diar --cache DIR

For every conversation and every pair of its reference voices, prints the mean cosine
similarity of the central embeddings (the points the clustering sees) within each voice and
between the two, and in how many 10 s chunks the segmentation model gave the two voices
separate local speakers (the only other evidence that they differ). A pair whose
between-voice similarity reaches the lower within-voice one, and that the segmentation never
separates, cannot be split by any clustering of these embeddings. The reference labels are
used only to group the points, never to choose anything. ``--cache`` is shared with
``benchmarks/clustering.py`` (same 1 s step).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from clustering import CORPUS, extract

#: Frames of the segmentation model per 10 s chunk.
FRAMES_PER_SECOND = 58.9
#: A local speaker belongs to a voice when it is active at least this long in the chunk.
MIN_ACTIVE_SECONDS = 1.0


def local_voices(segments, chunk_start: float, activity: np.ndarray) -> list[str | None]:
    """The reference voice most active under each local speaker of one chunk.

    Parameters
    ----------
    segments : list of Segment
        Reference turns of the conversation.
    chunk_start : float
        Seconds.
    activity : ndarray of shape (num_frames, num_local_speakers)

    Returns
    -------
    list of str or None
        None for a local speaker active less than ``MIN_ACTIVE_SECONDS`` or under no voice.
    """
    num_frames = activity.shape[0]
    times = chunk_start + (np.arange(num_frames) + 0.5) * 10.0 / num_frames
    voices = sorted({s.label for s in segments})
    ref = np.zeros((num_frames, len(voices)))
    for s in segments:
        ref[(times >= s.start) & (times < s.end), voices.index(s.label)] = 1.0
    active = activity > 0.5
    overlap = active.T.astype(float) @ ref                      # (local, voice)
    out = []
    for j in range(activity.shape[1]):
        if active[:, j].sum() < MIN_ACTIVE_SECONDS * FRAMES_PER_SECOND or overlap[j].max() == 0:
            out.append(None)
        else:
            out.append(voices[int(overlap[j].argmax())])
    return out


def pair_table(z: dict, segments, step: float) -> list[dict]:
    """Within/between similarities and separations of each voice pair of one conversation."""
    act, central = z["act"], z["central"]
    points, separated = {}, {}
    for c in range(act.shape[0]):
        voices = local_voices(segments, c * step, act[c])
        for j, voice in enumerate(voices):
            if voice is not None and np.all(np.isfinite(central[c, j])):
                points.setdefault(voice, []).append(central[c, j])
        for a, b in itertools.combinations(sorted({v for v in voices if v}), 2):
            separated[a, b] = separated.get((a, b), 0) + 1
    unit = {v: np.array(p) / np.linalg.norm(p, axis=1, keepdims=True) for v, p in points.items()
            if len(p) >= 2}
    rows = []
    for a, b in itertools.combinations(sorted(unit), 2):
        within = [float(np.mean(unit[v] @ unit[v].T)) for v in (a, b)]
        rows.append({"pair": (a, b), "within": min(within),
                     "between": float(np.mean(unit[a] @ unit[b].T)),
                     "separated": separated.get((a, b), 0)})
    return rows


def main(argv=None):
    from streamz_speaker.diarization.rttm import read_rttm
    from streamz_speaker.diarization.scoring import read_uem

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=CORPUS)
    p.add_argument("--cache", type=Path, required=True)
    p.add_argument("--all", action="store_true", help="every pair, not only the closest ones")
    args = p.parse_args(argv)
    ref, uem = read_rttm(args.corpus / "all.rttm"), read_uem(args.corpus / "all.uem")
    data = extract(args.cache, list(uem), 1.0, args.corpus)
    print("| file | voices | within (lower) | between | between - within | chunks separated |")
    print("|---|---|---|---|---|---|")
    for uri, z in data.items():
        for row in pair_table(z, ref[uri], 1.0):
            margin = row["between"] - row["within"]
            if args.all or margin > -0.15:
                print(f"| {uri} | {' / '.join(row['pair'])} | {row['within']:.3f} | "
                      f"{row['between']:.3f} | {margin:+.3f} | {row['separated']} |")


if __name__ == "__main__":
    main()
