"""Accuracy of a speaker model on a labelled list: closed-set and open-set figures."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.errors import LedgerError
from .identification import UNKNOWN, Identification
from ..core.bootstrap import BootstrapConfig, Sample, rounded


#: Prior of a known speaker in the minimum detection cost (NIST SRE style, costs 1 and 1).
P_TARGET = 0.01

#: Headline figures of an evaluation, each with whether higher is better.
FIGURES = {"accuracy": True, "open_set_accuracy": True, "unknown_rejection": True,
           "known_false_rejection": False, "auc": True, "eer": False}


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
    min_dcf: float | None = None      # normalised minimum detection cost, p_target P_TARGET
    target_far: float = 0.01          # false-accept rate asked for (--target-far)
    far_threshold: float | None = None  # lowest confidence threshold keeping FAR <= target_far
    far_achieved: float | None = None   # unknown files accepted at that threshold
    frr_at_far: float | None = None     # known files rejected at that threshold
    per_speaker: dict = field(default_factory=dict)   # name -> precision, recall, support
    confusion_labels: list = field(default_factory=list)
    confusion: list = field(default_factory=list)     # rows truth, columns decision
    failures: list = field(default_factory=list)      # (path, message) per failed file
    learned_files: list = field(default_factory=list)  # evaluated files the model learned
    intervals: dict = field(default_factory=dict)     # figure -> (low, high) or None
    bootstrap: dict = field(default_factory=dict)     # how the intervals were drawn
    files: list = field(default_factory=list)         # per-file results, see evaluate()

    def to_dict(self, path=str) -> dict:
        """The JSON form; ``path`` writes each file path (default ``str``).

        Intervals of the headline figures are under ``intervals``, those of each speaker's
        precision and recall beside them (``precision_interval``, ``recall_interval``).
        """
        out = {"command": "eval", **self.__dict__}
        out["failures"] = [{"path": path(p), "error": m} for p, m in self.failures]
        out["learned_files"] = [path(p) for p in self.learned_files]
        out["files"] = [{**f, "path": path(f["path"])} for f in self.files]
        out["intervals"] = {name: rounded(self.intervals.get(name)) for name in FIGURES}
        out["per_speaker"] = {
            name: {**figures, **{f"{key}_interval": rounded(self.intervals.get(f"{key}/{name}"))
                                 for key in ("precision", "recall")}}
            for name, figures in self.per_speaker.items()}
        return out


def evaluate(results: list[Identification], truths: list[str], speakers: list[str], *,
             threshold: float, failures=(), bootstrap: BootstrapConfig = BootstrapConfig(),
             target_far: float = 0.01) -> EvalReport:
    """Score identifications against true labels, with bootstrap intervals.

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
    failures : list of (path, message)
        Files that could not be identified, passed on to the report.
    bootstrap : BootstrapConfig
        Intervals resample speakers, then each drawn speaker's files (see :func:`sample`).
    target_far : float
        False-accept rate (share of unknown-speaker files given a name) for which the
        report gives the threshold (``far_threshold``) and the known files it rejects.

    Returns
    -------
    EvalReport
        Its ``files`` hold one dict per result: ``path``, ``sha256``, ``truth``, ``known``
        (truth is a model speaker), ``best``, ``confidence``, ``speaker`` (the decision at
        the threshold, :meth:`Identification.decision`) and ``scores`` (confidence in every
        model speaker).
    """
    known_set = set(speakers)
    files = [{"path": r.path, "sha256": r.sha256, "truth": t, "known": t in known_set,
              "best": r.best, "confidence": r.confidence,
              "speaker": r.decision(speakers, threshold),
              "scores": {s: round(float(p), 4) for s, p in zip(speakers, r.proba)}}
             for r, t in zip(results, truths)]
    units = sample(files, speakers)
    figures = units.figures()
    n_known = sum(f["known"] for f in files)
    per_speaker = {s: {"precision": figures[f"precision/{s}"], "recall": figures[f"recall/{s}"],
                       "support": sum(f["truth"] == s for f in files)}
                   for s in speakers if f"recall/{s}" in figures}
    labels = [s for s in speakers if any(s in (f["truth"], f["speaker"]) for f in files)]
    labels.append(UNKNOWN)
    index = {s: i for i, s in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), int)
    for f in files:
        confusion[index[f["truth"] if f["known"] else UNKNOWN], index[f["speaker"]]] += 1
    return EvalReport(
        threshold=threshold, n_files=len(files), n_known=n_known,
        n_unknown=len(files) - n_known, **{name: figures[name] for name in FIGURES},
        per_speaker=per_speaker, confusion_labels=labels, confusion=confusion.tolist(),
        failures=list(failures), files=files, bootstrap=bootstrap.to_dict(),
        intervals=units.intervals(bootstrap),
        **detection_figures(np.array([f["confidence"] for f in files if f["known"]]),
                            np.array([f["confidence"] for f in files if not f["known"]]),
                            target_far=target_far))


def detection_figures(known: np.ndarray, unknown: np.ndarray, *, target_far: float = 0.01,
                      p_target: float = P_TARGET) -> dict:
    """Minimum detection cost and the threshold for a false-accept rate.

    A file is accepted (named) when its confidence reaches the threshold; a false accept
    is an unknown-speaker file accepted, a false reject a known-speaker file not accepted.

    Parameters
    ----------
    known, unknown : ndarray of shape (n,)
        Confidences of known- and unknown-speaker files.
    target_far : float
        Highest false-accept rate wanted.
    p_target : float
        Prior of a known speaker in the detection cost.

    Returns
    -------
    dict
        ``min_dcf``: ``min over t of (P_miss(t) p + P_fa(t) (1 - p)) / min(p, 1 - p)``;
        ``far_threshold``: the lowest confidence (among those observed) whose false-accept
        rate is at most ``target_far`` (None when only rejecting every file gets there),
        ``far_achieved`` and ``frr_at_far`` there; ``target_far``. None without both kinds.
    """
    out = {"target_far": float(target_far), "min_dcf": None, "far_threshold": None,
           "far_achieved": None, "frr_at_far": None}
    if len(known) == 0 or len(unknown) == 0:
        return out
    candidates = np.unique(np.concatenate([known, unknown, [np.inf]]))
    p_miss = np.array([(known < t).mean() for t in candidates])
    p_fa = np.array([(unknown >= t).mean() for t in candidates])
    cost = (p_miss * p_target + p_fa * (1 - p_target)) / min(p_target, 1 - p_target)
    out["min_dcf"] = float(cost.min())
    ok = np.flatnonzero(p_fa <= target_far)[0]        # candidates ascend: lowest such t
    t = candidates[ok]                                 # inf: only rejecting every file
    out.update(far_threshold=float(t) if np.isfinite(t) else None,
               far_achieved=float(p_fa[ok]), frr_at_far=float(p_miss[ok]))
    return out


def sample(files: list[dict], speakers=None) -> Sample:
    """The files of an evaluation as bootstrap units.

    Files of one known speaker form a cluster (speakers are resampled, then their files);
    files of unknown speakers are a stratum of their own, clustered by label, except that
    files labelled ``unknown`` are each their own cluster (nothing says who spoke them).

    Parameters
    ----------
    files : list of dict
        Per-file results as in :attr:`EvalReport.files` (``truth``, ``known``, ``best``,
        ``confidence``, ``speaker``; ``sha256`` keys the files for pairing).
    speakers : list of str, optional
        Speakers whose precision and recall are figures too (default: every speaker that
        is a known file's truth or best match).

    Returns
    -------
    Sample
        Its statistic gives the :data:`FIGURES` and ``precision/NAME``, ``recall/NAME``.
    """
    known = np.array([bool(f["known"]) for f in files], bool)
    decided = np.array([f["speaker"] for f in files], dtype=str)
    confidence = np.array([float(f["confidence"]) for f in files], float)
    present = {f[key] for f in files if f["known"] for key in ("truth", "best")}
    speakers = [s for s in (speakers if speakers is not None else sorted(present))
                if s in present]
    # speakers as codes (len(speakers): a speaker outside the list) for bincount
    code = {s: i for i, s in enumerate(speakers)}
    truth = np.array([code.get(f["truth"], len(code)) for f in files], int)
    best = np.array([code.get(f["best"], len(code)) for f in files], int)
    truth_open = np.where(known, np.array([f["truth"] for f in files], dtype=str), UNKNOWN)

    def statistic(idx: np.ndarray) -> dict:
        k, u = idx[known[idx]], idx[~known[idx]]
        out = {"accuracy": _mean(best[k] == truth[k]),
               "open_set_accuracy": _mean(decided[idx] == truth_open[idx]),
               "unknown_rejection": _mean(decided[u] == UNKNOWN),
               "known_false_rejection": _mean(decided[k] == UNKNOWN)}
        out["auc"], out["eer"] = _auc_eer(confidence[k], confidence[u])
        n = len(speakers) + 1
        hits = np.bincount(truth[k][best[k] == truth[k]], minlength=n)
        predicted, actual = np.bincount(best[k], minlength=n), np.bincount(truth[k], minlength=n)
        for s, i in code.items():
            out[f"precision/{s}"] = _ratio(int(hits[i]), int(predicted[i]))
            out[f"recall/{s}"] = _ratio(int(hits[i]), int(actual[i]))
        return out

    clusters = [f["truth"] if f["known"] or f["truth"] != UNKNOWN else ("file", i)
                for i, f in enumerate(files)]
    return Sample(keys=[f["sha256"] for f in files], statistic=statistic, clusters=clusters,
                  strata=known.tolist())


def sample_from_dict(data: dict) -> Sample:
    """:func:`sample` of a saved ``streamz eval --json`` run (the JSON form of a report)."""
    return sample(data["files"])


def _mean(values: np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _auc_eer(known: np.ndarray, unknown: np.ndarray) -> tuple[float | None, float | None]:
    """ROC AUC (ties count half) and equal error rate of known-vs-unknown scores."""
    if len(known) == 0 or len(unknown) == 0:
        return None, None
    greater = (known[:, None] > unknown[None, :]).mean()
    ties = (known[:, None] == unknown[None, :]).mean()
    thresholds = np.unique(np.concatenate([known, unknown, [np.inf]]))
    frr = np.searchsorted(np.sort(known), thresholds, side="left") / len(known)
    far = 1 - np.searchsorted(np.sort(unknown), thresholds, side="left") / len(unknown)
    i = int(np.argmin(np.abs(frr - far)))
    return float(greater + 0.5 * ties), float((frr[i] + far[i]) / 2)


def evaluate_list(model, list_path, *, threshold: float, cache=None, hook=None,
                  bootstrap: BootstrapConfig = BootstrapConfig(), batch=None,
                  target_far: float = 0.01) -> EvalReport:
    """Identify every labelled file of a list and score the decisions (see :func:`evaluate`).

    The report's ``learned_files`` lists the evaluated files whose audio the model was
    trained on: their figures say little about new audio. ``batch`` (a
    :class:`streamz_speaker.core.workers.BatchConfig`) says where the features are computed.

    Raises
    ------
    LedgerError
        If the list is unreadable or has no labelled line.
    """
    from ..core.workers import BatchConfig
    from .extraction import CacheConfig
    from .identification import identify_files
    from .ledger import read_ledger

    entries = [e for e in read_ledger(list_path, allow_empty=False) if e.label is not None]
    if not entries:
        raise LedgerError(f"{list_path}: no labelled files to evaluate (lines: path,label)")
    results, failures = identify_files(model, [e.path for e in entries], threshold=threshold,
                                       cache=cache or CacheConfig(), hook=hook,
                                       batch=batch or BatchConfig())
    truth = {e.path: e.label for e in entries}
    report = evaluate(results, [truth[r.path] for r in results], model.speakers,
                      threshold=threshold, failures=failures, bootstrap=bootstrap,
                      target_far=target_far)
    report.learned_files = [r.path for r in results if r.sha256 in model.learned]
    return report


def evaluate_split(list_path, fraction: float, *, threshold: float, seed: int = 0,
                   cache=None, hook=None, train_config=None,
                   bootstrap: BootstrapConfig = BootstrapConfig(), batch=None,
                   target_far: float = 0.01) -> EvalReport:
    """Hold out ``fraction`` of each speaker's labelled files, train on the rest, score.

    Nothing the user has is written: the temporary model and lists live in a temporary
    folder. ``batch`` says where the features are computed, as for :func:`evaluate_list`.
    """
    import tempfile
    from pathlib import Path

    from ..core.workers import BatchConfig
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
                       cache=cache or CacheConfig(), hook=hook, batch=batch or BatchConfig())
        result = evaluate_list(load_model(report.model_path), test_list, threshold=threshold,
                               cache=cache, hook=hook, bootstrap=bootstrap, batch=batch,
                               target_far=target_far)
        result.failures += report.failures
        return result
