"""Locate the diarization models (bundled, ``--models-dir`` or ``STREAMZ_MODELS_DIR``) and check them."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .fileio import sha256_file
from .errors import ModelLoadError

#: Environment variable naming a models folder that replaces the bundled one.
MODELS_DIR_ENV = "STREAMZ_MODELS_DIR"
MANIFEST_NAME = "manifest.json"
SEGMENTATION_FILE = "segmentation-3.0.onnx"
#: segmentation-3.0 cut after its first convolution (scripts/split_segmentation.py): the same
#: model, run with the convolution shared by overlapping windows; optional in a models folder.
SEGMENTATION_SINCNET_FILE = "segmentation-3.0-sincnet.onnx"
SEGMENTATION_TAIL_FILE = "segmentation-3.0-tail.onnx"
BACKBONE_FILE = "campplus_backbone.onnx"
HEAD_FILE = "campplus_head.npz"
#: pyannote community-1 PLDA files (``plda/`` in that repository).
PLDA_TRANSFORM_FILE = "xvec_transform.npz"
PLDA_FILE = "plda.npz"


@dataclass(frozen=True)
class ModelAssets:
    """Paths of the models one diarization run uses.

    ``kind`` is ``"campplus"`` (the bundled CAM++ backbone + NumPy head; the PLDA is estimated
    per recording) or ``"wespeaker"`` (pyannote community-1 layout: a WeSpeaker ResNet34 ONNX
    and its PLDA).
    """

    kind: str
    segmentation: Path
    embedding: Path                      # campplus: backbone ONNX; wespeaker: full model ONNX
    embedding_head: Path | None = None   # campplus only
    plda_transform: Path | None = None   # wespeaker only: xvec_transform.npz
    plda: Path | None = None             # wespeaker only: plda.npz
    #: the segmentation model cut in two (first convolution, rest), when its folder has both
    segmentation_split: tuple[Path, Path] | None = None


@dataclass(frozen=True)
class ModelStatus:
    """One row of :func:`list_models`."""

    file: str
    role: str
    license: str
    source: str
    sha256: str          # expected (manifest), or actual for files without a manifest entry
    status: str          # "ok", "mismatch", "missing" or "unverified"


def package_models_dir() -> Path:
    """The ``streamz_speaker/core/models`` folder inside the installed package."""
    return Path(__file__).resolve().parent / "models"


def resolve_models_dir(models_dir: os.PathLike | str | None = None) -> Path:
    """``models_dir`` if given, else ``$STREAMZ_MODELS_DIR`` if set, else the bundled models.

    Raises
    ------
    ModelLoadError
        If the chosen folder does not exist.
    """
    chosen = models_dir if models_dir is not None else os.environ.get(MODELS_DIR_ENV) or None
    path = Path(chosen) if chosen is not None else package_models_dir()
    if not path.is_dir():
        origin = "--models-dir" if models_dir is not None else f"${MODELS_DIR_ENV}"
        raise ModelLoadError(f"{path}: models folder not found (from {origin})"
                             if chosen is not None else f"{path}: bundled models are missing")
    return path


def load_manifest(models_dir: os.PathLike | str) -> dict:
    """Read ``manifest.json``; ``{"models": []}`` when the folder has none."""
    path = Path(models_dir) / MANIFEST_NAME
    if not path.exists():
        return {"models": []}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"{path}: unreadable model manifest: {e}") from e
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), list):
        raise ModelLoadError(f"{path}: model manifest lacks a 'models' list")
    return manifest


def verify_file(path: os.PathLike | str, manifest: dict) -> Path:
    """Check that ``path`` exists and, when the manifest lists it, that its sha256 matches.

    Raises
    ------
    ModelLoadError
        Naming the file, if it is missing or its hash differs from the manifest.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: model file not found")
    entry = _entry(manifest, path.name)
    if entry is not None:
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise ModelLoadError(f"{path}: sha256 {actual[:16]}... does not match the manifest "
                                 f"({entry['sha256'][:16]}...); the file is corrupt or was "
                                 "replaced; re-run scripts/export_models.py or reinstall")
    return path


