"""Speaker embeddings from the trained model: separation checks and k-means clustering."""

from __future__ import annotations

import numpy as np

from ..core.errors import AudioLoadError, FeatureError, StreamzError
from .extraction import CacheConfig, FeatureExtractor
from .persistence import SpeakerModel


def file_embeddings(model: SpeakerModel, paths, *, cache: CacheConfig = CacheConfig(), hook=None):
    """One length-normalised embedding per file.

    The mean CAM++ window embedding for an embedding model, the mean last-hidden-layer
    activation of the classifier for an MFCC model.

    Returns
    -------
    embeddings : ndarray of shape (n_ok, hidden_sizes[-1]), float32
    ok : list of int
        Indices into ``paths`` of the files that worked.
    failures : list of (path, message)
    """
    hook = hook or (lambda *a, **k: None)
    rows, ok, failures = [], [], []
    paths = list(paths)
    extractor = FeatureExtractor.for_config(model.feature_config, cache)
    neural = model.feature_config.kind == "embedding"
    for i, path in enumerate(paths):
        hook("embedding", completed=i, total=len(paths))
        try:
            feats = extractor.features(path)
        except (AudioLoadError, FeatureError) as e:
            failures.append((path, str(e)))
            continue
        e = (feats.clean if neural else model.classifier.transform(feats.clean)).mean(axis=0)
        rows.append(e / max(float(np.linalg.norm(e)), 1e-12))
        ok.append(i)
    hook("embedding", completed=len(paths), total=len(paths))
    width = model.classifier.n_features_in_ if neural else model.classifier.coefs_[-1].shape[0]
    return np.asarray(rows, np.float32).reshape(-1, width), ok, failures


def separation(embeddings: np.ndarray, labels) -> dict:
    """Intra- and inter-speaker cosine similarity and the silhouette score.

    Parameters
    ----------
    embeddings : ndarray of shape (n_files, dimension), length-normalised
    labels : array-like of shape (n_files,)

    Returns
    -------
    dict with ``intra_similarity``, ``inter_similarity``, ``silhouette``, ``n_files``,
    ``n_speakers``
    """
    labels = np.asarray(labels).astype(str)
    if len(labels) < 2 or len(np.unique(labels)) < 2:
        raise StreamzError("need labelled files of at least two speakers to check embeddings")
    from sklearn.metrics import silhouette_score

    sim = embeddings @ embeddings.T
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    intra = sim[same & off_diagonal]
    silhouette = (float(silhouette_score(embeddings, labels, metric="cosine"))
                  if len(np.unique(labels)) < len(labels) else None)
    return {"n_files": int(len(labels)), "n_speakers": int(len(np.unique(labels))),
            "intra_similarity": float(intra.mean()) if intra.size else None,
            "inter_similarity": float(sim[~same].mean()), "silhouette": silhouette}


def cluster(embeddings: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """k-means on length-normalised embeddings.

    Returns
    -------
    ndarray of shape (n_files,), int cluster index
    """
    if not 1 <= k <= len(embeddings):
        raise StreamzError(f"cannot make {k} clusters from {len(embeddings)} files")
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(embeddings)
