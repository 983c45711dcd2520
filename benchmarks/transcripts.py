"""Who said what: word diarization error rate (WDER) of labelled transcripts.

Builds word-level test transcripts from each conversation's reference RTTM (words placed
inside reference speech, times jittered as a recogniser's are, grouped into Whisper-like
segments by length and pauses, so that many segments span speaker changes), diarizes the
audio with the current pipeline (hypothesis RTTMs cached in ``--cache``: reruns are cheap),
and compares ways of giving the words speakers:

- ``glue``: one speaker per Whisper segment, the one who talks most during it (the usual
  glue script);
- ``plain``: each word to the speaker who talks most during it, no fill, no splitting
  (the plain word-level recipe; a word nobody overlaps has no speaker);
- ``streamz``: ``label_transcript`` (the same, plus the nearest speaker within
  ``gap_seconds`` for words in gaps, and splits);
- without word times, on the same segments with their words dropped (``seg-*``) and on
  subtitle cues as a person makes them, one speaker each (``sub-*``): ``*-whole`` (each
  cue its majority speaker), ``*-spread`` (words spread by characters, split at every
  change) and ``streamz-segs``/``streamz-subs`` (``label_transcript``: split only where the
  change is clear).

WDER is reported over single-speaker words (spoken while no other reference speaker
speaks) and over all words, after the best one-to-one mapping of labels per file; split
precision/recall (P, R) count the word boundaries where a segment was split against those
where its reference speaker changes (R1: recall of the changes between two words each
spoken alone). dev-wide's odd-numbered conversations are the tuning half,
the even-numbered ones the reporting half.

Usage::

    python benchmarks/transcripts.py                       # the table
    python benchmarks/transcripts.py --tune                # + the grids the defaults come from
    python benchmarks/transcripts.py --oracle              # reference RTTM as the diarization
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from streamz_speaker.diarization.rttm import read_rttm
from streamz_speaker.transcript import (UNKNOWN, AssignConfig, format_transcript,
                                        label_transcript, map_speakers, parse_transcript,
                                        word_errors)
from streamz_speaker.transcript.assign import _tracks, distances, overlaps

REPO = Path(__file__).resolve().parents[1]
CORPORA = [REPO.parent / "shared" / "data" / "dev-wide" / "diar", REPO / "build" / "real-check"]
AUDIO_SUFFIXES = (".flac", ".wav", ".mp3", ".ogg")


# -- test transcripts -------------------------------------------------------------------------

def build_words(segments, rng, *, drift_share=0.05, drift=0.4):
    """Words of a conversation from its reference turns.

    Returns a list of dicts ``{start, end, true_start, true_end, speaker, single}`` sorted by
    (jittered) start: each turn is filled with words of 2-9 letters at about 2.7 words per
    second; ``single`` is True when no other speaker talks during the word. Word times are
    jittered: starts a little early, ends a little late, and ``drift_share`` of the words
    moved by up to ``drift`` seconds.
    """
    words = []
    for seg in segments:
        n = max(1, int(round(seg.duration / 0.37)))
        weights = rng.integers(2, 10, n) + 1.0
        edges = seg.start + seg.duration * np.concatenate([[0], np.cumsum(weights)]) / weights.sum()
        for a, b in zip(edges[:-1], edges[1:]):
            inner = min(0.06, 0.3 * (b - a))
            words.append({"true_start": a, "true_end": b - inner, "speaker": seg.label,
                          "letters": int(round((b - a) / (edges[-1] - edges[0]) * weights.sum()))})
    tracks = _tracks(segments)
    starts = np.array([w["true_start"] for w in words])
    ends = np.array([w["true_end"] for w in words])
    talk = overlaps(starts, ends, tracks)
    for i, w in enumerate(words):
        others = [k for k, label in enumerate(tracks.labels) if label != w["speaker"]]
        w["single"] = bool(not others or talk[i, others].max() <= 0)
        # a recogniser's word times: a little early at the start, late at the end, and now and
        # then off by a few hundred milliseconds
        s = w["true_start"] + rng.normal(-0.03, 0.07)
        e = w["true_end"] + rng.normal(0.03, 0.08)
        if rng.random() < drift_share:
            shift = rng.uniform(-drift, drift)
            s, e = s + shift, e + shift
        w["start"], w["end"] = max(s, 0.0), max(e, s + 0.02, 0.02)
    words.sort(key=lambda w: w["start"])
    for prev, w in zip(words, words[1:]):      # recognisers give words in order, not overlapping
        w["start"] = max(w["start"], prev["start"])
        prev["end"] = min(prev["end"], max(w["start"], prev["start"] + 0.02))
        w["end"] = max(w["end"], w["start"] + 0.02)
    return words


def group_segments(words, rng, *, pause=1.2, shortest=3.0, longest=12.0, speakers=False):
    """Whisper-like segments: a new one after a pause of ``pause`` s or when it would pass a
    length drawn between ``shortest`` and ``longest`` s; speakers play no part (unless
    ``speakers``: then also at every change of speaker)."""
    groups, limit = [], rng.uniform(shortest, longest)
    for w in words:
        if (not groups or w["start"] - groups[-1][-1]["end"] >= pause
                or w["end"] - groups[-1][0]["start"] > limit
                or speakers and w["speaker"] != groups[-1][-1]["speaker"]):
            groups.append([w])
            limit = rng.uniform(shortest, longest)
        else:
            groups[-1].append(w)
    return groups


def subtitle_cues(words, rng, *, shortest=2.0, longest=6.0):
    """Cues as a person writes subtitles: a new cue at every change of speaker, after a pause
    of 1 s, or past a length drawn between ``shortest`` and ``longest`` s (``whisper_doc``
    with ``true_times`` gives them a person's times: the words' true times, +- 0.1 s)."""
    groups = group_segments(words, rng, pause=1.0, shortest=shortest, longest=longest,
                            speakers=True)
    return groups


def whisper_doc(groups, *, with_words=True, true_times=None) -> dict:
    """The groups as a Whisper result (``segments`` with ``words``, or without); segment
    times from the recogniser's word times, or (``true_times``: a rng) from the words' true
    times, give or take 0.1 s, as a person aligns subtitles."""
    segments = []
    for i, g in enumerate(groups):
        texts = [f" w{w['index']}" for w in g]
        start, end = g[0]["start"], g[-1]["end"]
        if true_times is not None:
            start = max(g[0]["true_start"] + true_times.normal(0, 0.1), 0.0)
            end = max(g[-1]["true_end"] + true_times.normal(0, 0.1), start)
            if segments:
                start = max(start, segments[-1]["end"])
                end = max(end, start)
        seg = {"id": i, "start": round(start, 3), "end": round(end, 3),
               "text": "".join(texts)}
        if with_words:
            seg["words"] = [{"word": t, "start": round(w["start"], 3), "end": round(w["end"], 3)}
                            for t, w in zip(texts, g)]
        segments.append(seg)
    return {"text": "".join(s["text"] for s in segments), "segments": segments}


# -- methods ------------------------------------------------------------------------------

def glue(doc, hyp, config):
    """One speaker per segment: who talks most during it."""
    tracks = _tracks(hyp)
    labels = []
    for seg in doc["segments"]:
        n = len(seg["text"].split())
        if not tracks.labels:
            labels += [UNKNOWN] * n
            continue
        talk = overlaps(np.array([seg["start"]]), np.array([seg["end"]]), tracks)[0]
        labels += [tracks.labels[int(talk.argmax())] if talk.max() > 0 else UNKNOWN] * n
    return labels, set()


def plain(doc, hyp, config):
    """Each word to the speaker who talks most during it; no fill, no splits."""
    tracks = _tracks(hyp)
    words = [w for s in doc["segments"] for w in s["words"]]
    if not tracks.labels:
        return [UNKNOWN] * len(words), set()
    talk = overlaps(np.array([w["start"] for w in words]), np.array([w["end"] for w in words]),
                    tracks)
    return [tracks.labels[int(k)] if t > 0 else UNKNOWN
            for k, t in zip(talk.argmax(axis=1), talk.max(axis=1))], set()


def streamz(doc, hyp, config):
    """``label_transcript``: word labels and the splits it made."""
    labelled = label_transcript(parse_transcript(doc), hyp, config=config)
    return ([w.speaker for w in labelled.words],
            {(c.origin, c.first) for c in labelled.cues if c.first > 0})


METHODS = {  # name -> (function, test transcript, config change)
    "glue": (glue, "words", {}),
    "plain": (plain, "words", {}),
    "streamz": (streamz, "words", {}),
    "seg-whole": (streamz, "segments", {"cue_min_words": 10 ** 6}),
    "seg-spread": (streamz, "segments", {"cue_min_words": 1, "cue_min_share": 0.0}),
    "streamz-segs": (streamz, "segments", {}),
    "sub-whole": (streamz, "subtitles", {"cue_min_words": 10 ** 6}),
    "sub-spread": (streamz, "subtitles", {"cue_min_words": 1, "cue_min_share": 0.0}),
    "streamz-subs": (streamz, "subtitles", {}),
}


# -- corpora --------------------------------------------------------------------------------

def conversations(corpus: Path):
    """``(uri, audio path, reference turns)`` of each conversation with a reference RTTM."""
    out = []
    for rttm in sorted(corpus.glob("*.rttm")):
        if rttm.stem == "all":
            continue
        audio = next((rttm.with_suffix(s) for s in AUDIO_SUFFIXES
                      if rttm.with_suffix(s).exists()), None)
        if audio is not None:
            out.append((rttm.stem, audio, read_rttm(rttm).get(rttm.stem, [])))
    return out


def hypotheses(corpus: Path, convs, cache: Path):
    """Hypothesis turns per uri, diarizing (``streamz diarize -o``) the files not cached;
    and the diarization seconds of each file (from the folder's manifest)."""
    folder = cache / f"hyp-{corpus.name if corpus.name != 'diar' else corpus.parent.name}"
    missing = [str(a) for uri, a, _ in convs if not (folder / f"{uri}.rttm").exists()]
    if missing:
        print(f"diarizing {len(missing)} files of {corpus} into {folder} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "streamz_speaker", "-q", "diarize", *missing,
                        "-o", str(folder)], check=True)
    seconds = {}
    for line in (folder / "manifest.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("status") == "done" and "seconds" in record:
            seconds[record["uri"]] = record["seconds"]
    hyps = {uri: read_rttm(folder / f"{uri}.rttm").get(uri, []) for uri, _, _ in convs}
    return hyps, seconds


def half_of(corpus: Path, uri: str) -> str:
    if corpus.parent.name == "dev-wide":
        return "dev-wide odd (tuning)" if int(uri[-2:]) % 2 else "dev-wide even (report)"
    return corpus.name


# -- scoring --------------------------------------------------------------------------------

class Tally:
    """Errors and counts over files: WDER (single-speaker words, all words), split P/R."""

    def __init__(self):
        self.wrong_single = self.single = self.wrong_all = self.all = 0
        self.hit = self.hyp_splits = self.ref_splits = self.hit_alone = self.ref_alone = 0

    def add(self, ref_labels, single, hyp_labels, ref_splits, hyp_splits, alone=frozenset()):
        wrong = word_errors(ref_labels, hyp_labels)
        single = np.asarray(single)
        self.wrong_single += int(wrong[single].sum())
        self.single += int(single.sum())
        self.wrong_all += int(wrong.sum())
        self.all += wrong.size
        self.hit += len(ref_splits & hyp_splits)
        self.hyp_splits += len(hyp_splits)
        self.ref_splits += len(ref_splits)
        self.hit_alone += len(alone & hyp_splits)
        self.ref_alone += len(alone)

    def row(self, splits: bool) -> str:
        ws = 100 * self.wrong_single / max(self.single, 1)
        wa = 100 * self.wrong_all / max(self.all, 1)
        cells = f"{ws:6.2f} {wa:6.2f}"
        if splits:
            p = 100 * self.hit / self.hyp_splits if self.hyp_splits else float("nan")
            r = 100 * self.hit / self.ref_splits if self.ref_splits else float("nan")
            r1 = 100 * self.hit_alone / self.ref_alone if self.ref_alone else float("nan")
            cells += f" {p:5.1f} {r:5.1f} {r1:5.1f}"
        else:
            cells += f" {'-':>5} {'-':>5} {'-':>5}"
        return cells


def evaluate(items, config: AssignConfig, methods):
    """Tally per (half, method) over the prepared files."""
    tallies = {}
    for half, words, hyp, tests in items:
        ref = [w["speaker"] for w in words]
        single = [w["single"] for w in words]
        for name in methods:
            fn, test, change = METHODS[name]
            groups, doc = tests[test]
            ref_splits = {(i, k) for i, g in enumerate(groups) for k in range(1, len(g))
                          if g[k]["speaker"] != g[k - 1]["speaker"]}
            alone = {(i, k) for i, k in ref_splits
                     if groups[i][k]["single"] and groups[i][k - 1]["single"]}
            labels, splits = fn(doc, hyp, replace(config, **change))
            tallies.setdefault((half, name), Tally()).add(ref, single, labels, ref_splits,
                                                           splits, alone)
    return tallies


def prepare(corpora, cache: Path, seed: int, oracle: bool = False):
    items, diarize_seconds = [], {}
    for corpus in corpora:
        convs = conversations(corpus)
        if not convs:
            continue
        if oracle:
            hyps, seconds = {uri: ref for uri, _, ref in convs}, {}
        else:
            hyps, seconds = hypotheses(corpus, convs, cache)
        for uri, audio, ref in convs:
            rng = np.random.default_rng([seed, int.from_bytes(uri.encode()[-4:], "big")])
            words = build_words(ref, rng)
            for i, w in enumerate(words):
                w["index"] = i
            groups = group_segments(words, rng)
            cues = subtitle_cues(words, rng)
            tests = {"words": (groups, whisper_doc(groups)),
                     "segments": (groups, whisper_doc(groups, with_words=False)),
                     "subtitles": (cues, whisper_doc(cues, with_words=False, true_times=rng))}
            items.append((half_of(corpus, uri), words, hyps[uri], tests))
            diarize_seconds[(half_of(corpus, uri), uri)] = seconds.get(uri)
    return items, diarize_seconds


def table(tallies, methods) -> str:
    halves = list(dict.fromkeys(h for h, _ in tallies))
    lines = [f"{'half':24s} {'method':13s} {'WDER1%':>6} {'WDER%':>6} {'P%':>5} {'R%':>5} "
             f"{'R1%':>5}"]
    for half in halves:
        for name in methods:
            t = tallies[(half, name)]
            lines.append(f"{half:24s} {name:13s} {t.row(METHODS[name][0] is streamz)}")
    return "\n".join(lines)


def gap_table(corpus: Path, cache: Path, seed: int) -> str:
    """How often the nearest speaker is right for a word in a gap, by distance (odd half).

    Words that overlap no hypothesis turn are rare in the test transcripts, so here 30% of
    the words drift by up to 2 s (a recogniser's timestamps drifting into pauses), and, as a
    second source of gaps, one hypothesis turn at a time is left out (a turn the diarizer
    missed): the words in it that now overlap nobody take the nearest remaining speaker.
    """
    convs = [c for c in conversations(corpus) if int(c[0][-2:]) % 2]
    hyps, _ = hypotheses(corpus, convs, cache)
    bins = [0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, np.inf]
    tables = {"drifted words": np.zeros((2, len(bins) - 1)),
              "missed turns": np.zeros((2, len(bins) - 1))}

    def tally(name, d, ok):
        k = np.digitize(d, bins) - 1
        np.add.at(tables[name][0], k, ok)
        np.add.at(tables[name][1], k, 1)

    for uri, _, ref_turns in convs:
        hyp = hyps[uri]
        if not hyp:
            continue
        rng = np.random.default_rng([seed, 1, int.from_bytes(uri.encode()[-4:], "big")])
        words = build_words(ref_turns, rng, drift_share=0.3, drift=2.0)
        s = np.array([w["start"] for w in words])
        e = np.array([w["end"] for w in words])
        ref = np.array([w["speaker"] for w in words])
        tracks = _tracks(hyp)
        talk = overlaps(s, e, tracks)
        labels = [tracks.labels[k] if t > 0 else UNKNOWN
                  for k, t in zip(talk.argmax(axis=1), talk.max(axis=1))]
        mapping = map_speakers(list(ref), labels)
        silent = np.flatnonzero(talk.max(axis=1) <= 0)
        d = distances(s[silent], e[silent], tracks)
        tally("drifted words", d.min(axis=1),
              [mapping.get(tracks.labels[j]) == ref[i] for i, j in zip(silent, d.argmin(axis=1))])
        for t, turn in enumerate(hyp):
            rest = _tracks([x for u, x in enumerate(hyp) if u != t])
            inside = np.flatnonzero((s < turn.end) & (e > turn.start))
            if not rest.labels or not inside.size:
                continue
            inside = inside[overlaps(s[inside], e[inside], rest).max(axis=1) <= 0]
            if inside.size:
                d = distances(s[inside], e[inside], rest)
                tally("missed turns", d.min(axis=1),
                      [mapping.get(rest.labels[j]) == ref[i]
                       for i, j in zip(inside, d.argmin(axis=1))])
    lines = ["gap words (dev-wide odd): distance to the nearest speaker -> how often that "
             "speaker is right"]
    for name, (right, total) in tables.items():
        lines.append(f"  {name}:")
        for a, b, r, n in zip(bins[:-1], bins[1:], right, total):
            lines.append(f"    {a:4.2f}-{b:4.2f} s  {int(n):5d} words  "
                         + (f"{100 * r / n:5.1f}% right" if n else "    -"))
    return "\n".join(lines)


def smoothed(labelled, longest: int) -> list[str]:
    """Word labels after folding runs of at most ``longest`` words that lie between two runs
    of one speaker, inside one input segment, into that speaker (a variant not adopted)."""
    from streamz_speaker.transcript.assign import _runs

    out = []
    for origin in dict.fromkeys(c.origin for c in labelled.cues):
        labels = [w.speaker for c in labelled.cues if c.origin == origin for w in c.words]
        runs = _runs(labels)
        for j in range(1, len(runs) - 1):
            if runs[j][2] - runs[j][1] <= longest and runs[j - 1][0] == runs[j + 1][0]:
                labels[runs[j][1]:runs[j][2]] = [runs[j - 1][0]] * (runs[j][2] - runs[j][1])
        out += labels
    return out


def tune(items, config) -> str:
    """WDER of cue-time-only labelling on the tuning half over the clear-change grid, and of
    smoothing word-timed labels."""
    odd = [it for it in items if it[0].startswith("dev-wide odd")]
    lines = ["word times, dev-wide odd: WDER1% WDER% after folding interior runs of at most "
             "N words (0: none, the default)"]
    for longest in (0, 1, 2, 3):
        tally = Tally()
        for half, words, hyp, tests in odd:
            labelled = label_transcript(parse_transcript(tests["words"][1]), hyp, config=config)
            tally.add([w["speaker"] for w in words], [w["single"] for w in words],
                      smoothed(labelled, longest), set(), set())
        lines.append(f"  N={longest}  {tally.row(False)[:13]}")
    lines += ["cue times only, dev-wide odd, (cue_min_words, cue_min_seconds, cue_min_share): "
             "WDER1% WDER% P% R% R1% of Whisper segments without words | of subtitle cues"]
    for words_ in (1, 2, 3, 4, 5, 6):
        for seconds in (0.0, 1.0, 1.5):
            for share in (0.0, 0.7):
                t = evaluate(odd, replace(config, cue_min_words=words_, cue_min_share=share,
                                          cue_min_seconds=seconds),
                             ["streamz-segs", "streamz-subs"])
                rows = [t[k].row(True) for k in sorted(t, key=lambda k: k[1] != "streamz-segs")]
                lines.append(f"  {words_:2d} {seconds:3.1f} {share:4.2f}  {rows[0]} | {rows[1]}")
    return "\n".join(lines)


def speed(items, diarize_seconds) -> str:
    """Transcript handling (parse a JSON text, label, write JSON) against diarization, on
    dev-wide (both halves)."""
    items = [it for it in items if it[0].startswith("dev-wide")]
    diarize_seconds = {k: v for k, v in diarize_seconds.items() if k[0].startswith("dev-wide")}
    spent = 0.0
    for half, words, hyp, tests in items:
        text = json.dumps(tests["words"][1])
        t0 = time.perf_counter()
        labelled = label_transcript(parse_transcript(json.loads(text)), hyp)
        format_transcript(labelled)
        spent += time.perf_counter() - t0
    diarized = sum(s for s in diarize_seconds.values() if s)
    n_words = sum(len(it[1]) for it in items)
    return (f"transcript handling on dev-wide: {spent:.3f} s for {len(items)} files "
            f"({n_words} words); their diarization {diarized:.1f} s: "
            f"{100 * spent / max(diarized, 1e-9):.3f}%")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, action="append",
                    help="folders of audio + reference RTTM (default: dev-wide/diar and "
                         "build/real-check when present)")
    ap.add_argument("--cache", type=Path, default=REPO / "build" / "transcript-bench",
                    help="hypothesis RTTMs, one folder per corpus")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tune", action="store_true", help="also the tuning grids (odd half)")
    ap.add_argument("--oracle", action="store_true",
                    help="the reference RTTM in place of the diarization (word-time errors only)")
    args = ap.parse_args()
    corpora = [c for c in (args.corpus or CORPORA) if c.is_dir()]
    items, diarize_seconds = prepare(corpora, args.cache, args.seed, args.oracle)
    config = AssignConfig()
    groups = [g for it in items for g in it[3]["words"][0]]
    span = sum(any(g[k]["speaker"] != g[k - 1]["speaker"] for k in range(1, len(g)))
               for g in groups)
    print(f"{len(items)} conversations, {sum(len(it[1]) for it in items)} words, "
          f"{len(groups)} Whisper-like segments ({span} span a speaker change), "
          f"{sum(len(it[3]['subtitles'][0]) for it in items)} subtitle cues; {config}")
    print(table(evaluate(items, config, list(METHODS)), list(METHODS)))
    if not args.oracle:
        print(speed(items, diarize_seconds))
    if args.tune and not args.oracle:
        print(gap_table(CORPORA[0], args.cache, args.seed))
        print(tune(items, config))


if __name__ == "__main__":
    main()