def find_models(models_dir: os.PathLike | str | None = None, *, verify: bool = True
                ) -> ModelAssets:
    """Resolve the models to use.

    A folder with ``xvec_transform.npz`` and ``plda.npz`` (at its top or in ``plda/``) and a
    WeSpeaker ONNX (``*wespeaker*.onnx``/``*resnet*.onnx``, or the only ``.onnx`` in
    ``embedding/``) is taken as the pyannote community-1 layout. Its segmentation ONNX is used
    when present (``segmentation*.onnx``), otherwise the bundled one. Any other folder must
    hold the bundled file names.

    Parameters
    ----------
    models_dir : path-like, optional
        See :func:`resolve_models_dir`.
    verify : bool
        Check sha256 hashes against the manifest of the folder each file comes from.

    Raises
    ------
    ModelLoadError
        Naming the missing or corrupt file.
    """
    folder = resolve_models_dir(models_dir)
    bundled = package_models_dir()
    community = _community_layout(folder)
    if community is not None:
        wespeaker, transform, plda = community
        segmentation = _first(folder, ("segmentation*.onnx", "segmentation/*.onnx"))
        seg_folder = folder if segmentation is not None else bundled
        segmentation = segmentation or bundled / SEGMENTATION_FILE
        if verify:
            verify_file(segmentation, load_manifest(seg_folder))
            for path in (wespeaker, transform, plda):
                verify_file(path, load_manifest(folder))
        split = (_split(seg_folder, verify) if segmentation == bundled / SEGMENTATION_FILE
                 else None)
        return ModelAssets("wespeaker", segmentation, wespeaker, plda_transform=transform,
                           plda=plda, segmentation_split=split)
    assets = ModelAssets("campplus", folder / SEGMENTATION_FILE, folder / BACKBONE_FILE,
                         embedding_head=folder / HEAD_FILE,
                         segmentation_split=_split(folder, verify))
    manifest = load_manifest(folder) if verify else {"models": []}
    for path in (assets.segmentation, assets.embedding, assets.embedding_head):
        verify_file(path, manifest)
    return assets


def _split(folder: Path, verify: bool) -> tuple[Path, Path] | None:
    """The split segmentation files of ``folder`` (checked), or None when it lacks either."""
    paths = (folder / SEGMENTATION_SINCNET_FILE, folder / SEGMENTATION_TAIL_FILE)
    if not all(p.is_file() for p in paths):
        return None
    if verify:
        manifest = load_manifest(folder)
        for path in paths:
            verify_file(path, manifest)
    return paths


def list_models(models_dir: os.PathLike | str | None = None) -> list[ModelStatus]:
    """Every model of the manifest (and every extra ``.onnx``/``.npz``) with its hash status."""
    folder = resolve_models_dir(models_dir)
    manifest = load_manifest(folder)
    rows = []
    listed = set()
    for entry in manifest["models"]:
        path = folder / entry["file"]
        listed.add(entry["file"])
        if not path.is_file():
            status = "missing"
        else:
            status = "ok" if sha256_file(path) == entry["sha256"] else "mismatch"
        rows.append(ModelStatus(entry["file"], entry.get("role", "?"), entry.get("license", "?"),
                                entry.get("source", "?"), entry["sha256"], status))
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.suffix in (".onnx", ".npz") and rel not in listed:
            rows.append(ModelStatus(rel, _guess_role(rel), "unknown (user supplied)", "local",
                                    sha256_file(path), "unverified"))
    return rows


def _entry(manifest: dict, name: str) -> dict | None:
    for entry in manifest.get("models", []):
        if entry.get("file") == name:
            return entry
    return None


def _first(folder: Path, patterns) -> Path | None:
    for pattern in patterns:
        hits = sorted(p for p in folder.glob(pattern) if p.is_file())
        if hits:
            return hits[0]
    return None


def _community_layout(folder: Path) -> tuple[Path, Path, Path] | None:
    transform = _first(folder, (PLDA_TRANSFORM_FILE, f"plda/{PLDA_TRANSFORM_FILE}"))
    plda = _first(folder, (PLDA_FILE, f"plda/{PLDA_FILE}"))
    if transform is None or plda is None:
        return None
    wespeaker = _first(folder, ("*wespeaker*.onnx", "*resnet*.onnx", "embedding/*.onnx"))
    if wespeaker is None:
        raise ModelLoadError(f"{folder}: has PLDA files ({transform.name}, {plda.name}) but no "
                             "WeSpeaker ResNet34 ONNX (*wespeaker*.onnx, *resnet*.onnx or "
                             "embedding/*.onnx)")
    return wespeaker, transform, plda


def _guess_role(name: str) -> str:
    lowered = name.lower()
    for key, role in (("segmentation", "segmentation"), ("wespeaker", "embedding"),
                      ("resnet", "embedding"), ("xvec_transform", "plda_transform"),
                      ("plda", "plda")):
        if key in lowered:
            return role
    return "?"
