"""Batches of `streamz diarize`/`train`/`identify` on worker processes and a dask cluster:
the same outputs as one process, resumable after SIGKILL, a killed worker's files retried."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from cli_support import EXAMPLES, cache_args, invoke, write_clips
from conftest import SPEAKERS, synth_voice

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Six short two-speaker recordings (16 kHz WAV, 22.05 kHz FLAC, MP3) and a broken file."""
    folder = tmp_path_factory.mktemp("corpus")
    for i in range(6):
        y = np.concatenate([synth_voice(*SPEAKERS[s], 3.0, seed=10 * i + k)
                            for k, s in enumerate(["alice", "bob", "carol", "alice"][: 3 + i % 2])])
        rate, fmt = [(16_000, "WAV"), (22_050, "FLAC"), (16_000, "MP3")][i % 3]
        y = np.interp(np.arange(0, y.size, 16_000 / rate), np.arange(y.size), y)
        sf.write(folder / f"conv{i}.{fmt.lower()}", y, rate, format=fmt)
    (folder / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    return folder


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    """The RTTMs of one process (--jobs 1), with the text progress it printed."""
    out = tmp_path_factory.mktemp("reference")
    result = invoke("diarize", corpus, "-o", out, "--fast")
    assert result.exit_code == 1, result.output                    # broken.wav
    return out, result


def _rttms(folder) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.rttm"))}


def _done_once(folder, n=6):
    records = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    done = [r["uri"] for r in records if r["status"] == "done"]
    assert sorted(done) == [f"conv{i}" for i in range(n)]            # each file done once
    return records


def test_one_process_batch_goes_past_a_bad_file_and_records_everything(reference):
    out, result = reference
    assert sorted(_rttms(out)) == [f"conv{i}.rttm" for i in range(6)]
    records = _done_once(out)
    [failed] = [r for r in records if r["status"] == "failed"]
    assert failed["uri"] == "broken" and "not a readable audio file" in failed["error"]
    done = [r for r in records if r["status"] == "done"]
    assert all(r["audio_seconds"] > 8 and r["realtime_factor"] > 0 for r in done)
    assert "Error: " in result.stderr and "1 file failed." in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("files ")]
    assert lines[-1].startswith("files 7/7 (1 failed) · ") and "audio h/h" in lines[-1]


def test_two_jobs_write_the_same_rttms_and_json_progress(corpus, reference, tmp_path):
    out = tmp_path / "out"
    result = invoke("diarize", corpus, "-o", out, "--fast", "--jobs", "2", "--json")
    assert result.exit_code == 1
    assert _rttms(out) == _rttms(reference[0])                         # byte-identical
    _done_once(out)
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [e["completed"] for e in events] == list(range(1, 8))
    assert events[-1]["total"] == 7 and events[-1]["failed"] == 1
    assert events[-1]["audio_hours_per_hour"] > 0
    assert [d["uri"] for d in json.loads(result.stdout)] == [f"conv{i}" for i in range(6)]
    # on stdout, in input order, as one process prints them
    single = invoke("-q", "diarize", corpus / "conv0.wav", corpus / "conv1.flac", "--fast")
    double = invoke("-q", "diarize", corpus / "conv0.wav", corpus / "conv1.flac", "--fast",
                    "--jobs", "2")
    assert single.exit_code == double.exit_code == 0
    assert double.stdout == single.stdout and single.stdout.count("SPEAKER conv1 ") > 0


def test_a_finished_batch_resumes_with_nothing_to_do(corpus, reference, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name, data in _rttms(reference[0]).items():
        (out / name).write_bytes(data)
    (out / ".conv0.rttm.0123abcd.tmp").write_text("SPEAKER conv0 1 0.0")   # a killed write
    result = invoke("-q", "diarize", corpus, "-o", out, "--fast")
    assert result.exit_code == 1                                        # broken.wav, again
    [error, summary] = result.stderr.splitlines()                       # -q: no progress
    assert error.startswith(f"Error: {corpus / 'broken.wav'}: ") and summary == "1 file failed."
    assert not list(out.glob(".*.tmp"))
    records = _done_once(out)         # outputs found complete are recorded as done, once
    assert {r["note"] for r in records if r["status"] == "done"} == {"output found complete"}


def test_batch_resumed_after_sigkill_of_the_parent(corpus, reference, tmp_path):
    """Killed at random points while it works, then run again: every RTTM there once, whole."""
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "streamz_speaker", "-q", "diarize", corpus, "-o", out, "--fast"]
    rng = random.Random(7)
    for kill in range(1, 4):
        jobs = ["--jobs", "2"] if kill % 2 else []       # with worker processes, and without
        process = subprocess.Popen(command + jobs, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(list(out.glob("*.rttm"))) < kill and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.0))
        workers = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGKILL)
        process.wait()
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive                       # its workers end with it
    final = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert final.returncode == 1, final.stderr
    assert _rttms(out) == _rttms(reference[0])
    assert sorted(p.name for p in out.iterdir() if p.suffix != ".rttm") == [
        "manifest.jsonl", "manifest.jsonl.lock"]                        # no temporary left
    _done_once(out)


