"""Incremental training from a file list: learn what is new, enrol new speakers."""

from __future__ import annotations

import datetime as _dt
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..core.fileio import file_lock
from ..core.workers import BatchConfig, without_path
from .classifier import SpeakerClassifier
from ..core.config import FeatureConfig
from ..core.errors import AudioLoadError, ConfigError, FeatureError, StreamzError
from .extraction import CacheConfig, FileFeatures, content_hash, extract_many
from .identification import (SECOND_VOICE_SECONDS, known_voice, second_voice_run,
                             speaker_confidences, verified)
from .open_set import unit_rows
from .ledger import LedgerEntry, read_ledger, remove_lines, write_labels
from .persistence import (FORMAT_VERSION, SpeakerModel, check_model_path, load_model,
                          save_model)
from ..core.provenance import model_info, record_run

#: MFCC models keep at most this many windows of each learned file (and as many of its
#: degraded copies) for the open-set scorer.
PROFILE_WINDOWS = 64


@dataclass(frozen=True)
class TrainConfig:
    threshold: float = 0.8          # min confidence to match an unlabelled file to a speaker
    burn_in_limit: int | None = None  # files learned before the normal rule; None: 20% of the list, 10..50
    max_speakers: int = 100         # no new speaker is created past this many
    epochs: int = 30                # epochs of the first training
    update_epochs: int = 5          # epochs per file learned by a later run (with replay memory)
    hidden_sizes: tuple = (256,)    # classifier hidden layers
    seed: int = 0                   # initialisation, shuffling, dropout and augmentation
    memory_per_speaker: int = 3200  # replayed windows kept per speaker
    retrain: bool = False           # forget the saved model and learn the whole list again
    lock_timeout: float = 0.0       # seconds to wait for another run holding the model

    def __post_init__(self):
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.max_speakers < 1:
            raise ConfigError(f"max_speakers must be >= 1, got {self.max_speakers}")
        if self.epochs < 1 or self.update_epochs < 1:
            raise ConfigError("epochs must be >= 1")
        if self.burn_in_limit is not None and self.burn_in_limit < 0:
            raise ConfigError(f"burn_in_limit must be >= 0, got {self.burn_in_limit}")


@dataclass
class TrainReport:
    """What a training run did."""

    model_path: Path
    learned: list = field(default_factory=list)       # (path, label) of files learned now
    assigned: list = field(default_factory=list)      # (path, label, confidence, is_new)
    new_speakers: list = field(default_factory=list)  # speakers the model did not know
    skipped: int = 0                                  # files already learned
    failures: list = field(default_factory=list)      # (path, message)
    target_list: Path | None = None                   # the evaluation list refreshed
    targets_removed: list = field(default_factory=list)  # its files removed: now learned
    model_info: dict = field(default_factory=dict)    # provenance.model_info, files omitted

    def to_dict(self, path=str) -> dict:
        """The JSON form: each file an object with its ``path``.

        Parameters
        ----------
        path : callable
            Writes each file path (default ``str``).
        """
        return {"model": path(self.model_path),
                "learned": [{"path": path(p), "label": l} for p, l in self.learned],
                "assigned": [{"path": path(p), "label": l, "confidence": round(c, 4), "new": n}
                             for p, l, c, n in self.assigned],
                "new_speakers": self.new_speakers, "skipped": self.skipped,
                "failures": [{"path": path(p), "error": m} for p, m in self.failures],
                "target_list": None if self.target_list is None else path(self.target_list),
                "targets_removed": [path(p) for p in self.targets_removed],
                "model_info": {**self.model_info, "model": path(self.model_path)}}


