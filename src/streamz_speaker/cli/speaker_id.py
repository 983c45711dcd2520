"""Speaker-identification commands: train, identify, eval, enroll and the embedding checks."""

from __future__ import annotations

import json

import click

from ._report import (compare_with, finish, plots_module, print_run, report_options,
                      write_report)
from ._shared import (DEFAULT_MODEL, Progress, batch_config, batch_options, cache_config,
                      cache_options, load_speaker_model, model_option, notice, plural,
                      report_failures, shown, threshold_option, verbosity_options, warn)


@click.command()
@verbosity_options
@click.argument("file_list", required=False, default="train_files.txt", type=click.Path())
@model_option
@threshold_option
@click.option("--burn-in-limit", type=click.IntRange(min=0), default=None,
              help="Files learned before the normal new-speaker rule applies "
                   "[default: 20% of the list, 10..50].")
@click.option("--max-speakers", type=click.IntRange(min=1), default=100, show_default=True,
              help="No new speaker is created past this many.")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True,
              help="Epochs of the first training.")
@click.option("--update-epochs", type=click.IntRange(min=1), default=5, show_default=True,
              help="Epochs per file learned by a later run (at most --epochs per run).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--features", type=click.Choice(["embedding", "mfcc"]), default=None,
              help="Front end of a new model: CAM++ speaker embeddings or MFCC windows "
                   "[default: embedding; an existing model keeps its own].")
@click.option("--retrain", "--force", "retrain", is_flag=True,
              help="Forget the saved model and learn the whole list again.")
@click.option("--target-list", type=click.Path(), default=None,
              help="Evaluation list to refresh [default: target_files.txt beside FILE_LIST].")
@click.option("--wait", "lock_timeout", type=click.FloatRange(min=0), default=0.0,
              help="Seconds to wait for another run holding the model (default: fail at once).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's report as JSON.")
@cache_options
@batch_options
def train(file_list, model_path, threshold, burn_in_limit, max_speakers, epochs,
          update_epochs, seed, features, retrain, target_list, lock_timeout, as_json, cache_dir,
          feature_cache, no_cache_wav, jobs, scheduler):
    """Learn the new files of FILE_LIST.

    FILE_LIST (default: train_files.txt) has one audio file per line, path[,label].
    Files already learned are skipped, so the command suits a cron job. Unlabelled files
    are matched to a known speaker or become a new one, and the label is written back.
    Features are computed by --jobs processes or a dask cluster (--scheduler); this
    process alone updates the model and the list.

    \b
    Example:
      streamz train train_files.txt --model models/model.npz
    """
    from ..core.config import FeatureConfig
    from ..speaker_id.training import TrainConfig, train as train_model

    cfg = TrainConfig(threshold=threshold, burn_in_limit=burn_in_limit,
                      max_speakers=max_speakers, epochs=epochs, update_epochs=update_epochs,
                      seed=seed, retrain=retrain, lock_timeout=lock_timeout)
    target_list = target_list or _default_target_list(file_list)
    batch = batch_config(jobs, scheduler)
    with Progress(as_json) as progress:
        report = train_model(file_list, model_path, cfg, target_list=target_list,
                             feature_config=FeatureConfig(kind=features) if features else None,
                             cache=cache_config(cache_dir, feature_cache, no_cache_wav),
                             hook=progress, batch=batch)
    if as_json:
        click.echo(json.dumps(report.to_dict(path=shown), indent=2))
    else:
        for path, label, confidence, is_new in report.assigned:
            how = "new speaker" if is_new else f"confidence {confidence:.2f}"
            click.echo(f"{shown(path)}\t{label}\t({how})")
        _train_notices(report)
    report_failures(report.failures)


def _default_target_list(train_list):
    """The evaluation list that goes with a training list: target_files.txt beside it."""
    from pathlib import Path

    return Path(train_list).parent / "target_files.txt"


def _train_notices(report) -> None:
    """What a training run did, on stderr: files, new speakers, target lines removed."""
    new = report.new_speakers
    names = f" ({', '.join(new)})" if new else ""
    notice(f"learned {plural(len(report.learned), 'file')}, skipped {report.skipped} already "
           f"learned, {plural(len(new), 'new speaker')}{names}; model: "
           f"{shown(report.model_path)}")
    _removed_notice(report.target_list, report.targets_removed)


