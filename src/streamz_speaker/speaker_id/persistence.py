"""The speaker model and its .npz file: no pickle, atomic writes, versioned."""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.fileio import atomic_path
from .classifier import SpeakerClassifier
from ..core.config import FeatureConfig
from ..core.errors import ModelFormatError
from .open_set import CENTRE, NAMING_SCORER, NUISANCE_RANK, fit_scorer, unit_rows
from ..core.provenance import learned_digest

#: Format written. 2 added ``provenance_json`` (see :mod:`streamz_speaker.core.provenance`); 3 added
#: ``profile_windows_X`` and ``profile_windows_key`` (MFCC models' per-file windows, scored
#: through the classifier's last hidden layer).
FORMAT_VERSION = 3
#: Formats read: version 1 models load with an empty provenance; MFCC models of versions 1
#: and 2 have no per-file windows and keep scoring with the softmax until retrained.
READABLE_VERSIONS = (1, 2, 3)
_REQUIRED = ("format_version", "sample_rate", "config_json", "feature_config_json", "classes",
             "mean", "scale", "n_layers", "n_samples_seen", "learned_sha256", "learned_labels",
             "history_json", "memory_X", "memory_y", "profile_X", "profile_tel_X", "profile_y")


@dataclass
class SpeakerModel:
    """Everything a training run keeps: the classifier and what it has learned from.

    Attributes
    ----------
    classifier : SpeakerClassifier
    feature_config : FeatureConfig
        Features the classifier was trained on; prediction refuses others.
    learned : dict
        Content SHA-256 of every learned file -> its speaker label.
    history : list of dict
        One record per training run, the last
        :data:`~streamz_speaker.core.provenance.MAX_RUNS`: time,
        duration, streamz version, list, file counts, new speakers, configuration.
    memory_X : ndarray of shape (n_memory, n_features), float32
        A bounded sample of past training windows, replayed in later runs so that learning
        new speakers does not erase old ones (saved as float16).
    memory_y : ndarray of shape (n_memory,), str
    profile_X : ndarray of shape (n_files, dimension), float32
        Embedding front end: one unit embedding per learned file, for the open-set
        scorer (see :func:`streamz_speaker.speaker_id.open_set.fit_scorer`). Empty for MFCC models.
    profile_tel_X : ndarray of shape (n_files, dimension), float32
        The same files through a simulated telephone channel: a second copy of each file
        for the scorer's centroids and nuisance directions.
    profile_y : ndarray of shape (n_files,), str
    profile_windows_X : ndarray of shape (n_windows, n_features), float32
        MFCC front end: a sample of each learned file's windows (clean and degraded
        copies); the open-set scorer embeds them with the classifier's current last hidden
        layer. Empty for embedding models.
    profile_windows_key : ndarray of shape (n_windows,), int32
        ``2 * i`` for a window of the ``i``-th file of ``profile_y``, ``2 * i + 1`` for a
        window of its degraded copies.
    provenance : dict
        How the model was made (see :func:`streamz_speaker.core.provenance.record_run`): streamz
        version, training configuration, seed, front-end model hashes, run count. Saved
        with the digest of the learned files (checked on load). Empty for a model of
        format 1.
    format_version : int
        Format of the file the model was read from.
    """

    classifier: SpeakerClassifier
    feature_config: FeatureConfig = field(default_factory=FeatureConfig)
    learned: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    memory_X: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    memory_y: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))
    profile_X: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    profile_tel_X: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    profile_y: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))
    profile_windows_X: np.ndarray = field(
        default_factory=lambda: np.zeros((0, 0), np.float32))
    profile_windows_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    provenance: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    _scorers: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def speakers(self) -> list[str]:
        return self.classifier.classes_.tolist() if hasattr(self.classifier, "classes_") else []

    def scorer(self, *, naming: bool = False):
        """The open-set scorer of the model's speakers (:mod:`~streamz_speaker.speaker_id.open_set`).

        Embedding models score CAM++ window embeddings; MFCC models score
        :meth:`embed` outputs (last hidden layer). None for an MFCC model without per-file
        windows for every speaker (models of format 1 and 2: they fall back to the softmax)
        or without speakers. With ``naming``, the settings for the speakers of a diarized
        conversation (:data:`~streamz_speaker.speaker_id.open_set.NAMING_SCORER`) instead
        of whole files.
        """
        kind = self.feature_config.kind
        if not len(self.profile_y) or not self.speakers:
            return None
        if not set(self.speakers) <= set(self.profile_y.tolist()):
            return None          # an MFCC model from before format 3 (or mixed)
        state = (len(self.profile_y), tuple(self.speakers),
                 getattr(self.classifier, "n_samples_seen_", 0))
        if (state, naming) not in self._scorers:
            if kind == "embedding":
                profiles, copies = self.profile_X, self.profile_tel_X
            else:
                profiles, copies = self._hidden_profiles()
            rank, centre = NAMING_SCORER[kind] if naming else (NUISANCE_RANK[kind], CENTRE[kind])
            self._scorers = {k: v for k, v in self._scorers.items() if k[0] == state}
            self._scorers[state, naming] = fit_scorer(profiles, self.profile_y, self.speakers,
                                                      copies=copies, rank=rank, centre=centre)
        return self._scorers[state, naming]

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """What the open-set scorer compares: the windows themselves for an embedding
        model, their unit last-hidden-layer activations for an MFCC model.

        Parameters
        ----------
        windows : ndarray of shape (n_windows, n_features)

        Returns
        -------
        ndarray of shape (n_windows, dimension)
        """
        if self.feature_config.kind == "embedding":
            return windows
        return unit_rows(self.classifier.transform(windows).astype(np.float64))

    def _hidden_profiles(self):
        """Per-file unit mean hidden embeddings of the stored windows: clean and degraded."""
        H = self.embed(self.profile_windows_X)
        n = len(self.profile_y)
        out = np.zeros((2, n, H.shape[1]))
        np.add.at(out.reshape(2 * n, -1), (self.profile_windows_key % 2) * n
                  + self.profile_windows_key // 2, H)
        clean, copies = out
        empty = ~np.any(copies, axis=1)
        copies[empty] = clean[empty]     # a file without degraded windows: its clean ones
        return clean, copies


def check_model_path(path: os.PathLike | str) -> None:
    """Refuse a missing model path when the same name plus ``.npz`` is a file.

    Earlier versions appended ``.npz`` to model names that lacked it (as ``np.savez`` does);
    paths are now used as given, so ``--model models/speakers`` must not silently start a new
    model beside an existing ``models/speakers.npz``.

    Raises
    ------
    ModelFormatError
        Naming the file that is probably meant.
    """
    path = Path(path)
    twin = path.with_name(path.name + ".npz")
    if not path.exists() and path.suffix != ".npz" and twin.is_file():
        raise ModelFormatError(f"{path}: model not found, but {twin} exists: pass --model "
                               f"{twin} (model paths are used as given, without adding .npz)")


def save_model(model: SpeakerModel, path: os.PathLike | str) -> Path:
    """Write ``model`` to ``path`` atomically (temporary file, then ``os.replace``).

    The file is written at ``path`` as given (no ``.npz`` is added).

    Returns
    -------
    Path
        The path written.
    """
    clf = model.classifier
    clf._check_is_fitted()
    path = Path(path)
    learned = sorted(model.learned.items())
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "sample_rate": np.array(model.feature_config.sr),
        "config_json": np.array(json.dumps(clf.get_params())),
        "feature_config_json": np.array(json.dumps(model.feature_config.to_dict())),
        "classes": np.asarray(clf.classes_, dtype=str),
        "mean": clf.mean_, "scale": clf.scale_,
        "n_layers": np.array(len(clf.coefs_)),
        "n_samples_seen": np.array(clf.n_samples_seen_),
        "loss_curve": np.asarray(clf.loss_curve_, dtype=np.float64),
        "learned_sha256": np.asarray([k for k, _ in learned], dtype=str),
        "learned_labels": np.asarray([v for _, v in learned], dtype=str),
        "history_json": np.array(json.dumps(model.history)),
        "memory_X": np.asarray(model.memory_X, dtype=np.float16),  # half the size
        "memory_y": np.asarray(model.memory_y, dtype=str),
        "profile_X": np.asarray(model.profile_X, dtype=np.float32),
        "profile_tel_X": np.asarray(model.profile_tel_X, dtype=np.float32),
        "profile_y": np.asarray(model.profile_y, dtype=str),
        "profile_windows_X": np.asarray(model.profile_windows_X, dtype=np.float32),
        "profile_windows_key": np.asarray(model.profile_windows_key, dtype=np.int32),
        "provenance_json": np.array(json.dumps(
            {**model.provenance, "learned_digest": learned_digest(model.learned)})),
    }
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        arrays[f"W{i}"], arrays[f"b{i}"] = W, b
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return path


