"""The parallel map (streamz_speaker.core.workers) and the diarization batch's folder bookkeeping."""

import json
import os
import signal
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from streamz_speaker.core import workers as batch_module
from streamz_speaker.core.workers import BatchConfig, run_batch
from streamz_speaker.batch.diarize import Manifest, expand_inputs
from streamz_speaker.core.errors import ConfigError, FeatureError, MissingDependencyError, WorkerError


@dataclass(frozen=True)
class Loader:
    """A stand-in for loading models: records which process built it, and when."""

    folder: str                       # where the tasks leave their marks

    def __call__(self, threads):
        mark = Path(self.folder) / f"setup-{os.getpid()}-{uuid.uuid4().hex}"
        mark.write_text(str(threads))
        return {"pid": os.getpid(), "threads": threads}


def square(resources, item):
    """Squares, fails on 5, and kills its own worker the first time it sees a "die" item."""
    number, die = item
    if die:
        mark = Path(die)
        if not mark.exists():
            mark.write_text("killed once")
            os.kill(os.getpid(), signal.SIGKILL)
    if number == 5:
        raise FeatureError("five is not welcome")
    return number * number, resources["pid"], resources["threads"]


def _items(tmp_path, n=8, die_at=None):
    return [(i, str(tmp_path / "died") if i == die_at else None) for i in range(n)]


def _check(outcomes, n=8):
    assert sorted(o.index for o in outcomes) == list(range(n))       # each item exactly once
    by_index = {o.index: o for o in outcomes}
    for i in range(n):
        if i == 5:
            assert isinstance(by_index[i].error, FeatureError) and by_index[i].value is None
        else:
            assert by_index[i].ok and by_index[i].value[0] == i * i
    return by_index


def test_in_this_process_resources_are_built_once(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    outcomes = list(run_batch(square, _items(tmp_path), setup=Loader(str(marks))))
    by_index = _check(outcomes)
    assert [o.index for o in outcomes] == list(range(8))             # in order, here
    assert len(os.listdir(marks)) == 1                                # one setup
    assert {o.value[1] for o in by_index.values() if o.ok} == {os.getpid()}
    assert by_index[0].value[2] == 0            # one job: each stage's own default threads


def test_worker_processes_load_once_and_share_the_cores(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    outcomes = list(run_batch(square, _items(tmp_path), setup=Loader(str(marks)),
                              config=BatchConfig(jobs=2)))
    by_index = _check(outcomes)
    pids = {o.value[1] for o in by_index.values() if o.ok}
    assert os.getpid() not in pids and len(os.listdir(marks)) == len(pids) <= 2
    assert {o.value[2] for o in by_index.values() if o.ok} == {max(1, os.cpu_count() // 2)}


def test_a_killed_worker_process_has_its_file_retried(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    outcomes = list(run_batch(square, _items(tmp_path, die_at=3), setup=Loader(str(marks)),
                              config=BatchConfig(jobs=2)))
    _check(outcomes)
    assert (tmp_path / "died").exists()        # the worker was killed on item 3, which ran again


def test_workers_that_keep_dying_fail_the_files_in_flight(tmp_path, monkeypatch):
    monkeypatch.setattr(batch_module, "ALLOWED_WORKER_DEATHS", 1)
    marks = tmp_path / "marks"
    marks.mkdir()
    outcomes = list(run_batch(square, _items(tmp_path, n=4, die_at=0), setup=Loader(str(marks)),
                              config=BatchConfig(jobs=2)))
    assert sorted(o.index for o in outcomes) == [0, 1, 2, 3]
    lost = [o for o in outcomes if not o.ok]
    assert lost and all(isinstance(o.error, WorkerError) for o in lost)
    assert "died 1 times" in str(lost[0].error)


def test_threads_per_worker():
    cores = os.cpu_count()
    assert BatchConfig().worker_threads() == 0
    assert BatchConfig(jobs=2).worker_threads() == max(1, cores // 2)
    assert BatchConfig(jobs=4 * cores).worker_threads() == 1
    assert BatchConfig(jobs=2, threads=3).worker_threads() == 3
    assert BatchConfig(scheduler="tcp://127.0.0.1:8786").worker_threads() == 1
    with pytest.raises(ConfigError, match="jobs must be >= 1"):
        BatchConfig(jobs=0)


def test_missing_dask_says_which_pip_install(monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'streamz-speaker\[dask\]'"):
        list(run_batch(square, _items(tmp_path), setup=Loader(str(tmp_path)),
                       config=BatchConfig(scheduler="tcp://127.0.0.1:8786")))


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(batch_module, "CONNECT_TIMEOUT_SECONDS", 1)
    with pytest.raises(WorkerError, match="cannot reach the dask scheduler at tcp://127.0.0.1:9"):
        list(run_batch(square, _items(tmp_path), setup=Loader(str(tmp_path)),
                       config=BatchConfig(scheduler="tcp://127.0.0.1:9")))


@pytest.mark.slow
def test_on_a_local_cluster_a_killed_worker_has_its_file_retried(cluster, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    outcomes = list(run_batch(square, _items(tmp_path, die_at=2), setup=Loader(str(marks)),
                              config=BatchConfig(scheduler=cluster.scheduler_address)))
    by_index = _check(outcomes)
    assert (tmp_path / "died").exists()
    assert all(o.worker.startswith("tcp://") for o in by_index.values())
    assert {o.value[2] for o in by_index.values() if o.ok} == {1}  # one model thread a task


def test_expand_inputs_folders_lists_and_files(tmp_path):
    folder = tmp_path / "calls"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.wav", "a.mp3", "notes.txt", "sub/c.wav"):
        (folder / name).write_bytes(b"x")
    listed = tmp_path / "more.txt"
    listed.write_text("# two more\nx/one.flac\n/abs/two.wav,alice   # a label is ignored\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert expand_inputs([folder, listed, tmp_path / "solo.ogg", empty]) == [
        folder / "a.mp3", folder / "b.wav", tmp_path / "x" / "one.flac", Path("/abs/two.wav"),
        tmp_path / "solo.ogg", empty]


def test_manifest_survives_a_line_cut_by_a_crash(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_text(json.dumps({"file": "a", "status": "done"}) + "\n" + '{"file": "b", "sta')
    manifest = Manifest(path)
    manifest.append({"file": "c", "status": "failed"})
    assert [r["file"] for r in manifest.records()] == ["a", "c"]
    assert path.read_text().endswith('"sta\n{"file": "c", "status": "failed"}\n')


def _where(resources, path):
    return os.path.abspath(path)


def test_reused_local_workers_take_relative_paths_from_the_callers_folder(tmp_path, monkeypatch):
    """joblib keeps local workers alive between batches: a batch run from another folder
    must still find its files by their relative paths."""
    config = BatchConfig(jobs=2)
    for folder in (tmp_path / "a", tmp_path / "b"):
        folder.mkdir()
        monkeypatch.chdir(folder)
        outcomes = list(run_batch(_where, ["x.wav", "y.wav"], setup=Loader(str(tmp_path)),
                                  config=config))
        assert sorted(o.value for o in outcomes) == [str(folder / "x.wav"), str(folder / "y.wav")]