def _removed_notice(target_list, removed) -> None:
    """Say which lines of the evaluation list were removed because their audio is learned."""
    if removed:
        notice(f"removed {plural(len(removed), 'line')} from {shown(target_list)}, whose audio "
               "is now learned (evaluation stays on unseen audio):"
               + "".join(f"\n  {shown(path)}" for path in removed))


@click.command()
@verbosity_options
@click.argument("files", nargs=-1, required=True, type=click.Path())
@model_option
@threshold_option
@click.option("--list", "as_list", is_flag=True,
              help="Also list every speaker heard, with their share of the file's windows (a "
                   "window below --threshold counts as unknown).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@cache_options
@batch_options
def identify(files, model_path, threshold, as_list, as_json, cache_dir, feature_cache,
             no_cache_wav, jobs, scheduler):
    """Say who speaks in each FILE (or "unknown").

    Prints one line per file: the file, the speaker and that best match's confidence. The
    speaker is "unknown" when the confidence is below --threshold, or when another voice
    speaks for 3 s or more (its windows contradict the best match: several people speak; see
    --list, or use `streamz diarize --identify`).

    \b
    Example:
      streamz identify call.wav --threshold 0.8
    """
    from ..speaker_id.identification import identify_files

    batch = batch_config(jobs, scheduler)
    model = load_speaker_model(model_path)
    with Progress(as_json) as progress:
        results, failures = identify_files(
            model, files, threshold=threshold,
            cache=cache_config(cache_dir, feature_cache, no_cache_wav), hook=progress,
            batch=batch)
    rows = []
    for r in results:
        row = {"file": shown(r.path), "speaker": r.speaker, "best": r.best,
               "confidence": round(r.confidence, 4),
               "agreement": round(r.agreement(model.speakers, threshold), 4),
               "several_speakers": r.several_speakers(model.speakers, threshold)}
        if as_list:
            row["speakers"] = [{"speaker": s, "windows": n, "share": round(share, 4)}
                               for s, n, share in r.speaker_shares(model.speakers, threshold)]
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    for row, r in zip(rows, results) if not as_json else ():
        click.echo(f"{row['file']}\t{row['speaker']}\t{row['confidence']:.3f}")
        if as_list:
            click.echo(_shares_text(row, threshold, r.confidence))
    report_failures(failures)


def _shares_text(row: dict, threshold: float, confidence: float) -> str:
    """The indented lines under a file in ``identify --list`` (``confidence`` unrounded)."""
    from ..speaker_id.identification import SECOND_VOICE_SECONDS, UNKNOWN

    why = "" if confidence >= threshold else f", below --threshold {threshold}"
    if row["several_speakers"]:
        why += (f"{'; and' if why else ', but'} another voice speaks for "
                f"{SECOND_VOICE_SECONDS:g} s or more: more than one speaker?")
    lines = [f"  best match: {row['best']}, confidence {row['confidence']:.3f}{why}"]
    windows = sum(s["windows"] for s in row["speakers"])
    for s in row["speakers"]:
        why = f": no speaker reaches {threshold}" if s["speaker"] == UNKNOWN else ""
        lines.append(f"  {s['speaker']}\t{s['share']:.1%}\t({s['windows']} of "
                     f"{plural(windows, 'window')}{why})")
    return "\n".join(lines)


@click.command(name="eval")
@verbosity_options
@click.argument("file_list", required=False, default="target_files.txt", type=click.Path())
@model_option
@threshold_option
@click.option("--eval-split", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=None,
              help="Instead: hold out this fraction of FILE_LIST's labelled files, train a "
                   "temporary model on the rest (the saved model is untouched) and score it.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the split and of the bootstrap intervals.")
@click.option("--target-far", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="False-accept rate (unknown-speaker files given a name) for which to "
                   "report the confidence threshold and the known files it rejects.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@report_options
@cache_options
@batch_options
def evaluate_cmd(file_list, model_path, threshold, eval_split, seed, target_far, as_json,
                 report_dir, baseline, max_regression, cache_dir, feature_cache, no_cache_wav,
                 jobs, scheduler):
    """Accuracy of the model on a labelled list.

    FILE_LIST (default: target_files.txt) has lines path,label. Labels the model does not
    know (e.g. "unknown") are unknown speakers: they measure rejection, the
    known-vs-unknown AUC, EER and minimum detection cost (p_target 0.01), and the threshold
    that keeps the false-accept rate at --target-far. Each headline figure comes with its
    95% bootstrap interval (speakers, then their files, resampled).

    \b
    Examples:
      streamz eval target_files.txt --json > baseline.json
      streamz eval target_files.txt --report report/ --baseline baseline.json
    """
    from ..speaker_id.evaluation import evaluate_list, evaluate_split
    from ..report import BootstrapConfig
    from ..report.html import eval_page

    plots = plots_module(report_dir)
    cache = cache_config(cache_dir, feature_cache, no_cache_wav)
    bootstrap = BootstrapConfig(seed=seed)
    batch = batch_config(jobs, scheduler)
    with Progress(as_json) as progress:
        if eval_split is not None:
            report = evaluate_split(file_list, eval_split, threshold=threshold, seed=seed,
                                    cache=cache, hook=progress, bootstrap=bootstrap,
                                    batch=batch, target_far=target_far)
        else:
            report = evaluate_list(load_speaker_model(model_path), file_list,
                                   threshold=threshold, cache=cache, hook=progress,
                                   bootstrap=bootstrap, batch=batch, target_far=target_far)
    data = report.to_dict(path=shown)
    comparison = compare_with(data, baseline, max_regression, seed)
    print_run(data, _format_eval(report), comparison, baseline, as_json)
    if plots is not None:
        write_report(report_dir, plots.eval_figures(report), eval_page, data)
    if report.learned_files:
        warn(f"the model was trained on {len(report.learned_files)} of the {report.n_files} "
             "files evaluated: these figures overstate its accuracy on new audio")
    finish(comparison, report.failures)


def _num(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _format_eval(report) -> str:
    from ..core.bootstrap import with_interval

    def pct(name, value):
        return with_interval(value, report.intervals.get(name))

    r, b = report, report.bootstrap
    lines = [f"files: {report.n_files} (of known speakers: {report.n_known}, of unknown "
             f"speakers: {report.n_unknown})",
             f"closed-set accuracy: {pct('accuracy', r.accuracy)}",
             f"open-set accuracy @ {r.threshold}: {pct('open_set_accuracy', r.open_set_accuracy)}",
             f"unknown rejected: {pct('unknown_rejection', r.unknown_rejection)}   known falsely "
             f"rejected: {pct('known_false_rejection', r.known_false_rejection)}",
             f"known-vs-unknown AUC: {pct('auc', r.auc)}   EER: {pct('eer', r.eer)}",
             f"[{b['confidence']:.0%} bootstrap intervals: speakers, then their files, "
             f"resampled {b['resamples']} times, seed {b['seed']}]",
             f"minDCF (p_target 0.01): {_num(r.min_dcf)}   threshold for false-accept rate <= "
             f"{r.target_far:.1%}: {_num(r.far_threshold)} (false accepts "
             f"{_pct(r.far_achieved)}, known rejected {_pct(r.frr_at_far)})",
             "",
             f"{'speaker':<12} {'precision':<21}  {'recall':<21}  support"]
    for name, s in report.per_speaker.items():
        lines.append(f"{name:<12} {pct('precision/' + name, s['precision']):<21}  "
                     f"{pct('recall/' + name, s['recall']):<21}  {s['support']:>7}")
    width = max(len(label) for label in report.confusion_labels)
    lines += ["", "confusion (rows: truth, columns: decision)",
              " " * (width + 1) + " ".join(f"{label:>{width}}" for label in report.confusion_labels)]
    for label, row in zip(report.confusion_labels, report.confusion):
        lines.append(f"{label:<{width}} " + " ".join(f"{n:>{width}}" for n in row))
    return "\n".join(lines)


@click.command()
@verbosity_options
@click.argument("model", required=False, default=DEFAULT_MODEL, type=click.Path())
@click.option("--json", "as_json", is_flag=True,
              help="JSON output, with the sha256 and label of every learned file.")
def info(model, as_json):
    """Show how a speaker model was made.

    MODEL (default: models/model.npz): the streamz version that last wrote it, the
    training configuration and seed, the feature front end and its models' sha256, the
    speakers, the learned files' digest, and the recent training runs.

    \b
    Example:
      streamz info models/model.npz --json
    """
    from ..core.provenance import model_info

    details = model_info(load_speaker_model(model), shown(model), files=as_json)
    if as_json:
        click.echo(json.dumps(details, indent=2))
    else:
        click.echo(_info_text(details))


def _info_text(d: dict) -> str:
    """``streamz info`` as text."""
    def pairs(values: dict) -> str:
        return " ".join(f"{key}={value}" for key, value in values.items())

    missing = f"not recorded (model format {d['format_version']}, written before streamz " \
              "recorded it)"
    models = d["front_end_models"]
    lines = [f"model: {d['model']} (format {d['format_version']})",
             "written by: " + (f"streamz {d['streamz_version']}, created {d['created']}, "
                               f"updated {d['updated']}" if d["streamz_version"] else missing),
             f"features: {d['feature_config']['kind']}; front-end models: " + (
                 missing if models is None else
                 ", ".join(f"{f} sha256 {h}" for f, h in models.items()) or "none"),
             f"speakers: {len(d['speakers'])}: " + ", ".join(
                 f"{s} ({plural(n, 'file')})" for s, n in d["speakers"].items()),
             f"learned files: {d['learned_files']}, digest sha256 {d['learned_digest']}",
             f"seed: {missing if d['seed'] is None else d['seed']}",
             "training config (last run): " + (missing if d["train_config"] is None
                                               else pairs(d["train_config"])),
             f"classifier: {pairs(d['classifier'])}",
             f"feature config: {pairs(d['feature_config'])}",
             f"runs: {d['runs_total']}" + (f" (the last {len(d['history'])} kept)"
                                           if d["runs_total"] > len(d["history"]) else "")]
    for run in d["history"]:
        seconds = f"  {run['seconds']} s" if "seconds" in run else ""
        version = f"  streamz {run['streamz_version']}" if "streamz_version" in run else ""
        new = ", ".join(run.get("new_speakers", [])) or "none"
        lines.append(f"  {run.get('time', '?')}{seconds}{version}  learned {run.get('files')}"
                     f"  skipped {run.get('skipped', '?')}  failed {run.get('failures')}"
                     f"  new speakers: {new}")
    return "\n".join(lines)


def _labelled_paths(file_list):
    from ..speaker_id.ledger import read_ledger

    entries = read_ledger(file_list, allow_empty=False)
    return [e.path for e in entries], [e.label for e in entries]


@click.command(name="check-embeddings")
@verbosity_options
@click.argument("file_list", required=False, default="train_files.txt", type=click.Path())
@model_option
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@cache_options
def check_embeddings(file_list, model_path, as_json, cache_dir, feature_cache, no_cache_wav):
    """Check how well the model separates speakers.

    Prints, over the labelled files of FILE_LIST (default: train_files.txt), the mean
    intra- and inter-speaker cosine similarity of the model's speaker embeddings and the
    silhouette score.

    \b
    Example:
      streamz check-embeddings train_files.txt
    """
    from ..speaker_id.speaker_space import file_embeddings, separation

    model = load_speaker_model(model_path)
    paths, labels = _labelled_paths(file_list)
    keep = [i for i, label in enumerate(labels) if label is not None]
    with Progress() as progress:
        emb, ok, failures = file_embeddings(model, [paths[i] for i in keep],
                                            cache=cache_config(cache_dir, feature_cache,
                                                                no_cache_wav), hook=progress)
    stats = separation(emb, [labels[keep[i]] for i in ok])
    if as_json:
        click.echo(json.dumps(stats, indent=2))
    else:
        for key, value in stats.items():
            shown = ("n/a (no speaker has two files)" if value is None
                     else value if isinstance(value, int) else round(value, 4))
            click.echo(f"{key}: {shown}")
    report_failures(failures)


@click.command(name="cluster-embeddings")
@verbosity_options
@click.argument("k", type=click.IntRange(min=1))
@click.argument("file_list", required=False, default="train_files.txt", type=click.Path())
@model_option
@click.option("--seed", type=int, default=0, show_default=True, help="k-means seed.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@cache_options
def cluster_embeddings(k, file_list, model_path, seed, as_json, cache_dir, feature_cache,
                       no_cache_wav):
    """Group files into K clusters of similar voices.

    k-means over one speaker embedding per file of FILE_LIST (default: train_files.txt).

    \b
    Example:
      streamz cluster-embeddings 4 unlabelled_files.txt
    """
    from ..speaker_id.speaker_space import cluster, file_embeddings

    model = load_speaker_model(model_path)
    paths, labels = _labelled_paths(file_list)
    with Progress() as progress:
        emb, ok, failures = file_embeddings(model, paths, hook=progress,
                                            cache=cache_config(cache_dir, feature_cache,
                                                                no_cache_wav))
    assignment = cluster(emb, k, seed=seed)
    rows = [{"file": shown(paths[i]), "cluster": int(c), "label": labels[i]}
            for i, c in zip(ok, assignment)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        for row in rows:
            click.echo(f"{row['file']}\t{row['cluster']}" + (f"\t{row['label']}" if row["label"] else ""))
    report_failures(failures)


def _segments(ctx, param, values):
    """``--segment START-END`` values as (start, end) pairs; a bad range is a usage error."""
    from ..speaker_id.enrollment import parse_range
    from ..core.errors import ConfigError

    try:
        return [parse_range(text) for text in values]
    except ConfigError as e:
        raise click.BadParameter(str(e)) from e


@click.command()
@verbosity_options
@click.argument("name")
@click.argument("audio", type=click.Path())
@click.option("--segment", "segments", multiple=True, metavar="START-END", callback=_segments,
              help="Use only this time range, in seconds (repeatable).")
@click.option("--rttm", type=click.Path(), default=None,
              help="Use the turns of --speaker in this RTTM (e.g. from streamz diarize).")
@click.option("--speaker", default=None, help="Speaker label in --rttm (e.g. SPEAKER_01).")
@click.option("--train-list", "list_path", type=click.Path(), default="train_files.txt",
              show_default=True, help="Training list the recording is added to.")
@click.option("--target-list", type=click.Path(), default=None,
              help="Evaluation list whose lines naming AUDIO are removed "
                   "[default: target_files.txt beside --train-list].")
@model_option
@click.option("--enroll-dir", type=click.Path(file_okay=False), default=None,
              help="Where excerpts are saved [default: enrolled/ beside the list].")
@click.option("--train/--no-train", "do_train", default=True, show_default=True,
              help="Learn the list's new entries right away.")
@click.option("--wait", "lock_timeout", type=click.FloatRange(min=0), default=0.0,
              help="Seconds to wait for another run holding the model.")
@cache_options
def enroll(name, audio, segments, rttm, speaker, list_path, target_list, model_path, enroll_dir,
           do_train, lock_timeout, cache_dir, feature_cache, no_cache_wav):
    """Enrol speaker NAME from AUDIO.

    All of AUDIO, time ranges of it, or one speaker's turns in an RTTM. The audio (or
    the excerpt, saved as WAV) is appended to the training list as "path,NAME" and
    learned like any other training file. Enrolling the same audio again adds nothing.
    Lines of the evaluation list that name AUDIO are removed.

    \b
    Examples:
      streamz enroll alice alice_intro.wav
      streamz enroll bob meeting.wav --segment 12.5-31 --segment 40-52
      streamz enroll carol meeting.wav --rttm meeting.rttm --speaker SPEAKER_02
    """
    from pathlib import Path

    from ..speaker_id.enrollment import enroll as enroll_speaker, speaker_turns
    from ..speaker_id.training import TrainConfig, train as train_model

    if segments and rttm:
        raise click.UsageError("use either --segment or --rttm, not both")
    if (rttm is None) != (speaker is None):
        raise click.UsageError("--rttm and --speaker go together")
    ranges = segments or None
    if rttm is not None:
        ranges = speaker_turns(rttm, speaker, uri=Path(audio).stem)
    target_list = target_list or _default_target_list(list_path)
    done = enroll_speaker(name, audio, list_path=list_path, model_path=model_path,
                          ranges=ranges, enroll_dir=enroll_dir, target_list=target_list,
                          lock_timeout=lock_timeout)
    if done.added:
        notice(f"added {done.line} to {shown(list_path)}")
    else:
        notice(f"{done.line}: already enrolled, nothing added")
    _removed_notice(target_list, done.targets_removed)
    if do_train:
        with Progress() as progress:
            report = train_model(list_path, model_path, TrainConfig(lock_timeout=lock_timeout),
                                 cache=cache_config(cache_dir, feature_cache, no_cache_wav),
                                 target_list=target_list, hook=progress)
        _train_notices(report)
        report_failures(report.failures)
