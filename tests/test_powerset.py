import itertools

import numpy as np
import pytest

from streamz_speaker.diarization.powerset import powerset_mapping, to_multilabel, to_powerset


def test_mapping_order_matches_segmentation_3_0():
    expected = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]]
    m = powerset_mapping()
    assert m.dtype == np.float32
    np.testing.assert_array_equal(m, expected)


@pytest.mark.parametrize("num_speakers,max_set_size",
                         [(n, k) for n in range(1, 5) for k in range(0, n + 1)])
def test_round_trip_all_sizes(num_speakers, max_set_size):
    m = powerset_mapping(num_speakers, max_set_size)
    expected_classes = sum(len(list(itertools.combinations(range(num_speakers), k)))
                           for k in range(max_set_size + 1))
    assert m.shape == (expected_classes, num_speakers)
    classes = np.arange(m.shape[0])
    one_hot = np.eye(m.shape[0])[classes]
    multilabel = to_multilabel(one_hot, m)
    np.testing.assert_array_equal(to_powerset(multilabel, m), classes)


def test_to_multilabel_hard_argmax(rng):
    logits = np.log(rng.dirichlet(np.ones(7), size=(4, 589))).astype(np.float32)
    out = to_multilabel(logits)
    assert out.shape == (4, 589, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, powerset_mapping()[logits.argmax(-1)])
    np.testing.assert_array_equal(to_powerset(out), logits.argmax(-1))


def test_bad_inputs():
    with pytest.raises(ValueError, match="7 powerset classes"):
        to_multilabel(np.zeros((2, 3, 6)))
    with pytest.raises(ValueError, match="NaN"):
        to_multilabel(np.full((1, 2, 7), np.nan))
    with pytest.raises(ValueError, match="more active speakers"):
        to_powerset(np.ones((1, 1, 3)))