def test_a_local_cluster_diarizes_and_featurizes_like_one_process(corpus, reference, cluster,
                                                                   tmp_path):
    out = tmp_path / "out"
    result = invoke("-q", "diarize", corpus, "-o", out, "--fast",
                    "--scheduler", cluster.scheduler_address)
    assert result.exit_code == 1
    assert _rttms(out) == _rttms(reference[0])
    assert all(r["worker"].startswith("tcp://") for r in _done_once(out))
    # features on the cluster, the model updated here: the same model as one process
    models = {}
    for where, extra in (("local", []), ("cluster", ["--scheduler", cluster.scheduler_address])):
        folder = tmp_path / where
        clips = write_clips(folder)
        listing = folder / "train.txt"
        listing.write_text("".join(f"{p.name},{p.stem[:-1]}\n" for p in clips))
        model = folder / "model.npz"
        trained = invoke("-q", "train", listing, "--model", model, "--epochs", "5",
                         *cache_args(folder), *extra)
        assert trained.exit_code == 0, trained.output
        identified = invoke("identify", *clips, "--model", model, *cache_args(folder), *extra)
        assert identified.exit_code == 0, identified.output
        with np.load(model) as saved:
            models[where] = ({k: saved[k] for k in saved.files
                              if k not in ("history_json", "provenance_json")},
                             identified.stdout.replace(str(folder), ""))
    local, remote = models["local"], models["cluster"]
    assert local[0].keys() == remote[0].keys()
    assert all(np.array_equal(local[0][k], remote[0][k]) for k in local[0])
    assert local[1] == remote[1] and "alice" in local[1]


def test_a_worker_killed_mid_batch_has_its_files_retried(corpus, reference, cluster, tmp_path):
    from distributed import Client

    from streamz_speaker.core.workers import BatchConfig
    from streamz_speaker.batch.diarize import DiarizeJob, diarize_batch, expand_inputs
    from streamz_speaker.diarization.config import DiarizationConfig, SegmentationConfig

    out = tmp_path / "out"
    job = DiarizeJob(DiarizationConfig(segmentation=SegmentationConfig(2.0)))
    batch = BatchConfig(scheduler=cluster.scheduler_address)
    outcomes, kept = [], {}
    with Client(cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
        for outcome in diarize_batch(expand_inputs([corpus]), job, out_dir=out, batch=batch):
            outcomes.append(outcome)
            if len(outcomes) == 2:      # mid-batch: a worker dies with a file in hand
                kept = {p.name: p.stat().st_mtime_ns for p in out.glob("*.rttm")}
                os.kill(next(iter(pids.values())), signal.SIGKILL)
    assert sorted(o.index for o in outcomes) == list(range(7))
    assert [o.path.name for o in outcomes if o.error] == ["broken.wav"]
    assert _rttms(out) == _rttms(reference[0])
    assert {p: out.joinpath(p).stat().st_mtime_ns for p in kept} == kept  # finished: kept
    _done_once(out)


def test_relative_paths_reach_the_cluster_workers(cluster, tmp_path, monkeypatch):
    """Workers run in folders of their own: relative paths (lists, caches, files) are given
    to them absolute, and errors still name the file as the user wrote it."""
    clips = write_clips(tmp_path / "clips", n=1)
    (tmp_path / "clips" / "train.txt").write_text("".join(f"{p.name},{p.stem[:-1]}\n"
                                                          for p in clips))
    monkeypatch.chdir(tmp_path)
    on_cluster = ["--feature-cache", "features", "--cache-dir", "cache",
                  "--scheduler", cluster.scheduler_address]
    trained = invoke("-q", "train", "clips/train.txt", "--model", "model.npz", "--epochs", "3",
                     *on_cluster)
    assert trained.exit_code == 0, trained.output
    assert len(list((tmp_path / "features").glob("*.npy"))) >= len(clips)   # written here
    identified = invoke("identify", "clips/alice0.wav", "missing.wav", "--model", "model.npz",
                        *on_cluster)
    assert identified.exit_code == 1
    assert identified.stdout.startswith("clips/alice0.wav\talice\t")
    assert "Error: missing.wav: file not found" in identified.stderr