def train(list_path: os.PathLike | str, model_path: os.PathLike | str, cfg: TrainConfig = TrainConfig(),
          *, feature_config: FeatureConfig | None = None, cache: CacheConfig = CacheConfig(),
          target_list: os.PathLike | str | None = None, hook=None,
          batch: BatchConfig = BatchConfig()) -> TrainReport:
    """Learn the files of a ``path[,label]`` list that the model has not learned yet.

    Labelled files train their speaker (new labels widen the model). Each unlabelled file is
    matched to the best known speaker when its confidence reaches ``cfg.threshold`` (during
    burn-in, halfway between the threshold and 1), otherwise it becomes a new speaker; its
    label is written back into the list. Files that fail are reported and skipped.

    Parameters
    ----------
    list_path : path-like
        The training list.
    model_path : path-like
        The model to update (created when missing).
    cfg : TrainConfig
    feature_config : FeatureConfig, optional
        Features of a new model; an existing model keeps its own.
    cache : CacheConfig
    target_list : path-like, optional
        Evaluation list refreshed after training: its lines whose audio was learned are
        removed, so evaluation stays on unseen audio.
    hook : callable, optional
        ``hook(step, completed=i, total=n)`` progress callback (with a
        :class:`streamz_speaker.core.workers.FileProgress` artifact per file of the features step).
    batch : BatchConfig
        Where features are computed: local worker processes or a dask cluster (the feature
        cache must then be a folder the workers share). This process alone reads the list,
        holds the model's lock and updates the model.

    Returns
    -------
    TrainReport

    Raises
    ------
    LedgerError, LockError, ModelFormatError, StreamzError
    """
    started, clock = _dt.datetime.now(_dt.timezone.utc), time.monotonic()
    model_path = Path(model_path)
    check_model_path(model_path)
    hook = hook or (lambda *a, **k: None)
    # The classifier's matrices are small: one BLAS thread is faster than several fighting.
    lock = model_path.with_name(model_path.name + ".lock")
    with threadpool_limits(limits=1, user_api="blas"), file_lock(lock, timeout=cfg.lock_timeout):
        fresh = cfg.retrain or not model_path.exists()
        entries = read_ledger(list_path, allow_empty=not fresh)  # a new model needs files
        model = None if fresh else load_model(model_path)
        if model is None:
            model = _new_model(cfg, feature_config or FeatureConfig())
        elif feature_config is not None and feature_config.kind != model.feature_config.kind:
            raise ConfigError(f"{model_path}: model uses {model.feature_config.kind} features, "
                              f"not {feature_config.kind}; pass --retrain to start a new model")
        report = TrainReport(model_path=model_path)
        known = set(model.speakers)
        todo, known_unlabelled = _new_entries(entries, model, report, hook)
        features = _extract(todo, model.feature_config, cache, cfg.seed, report, hook, batch)
        trainer = _Trainer(model, cfg, burn_in=_burn_in_limit(cfg, len(entries)), hook=hook)
        labelled = [(e, f) for e, f in features if e.label is not None]
        if labelled:
            report.new_speakers += sorted({e.label for e, _ in labelled} - known)
            trainer.learn_labelled(labelled)
            report.learned += [(e.path, e.label) for e, _ in labelled]
        unlabelled = [(e, f) for e, f in features if e.label is None]
        for i, (entry, feats) in enumerate(unlabelled):
            hook("enrolling", completed=i, total=len(unlabelled))
            try:
                label, confidence, is_new = trainer.learn_unlabelled(feats, refuse_mixed=True)
            except FeatureError as e:
                report.failures.append((entry.path, str(e)))
                continue
            report.learned.append((entry.path, label))
            report.assigned.append((entry.path, label, confidence, is_new))
            if is_new:
                report.new_speakers.append(label)
        hook("enrolling", completed=len(unlabelled), total=len(unlabelled))
        # every unlabelled line whose content is now learned gets its label, including a
        # copy of a file met earlier in the list and a line learned by a run that stopped
        # before writing the list
        labels_to_write = {entry.line: model.learned[sha]
                           for entry, sha in todo + known_unlabelled
                           if entry.label is None and sha in model.learned}
        if features:
            record_run(model, cfg, started=started, list_path=str(Path(list_path).resolve()),
                       seconds=time.monotonic() - clock, learned=len(report.learned),
                       skipped=report.skipped, failures=len(report.failures),
                       new_speakers=report.new_speakers)
            save_model(model, model_path)
            model.format_version = FORMAT_VERSION   # as the file now is
        report.model_info = model_info(model, str(model_path), files=False)
        write_labels(list_path, labels_to_write)
        if target_list is not None and Path(target_list).exists():
            report.target_list = Path(target_list)
            report.targets_removed = drop_learned(target_list, model.learned)
    if not model.speakers:
        raise StreamzError(f"{list_path}: nothing could be learned: every listed file failed "
                           f"({len(report.failures)} of {len(entries)})")
    return report


