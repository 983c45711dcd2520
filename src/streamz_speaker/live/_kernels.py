"""Numba kernels of the per-step live code (private); see benchmarks/RESULTS.md, "Live tracking"."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def masked_moments(features, masks):
    """Weighted first and second moments of frames under each mask, float64.

    Releases the GIL: sessions of a server run their steps on parallel threads.

    Parameters
    ----------
    features : ndarray of shape (num_frames, channels), float32, C-contiguous
    masks : ndarray of shape (num_masks, num_frames), float32, C-contiguous

    Returns
    -------
    s1, s2 : ndarray of shape (num_masks, channels), float64
        ``masks @ features`` and ``masks @ features**2``.
    n : ndarray of shape (num_masks,), float64
        ``masks.sum(axis=1)``.
    """
    num_masks, num_frames = masks.shape
    channels = features.shape[1]
    s1 = np.zeros((num_masks, channels))
    s2 = np.zeros((num_masks, channels))
    n = np.zeros(num_masks)
    for t in range(num_frames):
        for k in range(num_masks):
            w = np.float64(masks[k, t])
            if w == 0.0:
                continue
            n[k] += w
            for c in range(channels):
                x = np.float64(features[t, c])
                s1[k, c] += w * x
                s2[k, c] += w * x * x
    return s1, s2, n