def load_model(path: os.PathLike | str) -> SpeakerModel:
    """Read a model written by :func:`save_model`, without pickle.

    Raises
    ------
    ModelFormatError
        If the file is missing, not a model written by :func:`save_model` (numpy's own
        advice to load it with pickle is never passed on), of another format version, or
        lacks keys.
    """
    path = Path(path)
    check_model_path(path)
    if not path.exists():
        raise ModelFormatError(f"{path}: model not found (train one with `streamz train`)")
    if path.is_dir():
        raise ModelFormatError(f"{path}: is a directory, not a model file")
    data = _read_archive(path)
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ModelFormatError(f"{path}: not a streamz model; missing keys: {', '.join(missing)}")
    version = int(data["format_version"])
    if version not in READABLE_VERSIONS:
        raise ModelFormatError(f"{path}: model format version {version} is not supported "
                               f"(this streamz reads versions "
                               f"{', '.join(map(str, READABLE_VERSIONS))})")
    if version >= 2 and "provenance_json" not in data:
        raise ModelFormatError(f"{path}: corrupt model of format {version}; missing keys: "
                               "provenance_json")
    try:
        n_layers = int(data["n_layers"])
        clf = SpeakerClassifier(**_params(json.loads(str(data["config_json"]))))
        clf.coefs_ = [np.asarray(data[f"W{i}"], np.float32) for i in range(n_layers)]
        clf.intercepts_ = [np.asarray(data[f"b{i}"], np.float32) for i in range(n_layers)]
        clf.classes_ = np.asarray(data["classes"], dtype=str)
        clf.mean_ = np.asarray(data["mean"], np.float32)
        clf.scale_ = np.asarray(data["scale"], np.float32)
        clf.n_features_in_ = clf.mean_.shape[0]
        clf.n_samples_seen_ = int(data["n_samples_seen"])
        clf.loss_curve_ = data.get("loss_curve", np.zeros(0)).tolist()
        feature_config = FeatureConfig(**json.loads(str(data["feature_config_json"])))
        history = json.loads(str(data["history_json"]))
        provenance = json.loads(str(data["provenance_json"])) if version >= 2 else {}
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFormatError(f"{path}: corrupt model ({e})") from e
    _check_shapes(path, clf)
    learned = dict(zip(data["learned_sha256"].tolist(), data["learned_labels"].tolist()))
    if provenance.pop("learned_digest", None) not in (None, learned_digest(learned)):
        raise ModelFormatError(f"{path}: corrupt model (its learned files do not match the "
                               "digest recorded with them)")
    return SpeakerModel(classifier=clf, feature_config=feature_config, learned=learned,
                        history=history, provenance=provenance, format_version=version,
                        memory_X=np.asarray(data["memory_X"], np.float32),
                        memory_y=np.asarray(data["memory_y"], dtype=str),
                        profile_X=np.asarray(data["profile_X"], np.float32),
                        profile_tel_X=np.asarray(data["profile_tel_X"], np.float32),
                        profile_y=np.asarray(data["profile_y"], dtype=str),
                        **_profile_windows(path, data, version))