def _new_model(cfg: TrainConfig, feature_config: FeatureConfig) -> SpeakerModel:
    return SpeakerModel(classifier=SpeakerClassifier(hidden_sizes=tuple(cfg.hidden_sizes),
                                                     max_epochs=cfg.epochs,
                                                     random_state=cfg.seed),
                        feature_config=feature_config)


def learn_voices(model_path: os.PathLike | str, voices, cfg: TrainConfig = TrainConfig(), *,
                 source: str) -> tuple[SpeakerModel, list[tuple[str, float, bool]]]:
    """Learn unlabelled voices given as embeddings, not files (e.g. from a live session).

    Each voice goes through the rule ``train`` applies to an unlabelled file: matched to the
    best known speaker when its confidence reaches ``cfg.threshold`` (that speaker's profile
    and replay memory are refreshed), otherwise a new ``speaker_NNN``; under the same lock,
    with the same bounded replay memory and the same atomic save.

    Parameters
    ----------
    model_path : path-like
        An embedding-feature model (created when missing).
    voices : sequence of ndarray of shape (n_windows, 192)
        CAM++ embeddings of each voice (any scale: rows are length-normalised here).
    cfg : TrainConfig
    source : str
        Recorded in the model's history (e.g. ``"live session 3"``).

    Returns
    -------
    model : SpeakerModel
        The model as saved.
    results : list of (label, confidence, is_new)
        One per voice, in order.

    Raises
    ------
    ConfigError
        If the model uses MFCC features.
    LockError, ModelFormatError
    """
    import hashlib

    started, clock = _dt.datetime.now(_dt.timezone.utc), time.monotonic()
    model_path = Path(model_path)
    check_model_path(model_path)
    lock = model_path.with_name(model_path.name + ".lock")
    with threadpool_limits(limits=1, user_api="blas"), file_lock(lock, timeout=cfg.lock_timeout):
        model = load_model(model_path) if model_path.exists() else \
            _new_model(cfg, FeatureConfig())
        if model.feature_config.kind != "embedding":
            raise ConfigError(f"{model_path}: learning voices needs a model with embedding "
                              f"features, not {model.feature_config.kind}")
        trainer = _Trainer(model, cfg, burn_in=_burn_in_limit(cfg, len(model.learned)),
                           hook=lambda *a, **k: None)
        results = []
        for windows in voices:
            windows = unit_rows(np.asarray(windows, dtype=np.float32))
            sha = hashlib.sha256(windows.tobytes()).hexdigest()
            results.append(trainer.learn_unlabelled(FileFeatures(sha, windows, None)))
        if results:
            record_run(model, cfg, started=started, list_path=source,
                       seconds=time.monotonic() - clock, learned=len(results), skipped=0,
                       failures=0, new_speakers=[label for label, _, new in results if new])
            save_model(model, model_path)
            model.format_version = FORMAT_VERSION   # as the file now is
    return model, results


def _new_entries(entries, model, report, hook):
    """Entries whose content the model has not learned, with their hashes.

    Returns
    -------
    todo : list of (LedgerEntry, sha256)
        The first entry of each content the model has not learned.
    known_unlabelled : list of (LedgerEntry, sha256)
        Unlabelled entries skipped because their content is learned or comes earlier in
        the list.
    """
    todo, seen, known_unlabelled = [], set(), []
    for i, entry in enumerate(entries):
        hook("hashing", completed=i, total=len(entries))
        try:
            sha = content_hash(entry.path)
        except AudioLoadError as e:
            report.failures.append((entry.path, e.problem))
            continue
        if sha in model.learned or sha in seen:
            report.skipped += 1
            if entry.label is None:
                known_unlabelled.append((entry, sha))
            continue
        seen.add(sha)
        todo.append((entry, sha))
    hook("hashing", completed=len(entries), total=len(entries))
    return todo, known_unlabelled


def _extract(todo, feature_config, cache, seed, report, hook, batch
             ) -> list[tuple[LedgerEntry, FileFeatures]]:
    """Features of the new files, in list order; failures reported in list order."""
    out = []
    for (entry, _), outcome in zip(todo, extract_many(
            [entry.path for entry, _ in todo], feature_config, cache,
            hashes=[sha for _, sha in todo], augment_seed=seed, batch=batch, hook=hook)):
        if outcome.ok:
            out.append((entry, outcome.value))
        else:
            report.failures.append((entry.path, without_path(str(outcome.error), entry.path)))
    return out


