"""`streamz enroll`: idempotent, keeps the evaluation list honest, checks its ranges."""

import pytest
import soundfile as sf

from cli_support import cache_args, copy_model, invoke, train_small_model
from conftest import SPEAKERS, synth_voice
from streamz_speaker.speaker_id.persistence import load_model


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    return train_small_model(tmp_path_factory.mktemp("enroll"))


@pytest.fixture
def setup(tmp_path, small_model):
    """A private model, an empty training list and a 3 s recording of carol."""
    carol = tmp_path / "carol_call.wav"
    sf.write(carol, synth_voice(*SPEAKERS["carol"], 3.0, seed=7), 16_000)
    lst = tmp_path / "train.txt"
    lst.write_text("# enrolled speakers\n")
    model = copy_model(small_model, tmp_path)
    return carol, lst, model


def enroll(setup, name, *args):
    carol, lst, model = setup
    return invoke("enroll", name, carol, "--train-list", lst, "--model", model, *args,
                  *cache_args(lst.parent))


@pytest.mark.parametrize("how", [[], ["--segment", "0.5-2.5"]], ids=["file", "segment"])
def test_enrolling_the_same_audio_again_adds_and_learns_nothing(setup, how):
    carol, lst, model = setup
    first = enroll(setup, "carol", *how)
    assert first.exit_code == 0, first.output
    lines = lst.read_text().splitlines()
    assert len(lines) == 2 and lines[1].endswith(",carol")
    assert f"added {lines[1]} to {lst}" in first.stderr
    learned = load_model(model).learned
    model_bytes = model.read_bytes()
    for _ in range(2):
        again = enroll(setup, "carol", *how)
        assert again.exit_code == 0, again.output
        assert f"{lines[1]}: already enrolled, nothing added" in again.stderr
        assert "learned 0 files, skipped 1 already learned" in again.stderr
    assert lst.read_text().splitlines() == lines
    assert model.read_bytes() == model_bytes and load_model(model).learned == learned
    if how:
        assert len(list((lst.parent / "enrolled").iterdir())) == 1


def test_the_same_audio_under_another_name_is_refused(setup):
    carol, lst, model = setup
    assert enroll(setup, "carol", "--segment", "0-2").exit_code == 0
    listed = lst.read_text().splitlines()[1].split(",")[0]
    lst.write_text("")  # even when the list no longer names it, the model knows it
    result = enroll(setup, "dave", "--segment", "0-2")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {carol}: the selected audio is already learned as carol "
                             f"by {model}, not dave\n")
    assert listed.startswith("enrolled/carol-carol_call-") and lst.read_text() == ""
    assert [p.name for p in (lst.parent / "enrolled").iterdir()] == [listed[len("enrolled/"):]]
    lst.write_text(f"{carol.name},carol\n")  # the whole recording, listed as carol
    result = enroll(setup, "dave", "--no-train")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {lst}:1: {carol.name} is already enrolled as carol, not "
                             "dave\n")


def test_enrolled_recording_leaves_the_evaluation_list(setup):
    carol, lst, model = setup
    targets = lst.parent / "target_files.txt"
    targets.write_text("carol_call.wav,carol\nalice0.wav,alice\n")
    result = enroll(setup, "carol", "--segment", "0-2", "--no-train")
    assert result.exit_code == 0, result.output
    assert targets.read_text() == "alice0.wav,alice\n"
    assert result.stderr.splitlines()[1:] == [
        f"removed 1 line from {targets}, whose audio is now learned (evaluation stays on "
        "unseen audio):", f"  {carol}"]


def test_segment_errors(setup):
    carol, _, _ = setup
    backwards = enroll(setup, "carol", "--segment", "8-4", "--no-train")
    assert backwards.exit_code == 2
    assert "Invalid value for '--segment': segment start must be >= 0 and before its end, " \
           "got '8-4'" in backwards.stderr
    late = enroll(setup, "carol", "--segment", "100-120", "--no-train")
    assert late.exit_code == 1
    assert late.stderr == (f"Error: {carol}: segment 100-120 starts after the end of the "
                           "recording, which lasts 3.00 s\n")


def test_list_option_is_train_list(setup):
    carol, lst, model = setup
    result = invoke("enroll", "carol", carol, "--list", lst, "--model", model)
    assert result.exit_code == 2 and "--train-list" in result.stderr
