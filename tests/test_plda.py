import numpy as np
import pytest

from streamz_speaker.diarization.plda import estimate_plda, load_plda
from streamz_speaker.core.errors import ModelLoadError


def _labelled(rng, num_speakers=4, per=200, dimension=8):
    means = rng.standard_normal((num_speakers, dimension)) * 3
    labels = np.repeat(np.arange(num_speakers), per)
    x = means[labels] + rng.standard_normal((labels.size, dimension)) @ np.diag(
        np.linspace(0.5, 1.5, dimension))
    return x + 10.0, labels


def _covariances(fea, labels):
    within = sum(np.cov((fea[labels == k]).T, bias=True) * np.sum(labels == k)
                 for k in np.unique(labels)) / len(fea)
    means = np.stack([fea[labels == k].mean(0) for k in np.unique(labels)])
    counts = np.bincount(labels)
    centred = means - fea.mean(0)
    between = (centred.T * counts) @ centred / len(fea)
    return within, between


def test_estimated_lda_plda_whitens_within_and_diagonalises_between(rng):
    x, labels = _labelled(rng)
    plda = estimate_plda(x, labels, method="lda", shrinkage=0.0)
    fea = plda.transform(x)
    assert fea.shape == (len(x), 8) and fea.dtype == np.float64
    within, between = _covariances(fea, labels)
    np.testing.assert_allclose(within, np.eye(8), atol=1e-8)
    np.testing.assert_allclose(between, np.diag(plda.phi), atol=1e-8)
    assert np.all(np.diff(plda.phi) <= 1e-12)          # decreasing
    assert np.sum(plda.phi > 1e-6) == 3                # rank of 4 class means


def test_isotropic_and_pca_options(rng):
    x, labels = _labelled(rng, dimension=12)
    iso = estimate_plda(x, labels, method="isotropic")
    assert np.allclose(iso.phi, iso.phi[0]) and iso.phi[0] > 0
    within, _ = _covariances(iso.transform(x), labels)
    assert np.trace(within) / 12 == pytest.approx(1.0)
    small = estimate_plda(x, labels, pca_dimension=5, lda_dimension=3)
    assert small.transform(x).shape == (len(x), 3) and small.phi.shape == (3,)
    with pytest.raises(ValueError, match="method"):
        estimate_plda(x, labels, method="nope")


def _write_pyannote_files(tmp_path, rng, d=6, l=4):
    a = rng.standard_normal((l, l))
    tr = np.linalg.qr(a)[0] * rng.uniform(0.5, 2, l)[:, None]
    psi = rng.uniform(0.1, 5.0, l)
    np.savez(tmp_path / "xvec_transform.npz", mean1=rng.standard_normal(d),
             mean2=rng.standard_normal(l) * 0.1, lda=rng.standard_normal((d, l)))
    np.savez(tmp_path / "plda.npz", mu=rng.standard_normal(l) * 0.1, tr=tr, psi=psi)
    return tr, psi


def test_load_pyannote_files_rediagonalises(tmp_path, rng):
    tr, psi = _write_pyannote_files(tmp_path, rng)
    plda = load_plda(tmp_path / "xvec_transform.npz", tmp_path / "plda.npz", lda_dimension=3)
    within = np.linalg.inv(tr.T @ tr)
    across = np.linalg.inv((tr.T / psi) @ tr)
    np.testing.assert_allclose(plda.tr @ within @ plda.tr.T, np.eye(4), atol=1e-9)
    np.testing.assert_allclose(plda.tr @ across @ plda.tr.T, np.diag(plda.psi), atol=1e-9)
    assert plda.phi.shape == (3,) and np.all(np.diff(plda.psi) <= 0)
    assert plda.transform(rng.standard_normal((5, 6))).shape == (5, 3)
    with pytest.raises(ValueError, match="num_embeddings, 6"):
        plda.transform(np.zeros((2, 5)))


def test_load_errors(tmp_path, rng):
    _write_pyannote_files(tmp_path, rng)
    with pytest.raises(ModelLoadError, match="missing PLDA arrays \\['psi'\\]"):
        np.savez(tmp_path / "bad.npz", mu=np.zeros(4), tr=np.eye(4))
        load_plda(tmp_path / "xvec_transform.npz", tmp_path / "bad.npz")
    with pytest.raises(ModelLoadError, match="cannot read"):
        load_plda(tmp_path / "nope.npz", tmp_path / "plda.npz")
    np.savez(tmp_path / "short.npz", mu=np.zeros(3), tr=np.eye(3), psi=np.ones(3))
    with pytest.raises(ModelLoadError, match="inconsistent"):
        load_plda(tmp_path / "xvec_transform.npz", tmp_path / "short.npz")