def _burn_in_limit(cfg: TrainConfig, n_files: int) -> int:
    if cfg.burn_in_limit is not None:
        return cfg.burn_in_limit
    return int(np.clip(round(0.2 * n_files), 10, 50))


class _Trainer:
    """Applies the learning rules to one model (internal to :func:`train`)."""

    def __init__(self, model: SpeakerModel, cfg: TrainConfig, *, burn_in: int, hook):
        self.model, self.cfg, self.burn_in, self.hook = model, cfg, burn_in, hook
        self.clf = model.classifier
        self.rng = np.random.default_rng([cfg.seed, len(model.learned)])

    def learn_labelled(self, items: list[tuple[LedgerEntry, FileFeatures]]) -> None:
        windows = [_training_windows(f) for _, f in items]
        X = np.concatenate(windows)
        y = np.concatenate([np.full(len(w), e.label) for (e, _), w in zip(items, windows)])
        if not self.model.speakers:
            self._first_fit(X, y)
        elif set(y.tolist()) - set(self.model.speakers):
            self._refit(X, y)
        else:
            # update_epochs per new file, as when files arrive one by one, up to a first fit
            self._update(X, y, min(self.cfg.epochs, self.cfg.update_epochs * len(items)))
        for entry, feats in items:
            self._remember(feats, entry.label)

    def learn_unlabelled(self, feats: FileFeatures, *,
                         refuse_mixed: bool = False) -> tuple[str, float, bool]:
        """Match a file to a known speaker or make it a new one, and learn it.

        With ``refuse_mixed``, a file matched to a known speaker in which another voice also
        speaks (:func:`identification.verified`), or about to become a new speaker while a
        known one speaks in it (:func:`identification.known_voice`), raises
        :class:`FeatureError` before anything is learned: a recording of several people is
        not one of them.
        """
        X = _training_windows(feats)
        if not self.model.speakers:
            label = _next_label([])
            self._first_fit(X, np.full(len(X), label))
            self._remember(feats, label)
            return label, 0.0, True
        proba, window_proba = speaker_confidences(self.model, feats.clean)
        best = int(np.argmax(proba))
        confidence = float(proba[best])
        in_burn_in = len(self.model.learned) < self.burn_in
        threshold = (1 + self.cfg.threshold) / 2 if in_burn_in else self.cfg.threshold
        is_new = confidence < threshold and len(self.model.speakers) < self.cfg.max_speakers
        label = _next_label(self.model.speakers) if is_new else self.model.speakers[best]
        run = second_voice_run(self.model.feature_config)
        if refuse_mixed and confidence >= threshold and \
                not verified(confidence, window_proba, best, threshold, run):
            raise FeatureError(f"holds several speakers: it matches {label}, but another voice "
                               f"speaks for {SECOND_VOICE_SECONDS:g} s or more; not learned "
                               "(give it a label, or split it with `streamz diarize`)")
        heard = known_voice(window_proba, threshold, run) if refuse_mixed and is_new else None
        if heard is not None:
            raise FeatureError(f"holds several speakers: {self.model.speakers[heard]} speaks "
                               f"in it for {SECOND_VOICE_SECONDS:g} s or more, yet the whole "
                               "is nobody known; not learned as a new speaker (give it a "
                               "label, or split it with `streamz diarize`)")
        if is_new:
            self._refit(X, np.full(len(X), label))
        else:
            self._update(X, np.full(len(X), label), self.cfg.update_epochs)
        self._remember(feats, label)
        return label, confidence, is_new

    def _first_fit(self, X, y) -> None:
        """``fit`` for ``cfg.epochs`` epochs, as partial_fit calls to report progress."""
        self.clf.set_params(max_epochs=self.cfg.epochs)
        classes = np.unique(y)
        for epoch in range(self.cfg.epochs):
            self.hook("training", completed=epoch, total=self.cfg.epochs)
            self.clf.partial_fit(X, y, classes=classes)
        self.hook("training", completed=self.cfg.epochs, total=self.cfg.epochs)

    def _refit(self, X, y) -> None:
        """New speakers: train the network again, from its initial weights, on the new
        windows and the replay memory of the speakers learned so far, as one run on all the
        files would. Widening the trained network instead left its hidden layer, the MFCC
        scorer's space, shaped by the first speakers (benchmarks/RESULTS.md)."""
        self.clf = self.model.classifier = SpeakerClassifier(**self.clf.get_params())
        self._first_fit(*self._with_memory(X, y))

    def _update(self, X, y, epochs: int) -> None:
        X, y = self._with_memory(X, y)
        for _ in range(epochs):
            self.clf.partial_fit(X, y)

    def _with_memory(self, X, y):
        """New windows and labels followed by the replay memory's."""
        if not len(self.model.memory_y):
            return X, y
        return (np.concatenate([X, self.model.memory_X]),
                np.concatenate([y, self.model.memory_y]))

    def _remember_windows(self, feats: FileFeatures, label: str) -> None:
        """MFCC: keep a sample of the file's clean and degraded windows for the scorer."""
        m = self.model
        i = len(m.profile_y)
        parts, keys = [], []
        for copy, windows in ((0, feats.clean), (1, feats.augmented)):
            if windows is None or not len(windows):
                continue
            if len(windows) > PROFILE_WINDOWS:
                windows = windows[np.sort(self.rng.choice(len(windows), PROFILE_WINDOWS,
                                                          replace=False))]
            parts.append(windows)
            keys.append(np.full(len(windows), 2 * i + copy, np.int32))
        X = np.concatenate(parts)
        m.profile_windows_X = np.vstack([m.profile_windows_X.reshape(-1, X.shape[1]), X])
        m.profile_windows_key = np.concatenate([m.profile_windows_key.astype(np.int32),
                                                np.concatenate(keys)])
        m.profile_y = np.append(m.profile_y.astype(str), label)

    def _remember(self, feats: FileFeatures, label: str) -> None:
        self.model.learned[feats.sha256] = label
        if self.model.feature_config.kind == "embedding":
            m = self.model
            wide = _unit_mean(feats.clean)
            tel = wide if feats.augmented is None else _unit_mean(feats.augmented)
            m.profile_X = np.vstack([m.profile_X.reshape(-1, wide.size), wide[None]])
            m.profile_tel_X = np.vstack([m.profile_tel_X.reshape(-1, tel.size), tel[None]])
            m.profile_y = np.append(m.profile_y.astype(str), label)
        else:
            self._remember_windows(feats, label)
        X = _training_windows(feats)
        mem_X, mem_y = self.model.memory_X, self.model.memory_y
        if mem_X.size == 0:
            mem_X = np.zeros((0, X.shape[1]), np.float32)
        mem_X = np.concatenate([mem_X, X])
        mem_y = np.concatenate([mem_y.astype(str), np.full(len(X), label)])
        keep = np.ones(len(mem_y), bool)
        mine = np.flatnonzero(mem_y == label)
        if mine.size > self.cfg.memory_per_speaker:
            keep[self.rng.choice(mine, mine.size - self.cfg.memory_per_speaker, replace=False)] = False
        self.model.memory_X, self.model.memory_y = mem_X[keep], mem_y[keep]


