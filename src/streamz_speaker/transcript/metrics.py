"""Word diarization error rate (WDER) and how well cues are split at speaker changes."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .model import UNKNOWN


def map_speakers(reference: Sequence[str], hypothesis: Sequence[str]) -> dict[str, str]:
    """The one-to-one mapping of hypothesis labels to reference speakers that agrees on the
    most words (``"unknown"`` is never mapped).

    Parameters
    ----------
    reference, hypothesis : sequence of str, shape (num_words,)

    Returns
    -------
    dict of str to str
        Hypothesis label -> reference speaker, for the labels that map to one.
    """
    ref = sorted(set(reference))
    hyp = sorted(set(hypothesis) - {UNKNOWN})
    if not ref or not hyp:
        return {}
    counts = np.zeros((len(hyp), len(ref)))
    r_index = {r: j for j, r in enumerate(ref)}
    h_index = {h: i for i, h in enumerate(hyp)}
    for r, h in zip(reference, hypothesis):
        if h in h_index:
            counts[h_index[h], r_index[r]] += 1
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return {hyp[i]: ref[j] for i, j in zip(rows, cols) if counts[i, j] > 0}


def word_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> np.ndarray:
    """Which words have the wrong speaker after the best one-to-one mapping.

    Returns
    -------
    ndarray of shape (num_words,), bool
        True where the word's (mapped) hypothesis speaker is not its reference speaker; a
        word labelled ``"unknown"`` or with an unmapped label is wrong.
    """
    if len(reference) != len(hypothesis):
        raise ValueError(f"{len(reference)} reference words but {len(hypothesis)} hypothesis "
                         "words")
    mapping = map_speakers(reference, hypothesis)
    return np.array([mapping.get(h) != r for r, h in zip(reference, hypothesis)], dtype=bool)


def wder(reference: Sequence[str], hypothesis: Sequence[str], mask=None) -> float:
    """Word diarization error rate: the share of words whose speaker is wrong.

    Parameters
    ----------
    reference, hypothesis : sequence of str, shape (num_words,)
        Speaker of each word.
    mask : array-like of bool, shape (num_words,), optional
        Count only these words (e.g. those spoken while nobody else speaks); the mapping is
        still made on all words.

    Returns
    -------
    float
        NaN when no word counts.
    """
    wrong = word_errors(reference, hypothesis)
    if mask is not None:
        wrong = wrong[np.asarray(mask, dtype=bool)]
    return float(wrong.mean()) if wrong.size else float("nan")


def split_scores(reference: set, hypothesis: set) -> tuple[float, float]:
    """Precision and recall of cue splits: the word boundaries (cue, word) where a cue was
    split, against those where its reference speaker changes (NaN where undefined)."""
    hit = len(reference & hypothesis)
    precision = hit / len(hypothesis) if hypothesis else float("nan")
    recall = hit / len(reference) if reference else float("nan")
    return precision, recall
