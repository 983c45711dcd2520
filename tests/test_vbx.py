import numpy as np
import pytest
from scipy.special import logsumexp

from streamz_speaker.diarization.config import VbxConfig
from streamz_speaker.diarization.vbx import ahc, cluster_vbx, l2_normalize, vbx


def _blobs(rng, num_speakers=3, per=20, dimension=16, noise=0.04):
    centres = l2_normalize(rng.standard_normal((num_speakers, dimension)))
    truth = np.repeat(np.arange(num_speakers), per)
    x = centres[truth] + noise * rng.standard_normal((truth.size, dimension))
    perm = rng.permutation(truth.size)
    return x[perm], truth[perm]


def _same_partition(a, b):
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_ahc_finds_blobs_and_numbers_by_first_appearance(rng):
    x, truth = _blobs(rng)
    labels = ahc(x, threshold=0.6)
    assert _same_partition(labels, truth)
    _, first = np.unique(labels, return_index=True)
    assert np.all(np.diff(first) > 0) and labels[0] == 0
    assert np.all(ahc(x, threshold=10.0) == 0)
    assert len(np.unique(ahc(x, threshold=1e-9))) == len(x)
    np.testing.assert_array_equal(ahc(x[:1]), [0])
    with pytest.raises(ValueError, match="finite"):
        ahc(np.full((3, 4), np.nan))


def _reference_vbx(x, phi, gamma, fa, fb, iters):
    # Straight transcription of the VBx equations (Landini et al. 2022, (16), (17), (23)),
    # one speaker at a time, no early stopping.
    n, d = x.shape
    pi = np.full(gamma.shape[1], 1 / gamma.shape[1])
    for _ in range(iters):
        logp = np.zeros_like(gamma)
        for s in range(gamma.shape[1]):
            n_s = gamma[:, s].sum()
            inv_l = 1 / (1 + fa / fb * n_s * phi)
            alpha = fa / fb * inv_l * (gamma[:, s] @ (x * np.sqrt(phi)))
            for t in range(n):
                rho = x[t] * np.sqrt(phi)
                logp[t, s] = fa * (rho @ alpha - 0.5 * (inv_l + alpha ** 2) @ phi
                                   - 0.5 * (x[t] @ x[t] + d * np.log(2 * np.pi)))
        logp += np.log(pi + 1e-8)
        gamma = np.exp(logp - logsumexp(logp, axis=1, keepdims=True))
        pi = gamma.sum(0) / gamma.sum()
    return gamma, pi


def test_vbx_matches_reference_equations(rng):
    x = rng.standard_normal((12, 5))
    phi = rng.uniform(0.5, 3.0, 5)
    g0 = rng.dirichlet(np.ones(3), size=12)
    cfg = VbxConfig(fa=0.3, fb=0.9, max_iters=4, epsilon=-np.inf)
    gamma, pi = vbx(x, phi, g0, cfg)
    ref_gamma, ref_pi = _reference_vbx(x, phi, g0, 0.3, 0.9, 4)
    np.testing.assert_allclose(gamma, ref_gamma, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pi, ref_pi, rtol=1e-9, atol=1e-12)
    assert gamma.dtype == np.float64


def test_vbx_merges_an_oversplit_speaker(rng):
    # Two true speakers in a 10-d PLDA space; the init splits speaker 0 in two halves.
    dimension = 10
    phi = np.full(dimension, 4.0)
    means = rng.standard_normal((2, dimension)) * 2.0
    truth = np.repeat([0, 1], 40)
    x = means[truth] + rng.standard_normal((80, dimension))
    init = truth.copy()
    init[:20] = 2
    gamma, pi = cluster_vbx(init, x, phi, VbxConfig(fa=0.3, fb=5.0))
    kept = pi > 1e-7
    assert kept.sum() == 2
    assigned = gamma[:, kept].argmax(1)
    assert _same_partition(assigned, truth)
    np.testing.assert_allclose(gamma.sum(1), 1.0)
    assert pi.sum() == pytest.approx(1.0)


def test_vbx_shape_checks():
    with pytest.raises(ValueError, match="shape mismatch"):
        vbx(np.zeros((4, 3)), np.ones(2), np.ones((4, 1)))
