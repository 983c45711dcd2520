"""Accuracy of a speaker model on a labelled list: closed-set and open-set figures."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import LedgerError
from .identification import UNKNOWN, Identification


@dataclass
class EvalReport:
    """Evaluation figures; ``to_dict`` gives the JSON form."""

    threshold: float
    n_files: int
    n_known: int
    n_unknown: int
    accuracy: float | None            # closed-set: best speaker == truth, known files
    open_set_accuracy: float | None   # decision at the threshold, "unknown" counted right
    unknown_rejection: float | None   # share of unknown-speaker files rejected
    known_false_rejection: float | None
    auc: float | None                 # known vs unknown, scored by confidence
    eer: float | None                 # equal error rate of the same scores
    per_speaker: dict = field(default_factory=dict)   # name -> precision, recall, support
    confusion_labels: list = field(default_factory=list)
    confusion: list = field(default_factory=list)     # rows truth, columns decision
    failures: list = field(default_factory=list)      # (path, message) per failed file
    learned_files: list = field(default_factory=list)  # evaluated files the model learned

    def to_dict(self, path=str) -> dict:
        """The JSON form; ``path`` writes each file path (default ``str``)."""
        out = dict(self.__dict__)
        out["failures"] = [{"path": path(p), "error": m} for p, m in self.failures]
        out["learned_files"] = [path(p) for p in self.learned_files]
        return out


def evaluate(results: list[Identification], truths: list[str], speakers: list[str], *,
             threshold: float, failures=()) -> EvalReport:
    """Score identifications against true labels.

    Parameters
    ----------
    results : list of Identification
    truths : list of str
        True label of each result; a label the model does not know (``unknown`` in the
        dev-corpus lists) marks an unknown speaker.
    speakers : list of str
        The model's speakers.
    threshold : float
        Confidence below which a file is called unknown.
    """
    known_set = set(speakers)
    is_known = np.array([t in known_set for t in truths], bool)
    conf = np.array([r.confidence for r in results], float)
    best = [r.best for r in results]
    decided = [r.best if r.confidence >= threshold else UNKNOWN for r in results]
    truths_open = [t if t in known_set else UNKNOWN for t in truths]

    def mean(mask_values):
        return float(np.mean(mask_values)) if len(mask_values) else None

    known_idx = np.flatnonzero(is_known)
    unknown_idx = np.flatnonzero(~is_known)
    per_speaker = {}
    for s in speakers:
        predicted = [i for i in known_idx if best[i] == s]
        actual = [i for i in known_idx if truths[i] == s]
        if not predicted and not actual:
            continue
        hits = sum(truths[i] == s for i in predicted)
        per_speaker[s] = {"precision": hits / len(predicted) if predicted else None,
                          "recall": hits / len(actual) if actual else None,
                          "support": len(actual)}
    labels = [s for s in speakers if s in set(truths) | set(decided)] + [UNKNOWN]
    index = {s: i for i, s in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), int)
    for t, d in zip(truths_open, decided):
        confusion[index[t], index[d]] += 1
    auc, eer = _auc_eer(conf[known_idx], conf[unknown_idx])
    return EvalReport(
        threshold=threshold, n_files=len(results), n_known=len(known_idx),
        n_unknown=len(unknown_idx),
        accuracy=mean([best[i] == truths[i] for i in known_idx]),
        open_set_accuracy=mean([d == t for d, t in zip(decided, truths_open)]),
        unknown_rejection=mean([decided[i] == UNKNOWN for i in unknown_idx]),
        known_false_rejection=mean([decided[i] == UNKNOWN for i in known_idx]),
        auc=auc, eer=eer, per_speaker=per_speaker, confusion_labels=labels,
        confusion=confusion.tolist(), failures=list(failures))


def _auc_eer(known: np.ndarray, unknown: np.ndarray) -> tuple[float | None, float | None]:
    """ROC AUC (ties count half) and equal error rate of known-vs-unknown scores."""
    if len(known) == 0 or len(unknown) == 0:
        return None, None
    greater = (known[:, None] > unknown[None, :]).mean()
    ties = (known[:, None] == unknown[None, :]).mean()
    thresholds = np.unique(np.concatenate([known, unknown, [np.inf]]))
    frr = np.array([(known < t).mean() for t in thresholds])
    far = np.array([(unknown >= t).mean() for t in thresholds])
    i = int(np.argmin(np.abs(frr - far)))
    return float(greater + 0.5 * ties), float((frr[i] + far[i]) / 2)


def evaluate_list(model, list_path, *, threshold: float, cache=None, hook=None) -> EvalReport:
    """Identify every labelled file of a list and score the decisions.

    The report's ``learned_files`` lists the evaluated files whose audio the model was
    trained on: their figures say little about new audio.

    Raises
    ------
    LedgerError
        If the list is unreadable or has no labelled line.
    """
    from .extraction import CacheConfig
    from .identification import identify_files
    from .ledger import read_ledger

    entries = [e for e in read_ledger(list_path, allow_empty=False) if e.label is not None]
    if not entries:
        raise LedgerError(f"{list_path}: no labelled files to evaluate (lines: path,label)")
    results, failures = identify_files(model, [e.path for e in entries], threshold=threshold,
                                       cache=cache or CacheConfig(), hook=hook)
    truth = {e.path: e.label for e in entries}
    report = evaluate(results, [truth[r.path] for r in results], model.speakers,
                      threshold=threshold, failures=failures)
    report.learned_files = [r.path for r in results if r.sha256 in model.learned]
    return report


def evaluate_split(list_path, fraction: float, *, threshold: float, seed: int = 0,
                   cache=None, hook=None, train_config=None) -> EvalReport:
    """Hold out ``fraction`` of each speaker's labelled files, train on the rest, score.

    Nothing the user has is written: the temporary model and lists live in a temporary
    folder.
    """
    import tempfile
    from pathlib import Path

    from .extraction import CacheConfig
    from .ledger import read_ledger
    from .persistence import load_model
    from .training import TrainConfig, train

    entries = [e for e in read_ledger(list_path, allow_empty=False) if e.label is not None]
    rng = np.random.default_rng(seed)
    held_out, kept = [], []
    for label in sorted({e.label for e in entries}):
        mine = [e for e in entries if e.label == label]
        order = rng.permutation(len(mine))
        n_test = int(round(fraction * len(mine))) if len(mine) > 1 else 0
        held_out += [mine[i] for i in order[:n_test]]
        kept += [mine[i] for i in order[n_test:]]
    if not held_out or not kept:
        raise LedgerError(f"{list_path}: too few labelled files to hold out {fraction:.0%}")
    with tempfile.TemporaryDirectory(prefix="streamz-eval-") as tmp:
        train_list, test_list = Path(tmp) / "train.txt", Path(tmp) / "test.txt"
        train_list.write_text("".join(f"{e.path},{e.label}\n" for e in kept), encoding="utf-8")
        test_list.write_text("".join(f"{e.path},{e.label}\n" for e in held_out), encoding="utf-8")
        report = train(train_list, Path(tmp) / "model.npz", train_config or TrainConfig(seed=seed),
                       cache=cache or CacheConfig(), hook=hook)
        result = evaluate_list(load_model(report.model_path), test_list, threshold=threshold,
                               cache=cache, hook=hook)
        result.failures += report.failures
        return result
