"""Help texts and exit codes that hold for every command."""

import pytest

from cli_support import cache_args, invoke, train_small_model
from streamz_speaker.cli import cli

COMMANDS = sorted(cli.commands)


def test_command_summaries_are_whole_sentences():
    result = invoke("--help")
    assert result.exit_code == 0
    summaries = result.stdout.split("Commands:\n")[1].splitlines()
    assert len(summaries) == len(COMMANDS)
    assert all(line.rstrip().endswith((".", ")")) and "..." not in line for line in summaries)


@pytest.mark.parametrize("command", COMMANDS)
def test_defaults_of_arguments_are_stated(command):
    defaults = [p.default for p in cli.commands[command].params
                if p.param_type_name == "argument" and not p.required]
    help_text = " ".join(invoke(command, "--help").stdout.split())
    for default in defaults:
        assert f"(default: {default})" in help_text


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_accepts_quiet_and_verbose(command):
    names = {name for p in cli.commands[command].params for name in p.opts}
    assert {"-q", "--quiet", "-v", "--verbose"} <= names


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    return train_small_model(tmp_path_factory.mktemp("help"))


@pytest.mark.parametrize("args", [
    ["train", "{}"], ["eval", "{}"], ["check-embeddings", "{}"], ["identify", "{}"],
    ["enroll", "x", "{}", "--no-train"], ["score", "{}", "{}"], ["diarize", "{}"]])
def test_a_folder_fails_like_a_missing_file(tmp_path, small_model, args):
    folder, missing = tmp_path / "folder", tmp_path / "missing.wav"
    folder.mkdir()
    extra = [] if args[0] in ("score", "diarize") else ["--model", small_model, *cache_args(tmp_path)]
    results = [invoke(*[str(path) if a == "{}" else a for a in args], *extra)
               for path in (folder, missing)]
    assert [r.exit_code for r in results] == [1, 1], [r.output for r in results]
    assert f"Error: {folder}: " in results[0].stderr and "directory" in results[0].stderr


def test_check_embeddings_says_why_a_figure_is_missing(small_model, tmp_path):
    folder = small_model.parent.parent
    lst = tmp_path / "one_each.txt"
    lst.write_text(f"{folder / 'alice0.wav'},alice\n{folder / 'bob0.wav'},bob\n")
    result = invoke("-q", "check-embeddings", lst, "--model", small_model,
                    *cache_args(tmp_path))
    assert result.exit_code == 0, result.output
    assert "None" not in result.stdout
    assert "intra_similarity: n/a (no speaker has two files)" in result.stdout
    assert "silhouette: n/a (no speaker has two files)" in result.stdout
