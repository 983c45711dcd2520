import json
import warnings

import pytest
from click.testing import CliRunner
from pyannote.core import Annotation, Segment as PSegment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from streamz_speaker.cli import cli
from streamz_speaker.diarization.rttm import Segment, format_rttm, read_rttm
from streamz_speaker.core.errors import RttmError
from streamz_speaker.diarization.scoring import diarization_error, read_uem, score

S = Segment


def test_perfect_and_relabelled():
    ref = [S(0, 5, "a"), S(5, 10, "b")]
    hyp = [S(0, 5, "x"), S(5, 10, "y")]
    r = diarization_error(ref, hyp)
    assert r.der == 0 and r.total == 10 and r.mapping == {"x": "a", "y": "b"}


def test_known_components():
    ref = [S(0, 10, "a"), S(10, 20, "b"), S(15, 20, "c")]      # 5 s overlap
    hyp = [S(0, 8, "x"), S(8, 20, "y"), S(22, 24, "z")]
    r = diarization_error(ref, hyp, uem=[(0, 25)])
    assert r.total == pytest.approx(25)
    assert r.missed == pytest.approx(5)                       # overlap 15-20 has one hyp spk
    assert r.false_alarm == pytest.approx(2)                  # z
    assert r.confusion == pytest.approx(2)                    # 8-10 is y, mapped to b
    assert r.der == pytest.approx(9 / 25)


def test_collar_and_skip_overlap():
    ref = [S(0, 10, "a"), S(10, 20, "b"), S(15, 20, "c")]
    hyp = [S(0, 9, "x"), S(9, 20, "y")]
    plain = diarization_error(ref, hyp)
    assert plain.confusion == pytest.approx(1) and plain.missed == pytest.approx(5)
    collar = diarization_error(ref, hyp, collar=2.0)          # 9-11 not scored
    assert collar.confusion == pytest.approx(0)
    # collars at 0, 10, 15, 20 remove 1+2+2+1 = 6 s of 20, overlap 16-19 remains (3 s x 2)
    assert collar.total == pytest.approx(14 + 3)
    skip = diarization_error(ref, hyp, skip_overlap=True)
    assert skip.total == pytest.approx(15) and skip.missed == 0


def test_empty_cases():
    assert diarization_error([], []).der == 0.0
    r = diarization_error([], [S(0, 1, "x")])
    assert r.false_alarm == 1 and r.der == 1.0
    r = diarization_error([S(0, 1, "a")], [])
    assert r.missed == 1 and r.der == 1.0


def test_score_totals_and_missing_hypothesis():
    ref = {"f1": [S(0, 10, "a")], "f2": [S(0, 10, "b")]}
    hyp = {"f1": [S(0, 10, "x")], "f3": [S(0, 1, "x")]}
    with pytest.warns(UserWarning, match="f3"):
        per_file, total = score(ref, hyp)
    assert per_file["f2"].missed == 10 and total.der == pytest.approx(0.5)
    with pytest.raises(RttmError, match="f2"):
        score(ref, hyp, uem={"f1": [(0, 10)]})


def test_uem_errors(tmp_path):
    p = tmp_path / "x.uem"
    p.write_text("f1 1 0.0 10.0\nf1 1 abc 2\n")
    with pytest.raises(RttmError, match=f"{p}:2: "):
        read_uem(p)
    p.write_text("f1 1 0.0 10.0\nf2 1 0 3\n")
    assert read_uem(p) == {"f1": [(0.0, 10.0)], "f2": [(0.0, 3.0)]}


def _random_annotation(rng, labels, n, length=60.0):
    starts = rng.uniform(0, length, n)
    durs = rng.uniform(0.2, 6.0, n)
    return [S(float(s), float(s + d), str(rng.choice(labels))) for s, d in zip(starts, durs)]


@pytest.mark.parametrize("collar,skip_overlap", [(0.0, False), (0.5, False), (0.0, True),
                                                 (0.25, True)])