def _unit_mean(windows: np.ndarray) -> np.ndarray:
    mean = windows.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def _training_windows(feats: FileFeatures) -> np.ndarray:
    if feats.augmented is None:
        return feats.clean
    return np.concatenate([feats.clean, feats.augmented])


def _next_label(existing: list[str]) -> str:
    """Integers continue an integer-labelled model; otherwise ``speaker_NNN``."""
    if all(re.fullmatch(r"\d+", label) for label in existing):
        return str(max((int(label) for label in existing), default=-1) + 1)
    numbers = [int(m.group(1)) for label in existing
               if (m := re.fullmatch(r"speaker_(\d+)", label))]
    return f"speaker_{max(numbers, default=0) + 1:03d}"


def drop_learned(list_path: os.PathLike | str, hashes) -> list[Path]:
    """Remove the lines of a list whose audio content has been learned.

    Parameters
    ----------
    list_path : path-like
        A ``path[,label]`` list, e.g. the evaluation list ``target_files.txt``.
    hashes : container of str
        Content SHA-256 of the learned files (e.g. ``SpeakerModel.learned``).

    Returns
    -------
    list of Path
        The files whose lines were removed, in list order.
    """
    stale = []
    for entry in read_ledger(list_path):
        try:
            if content_hash(entry.path) in hashes:
                stale.append(entry)
        except AudioLoadError:
            continue  # reported when the list is evaluated
    remove_lines(list_path, {entry.line for entry in stale})
    return [entry.path for entry in stale]