def _profile_windows(path: Path, data: dict, version: int) -> dict:
    """Format 3's MFCC profile windows (empty for older models)."""
    if version < 3:
        return {}
    missing = [k for k in ("profile_windows_X", "profile_windows_key") if k not in data]
    if missing:
        raise ModelFormatError(f"{path}: corrupt model of format {version}; missing keys: "
                               f"{', '.join(missing)}")
    X = np.asarray(data["profile_windows_X"], np.float32)
    key = np.asarray(data["profile_windows_key"], np.int32)
    if len(X) != len(key) or (key.size and not 0 <= key.min() <= key.max()
                               < 2 * len(data["profile_y"])):
        raise ModelFormatError(f"{path}: corrupt model (profile windows do not match its "
                               "learned files)")
    return {"profile_windows_X": X, "profile_windows_key": key}


def _read_archive(path: Path) -> dict:
    """Every array of an .npz file, read without pickle; ModelFormatError for anything else."""
    not_model = (f"{path}: not a readable streamz model (expected the .npz file that "
                 "`streamz train` writes)")
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.lib.npyio.NpzFile):
            with archive as npz:
                return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        # numpy's ValueError for pickled data advises allow_pickle=True: never passed on
        raise ModelFormatError(not_model) from e
    raise ModelFormatError(not_model)  # a plain .npy array


def _params(params: dict) -> dict:
    params["hidden_sizes"] = tuple(params.get("hidden_sizes", ()))
    return params


def _check_shapes(path: Path, clf: SpeakerClassifier) -> None:
    expected_in = clf.n_features_in_
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        if W.ndim != 2 or W.shape[0] != expected_in or b.shape != (W.shape[1],) \
                or not np.isfinite(W).all():
            raise ModelFormatError(f"{path}: corrupt model (layer {i} has inconsistent or "
                                   "non-finite weights)")
        expected_in = W.shape[1]
    if expected_in != len(clf.classes_):
        raise ModelFormatError(f"{path}: corrupt model ({len(clf.classes_)} speakers but "
                               f"{expected_in} outputs)")
