"""What a speaker model was made from: versions, configuration, data digest, run history."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from importlib import metadata

from . import DISTRIBUTION

#: Training runs kept in a model's history (cron runs add one each; the count goes on).
MAX_RUNS = 100


def package_version() -> str:
    """The installed StreamZ version (``unknown`` when run from a bare source tree)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def learned_digest(learned: dict) -> str:
    """One hash for a model's training data: the files learned and their labels.

    The sha256 of the UTF-8 lines ``"<file sha256> <label>\\n"``, sorted, one per learned
    file: two models have the same digest exactly when they learned the same audio
    content under the same labels, whatever the order or the file names.
    """
    lines = sorted(f"{sha} {label}\n" for sha, label in learned.items())
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def front_end_models(kind: str) -> dict:
    """``{file: sha256}`` of the bundled models that compute features of ``kind``.

    The embedding front end runs the CAM++ backbone and head, whose hashes the package
    manifest records and every load verifies; MFCC features use no model (``{}``).
    """
    if kind != "embedding":
        return {}
    from .model_assets import BACKBONE_FILE, HEAD_FILE, load_manifest, package_models_dir

    return {entry["file"]: entry["sha256"]
            for entry in load_manifest(package_models_dir())["models"]
            if entry["file"] in (BACKBONE_FILE, HEAD_FILE)}


def record_run(model, config, *, started, seconds: float, list_path: str, learned: int,
               skipped: int, failures: int, new_speakers: list) -> None:
    """Add a training run to ``model.history`` and bring ``model.provenance`` up to date.

    The history keeps the last :data:`MAX_RUNS` runs; ``provenance["runs_total"]`` counts
    them all.

    Parameters
    ----------
    model : SpeakerModel
        Changed in place.
    config : TrainConfig
        The run's configuration.
    started : datetime.datetime
        When the run began (timezone-aware).
    seconds : float
        How long it took.
    list_path : str
        The training list.
    learned, skipped, failures : int
        Files learned now, skipped as already learned, failed.
    new_speakers : list of str
    """
    version = package_version()
    model.history.append({
        "time": started.isoformat(timespec="seconds"), "seconds": round(seconds, 1),
        "streamz_version": version, "list": list_path, "files": learned, "skipped": skipped,
        "failures": failures, "new_speakers": list(new_speakers),
        "speakers": len(model.speakers), "learned_total": len(model.learned),
        "config": _config(config)})
    runs_total = model.provenance.get("runs_total", len(model.history) - 1) + 1
    del model.history[:-MAX_RUNS]
    model.provenance = {
        "streamz_version": version,
        "created": model.provenance.get("created") or model.history[0]["time"],
        "updated": model.history[-1]["time"], "runs_total": runs_total,
        "train_config": _config(config), "seed": config.seed,
        "front_end_models": front_end_models(model.feature_config.kind)}


def _config(config) -> dict:
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(config).items()}


def model_info(model, path, *, files: bool = True) -> dict:
    """Everything a model records about how it was made, as one JSON-ready dict.

    Parameters
    ----------
    model : SpeakerModel
    path : str
        How to name the model file.
    files : bool
        Include ``learned``, every learned file's sha256 and label.

    Returns
    -------
    dict
        ``model``, ``format_version`` (of the file read), ``streamz_version`` (of the
        last run that wrote it), ``created``, ``updated``,
        ``runs_total``, ``seed``, ``train_config``, ``classifier``, ``feature_config``,
        ``front_end_models``, ``speakers`` (files learned per speaker), ``learned_files``,
        ``learned_digest`` (see :func:`learned_digest`), ``history`` and, with ``files``,
        ``learned``. What a model of format 1 (before streamz recorded it) lacks is None.
    """
    p = model.provenance
    counts: dict = {}
    for label in model.learned.values():
        counts[label] = counts.get(label, 0) + 1
    info = {"model": path, "format_version": model.format_version,
            **{key: p.get(key) for key in ("streamz_version", "created", "updated", "seed",
                                           "train_config")},
            "runs_total": p.get("runs_total", len(model.history)),
            "classifier": model.classifier.get_params(),
            "feature_config": model.feature_config.to_dict(),
            "front_end_models": p.get("front_end_models"),
            "speakers": {s: counts.get(s, 0) for s in model.speakers},
            "learned_files": len(model.learned),
            "learned_digest": learned_digest(model.learned), "history": model.history}
    if files:
        info["learned"] = dict(sorted(model.learned.items()))
    return info