def test_matches_pyannote_metrics(rng, collar, skip_overlap):
    def to_annotation(segs):
        ann = Annotation()
        for i, s in enumerate(segs):
            ann[PSegment(s.start, s.end), i] = s.label
        return ann

    for trial in range(8):
        ref = _random_annotation(rng, ["a", "b", "c"], 15)
        hyp = _random_annotation(rng, ["1", "2", "3", "4"], 18)
        uem = [(2.0, 30.0), (35.0, 58.0)]
        metric = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            detail = metric(to_annotation(ref), to_annotation(hyp),
                            uem=Timeline([PSegment(*u) for u in uem]), detailed=True)
        ours = diarization_error(ref, hyp, uem=uem, collar=collar, skip_overlap=skip_overlap)
        assert ours.total == pytest.approx(detail["total"], abs=1e-6)
        assert ours.missed == pytest.approx(detail["missed detection"], abs=1e-6)
        assert ours.false_alarm == pytest.approx(detail["false alarm"], abs=1e-6)
        assert ours.confusion == pytest.approx(detail["confusion"], abs=1e-6)


def _write(tmp_path, name, segs, uri="f1"):
    p = tmp_path / name
    p.write_text(format_rttm(segs, uri))
    return p


def test_cli_table_and_json(tmp_path):
    ref = _write(tmp_path, "ref.rttm", [S(0, 10, "a"), S(10, 20, "b")])
    hyp = _write(tmp_path, "hyp.rttm", [S(0, 12, "x"), S(12, 20, "y")])
    res = CliRunner().invoke(cli, ["score", str(ref), str(hyp)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split()[:2] == ["file", "DER%"]
    assert lines[-1].split()[:2] == ["TOTAL", "10.00"]              # 10-12 confused, of 20 s
    uem = tmp_path / "f.uem"
    uem.write_text("f1 1 0.000 11.000\n")
    res = CliRunner().invoke(cli, ["score", str(ref), str(hyp), "--uem", str(uem)])
    assert res.output.splitlines()[-1].split()[:2] == ["TOTAL", "9.09"]   # 10-11, of 11 s
    res = CliRunner().invoke(cli, ["score", str(ref), str(hyp), "--json", "--collar", "4"])
    data = json.loads(res.output)
    assert data["total"]["der"] == 0.0 and data["files"]["f1"]["mapping"] == {"x": "a",
                                                                              "y": "b"}


def test_cli_skip_overlap(tmp_path):
    ref = _write(tmp_path, "ref.rttm", [S(0, 10, "a"), S(5, 15, "b")])     # overlap 5-10
    hyp = _write(tmp_path, "hyp.rttm", [S(0, 15, "x")])
    for args, total, missed in (([], 20, 5), (["--skip-overlap"], 10, 0)):
        res = CliRunner().invoke(cli, ["score", str(ref), str(hyp), "--json", *args])
        assert res.exit_code == 0, res.output
        data = json.loads(res.output)
        assert data["skip_overlap"] == bool(args)
        assert (data["total"]["total"], data["total"]["missed"]) == (total, missed)
        assert data["total"]["confusion"] == 5                             # 10-15 is b, not x


def test_cli_error_line(tmp_path):
    ref = tmp_path / "ref.rttm"
    ref.write_text("SPEAKER f1 1 zero 1 <NA> <NA> a <NA> <NA>\n")
    res = CliRunner().invoke(cli, ["score", str(ref), str(ref)])
    assert res.exit_code == 1
    assert res.output.strip() == f"Error: {ref}:1: start and duration must be numbers, got " \
                                 "'zero' and '1'"


def test_dev_corpus_without_its_main_speaker(dev_corpus):
    """Each conversation's reference less its most talkative speaker: exactly that speech is
    missed, nothing else is wrong."""
    diar = dev_corpus / "diar"
    ref, uem = read_rttm(diar / "all.rttm"), read_uem(diar / "all.uem")

    def inside(seg, regions):
        return sum(max(0.0, min(seg.end, b) - max(seg.start, a)) for a, b in regions)

    hyp, speech, dropped = {}, 0.0, 0.0
    for uri, segs in ref.items():
        talk = {}
        for s in segs:
            talk[s.label] = talk.get(s.label, 0.0) + inside(s, uem[uri])
        main = max(talk, key=talk.get)
        hyp[uri] = [s for s in segs if s.label != main]
        speech += sum(talk.values())
        dropped += talk[main]
    per_file, total = score(ref, hyp, uem=uem)
    assert len(per_file) == len(ref) >= 6
    assert total.total == pytest.approx(speech, abs=1e-6)
    assert total.missed == pytest.approx(dropped, abs=1e-6)
    assert total.false_alarm == pytest.approx(0, abs=1e-6)
    assert total.confusion == pytest.approx(0, abs=1e-6)
    assert all(r.mapping == {label: label for label in r.mapping} for r in per_file.values())
