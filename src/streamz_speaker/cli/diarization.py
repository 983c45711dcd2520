"""Diarization commands of the CLI: ``diarize``, ``score`` and ``models``."""

from __future__ import annotations

import json

import click

from ._report import (compare_with, finish, plots_module, print_run, report_options,
                      write_report)
from ._shared import (DEFAULT_MODEL, Progress, batch_config, batch_options, notice, plural,
                      report_failures, shown, verbosity_options, warn)


@click.command()
@verbosity_options
@click.argument("reference", type=click.Path())
@click.argument("hypothesis", type=click.Path())
@click.option("--uem", type=click.Path(),
              help="Scored regions (uri channel start end); default: extent of both RTTMs.")
@click.option("--collar", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Seconds not scored around reference boundaries (collar/2 on each side).")
@click.option("--skip-overlap", is_flag=True, help="Do not score overlapped reference speech.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@report_options
def score(reference, hypothesis, uem, collar, skip_overlap, as_json, report_dir, baseline,
          max_regression):
    """Score an RTTM against a reference (DER).

    Diarization error rate of HYPOTHESIS against REFERENCE (RTTM files). Prints missed
    speech, false alarm and speaker confusion per file and in total, after the optimal
    one-to-one mapping of hypothesis to reference speakers. The totals come with their 95%
    bootstrap interval (files resampled).

    \b
    Examples:
        streamz score ref.rttm hyp.rttm --uem all.uem --collar 0.25
        streamz score ref.rttm hyp.rttm --report report/ --baseline before.json
    """
    import warnings

    from ..diarization.rttm import read_rttm
    from ..report.html import score_page
    from ..diarization.scoring import read_uem, score_report

    plots = plots_module(report_dir)
    ref = read_rttm(reference)
    hyp = read_rttm(hypothesis)
    uem_map = read_uem(uem) if uem else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = score_report(ref, hyp, uem=uem_map, collar=collar, skip_overlap=skip_overlap)
    for w in caught:
        warn(str(w.message))
    data = report.to_dict()
    comparison = compare_with(data, baseline, max_regression)
    print_run(data, _score_table(report), comparison, baseline, as_json)
    if plots is not None:
        write_report(report_dir, plots.score_figures(report, ref, hyp, uem_map), score_page,
                     data)
    finish(comparison)


def _score_table(report) -> str:
    """Per file and in total: DER and its parts in % of reference speech, speech seconds.

    The TOTAL row gives each figure's bootstrap interval (none for a single file).
    """
    rows = list(report.per_file.items()) + [("TOTAL", report.total)]
    cells = []
    for uri, components in rows:
        row = []
        for name, value in components.figures().items():
            interval = report.intervals.get(name) if uri == "TOTAL" else None
            row.append(f"{100 * (value or 0.0):7.2f}" + ("" if interval is None else
                       " [{:.2f}, {:.2f}]".format(*(100 * x for x in interval))))
        cells.append(row)
    widths = [max(len(cell) for cell in column) for column in zip(*cells)]
    uri_width = max([len(u) for u in report.per_file] + [5])
    header = [f"{title:>7}".ljust(w) for title, w in zip(("DER%", "missed%", "FA%", "conf%"),
                                                         widths)]
    lines = [f"{'file':<{uri_width}}  " + "  ".join(header) + f"  {'speech_s':>9}"]
    for (uri, components), row in zip(rows, cells):
        lines.append(f"{uri:<{uri_width}}  " + "  ".join(c.ljust(w) for c, w in zip(row, widths))
                     + f"  {components.total:9.3f}")
    return "\n".join(lines)


@click.command()
@verbosity_options
@click.argument("audio", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output-dir", type=click.Path(file_okay=False), default=None,
              help="Write one URI.rttm per input here, and manifest.jsonl, instead of RTTM "
                   "on stdout; files whose RTTM is there already are skipped (a batch "
                   "resumes).")
@click.option("--overwrite", is_flag=True,
              help="With -o: diarize every file again, replacing its RTTM.")
@click.option("--wait", "lock_timeout", type=click.FloatRange(min=0), default=0.0,
              help="With -o: seconds to wait for another run writing to the same folder "
                   "(default: fail at once).")
@click.option("--num-speakers", type=click.IntRange(min=1), default=None,
              help="Exact number of speakers, when known.")
@click.option("--min-speakers", type=click.IntRange(min=1), default=None,
              help="At least this many speakers.")
@click.option("--max-speakers", type=click.IntRange(min=1), default=None,
              help="At most this many speakers.")
@click.option("--fast", is_flag=True, help="2 s segmentation step instead of 1 s (about 1.5x faster).")
@click.option("--exclusive", is_flag=True, help="At most one speaker at a time in the output.")
@click.option("--min-duration-on", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Drop speaker turns shorter than this (seconds).")
@click.option("--min-duration-off", type=click.FloatRange(min=0), default=0.0,
              show_default=True, help="Fill pauses shorter than this inside one speaker's "
                                      "turn (seconds).")
@click.option("--pad-offset", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Extend every turn by this much at its end (seconds).")
@click.option("--models-dir", type=click.Path(file_okay=False), default=None,
              help="Models folder (default: $STREAMZ_MODELS_DIR, else the bundled models); a "
                   "pyannote community-1 folder (WeSpeaker ONNX + PLDA) is detected.")
@click.option("--threads", type=click.IntRange(min=0), default=0, show_default=True,
              help="Model calls run in parallel per worker, one ONNX Runtime thread each "
                   "(0: the cores shared among --jobs).")
@batch_options
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON (segments per file) instead of RTTM; progress as JSON lines "
                   "on stderr.")
@click.option("--identify", is_flag=True,
              help="Name speakers after those enrolled in --model: a cluster whose speech "
                   "reaches --threshold and whose turns agree, or a turn with 1.5 s of its "
                   "own verified speech, takes the name; the rest keep their SPEAKER_NN "
                   "label (--json says why, see README).")
@click.option("--model", "model_path", type=click.Path(), default=DEFAULT_MODEL,
              show_default=True, help="Speaker model for --identify.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.8, show_default=True,
              help="Confidence needed by --identify to name a speaker.")
@click.option("--transcript", "transcript_path", type=click.Path(exists=True), default=None,
              help="A speech-to-text transcript (Whisper, faster-whisper, WhisperX or "
                   "whisper.cpp JSON, SRT, WebVTT) of the one AUDIO file, or a folder of "
                   "them matched by file name: give every word its speaker. Written as "
                   "URI.FORMAT beside URI.rttm with -o, else on stdout instead of RTTM.")
@click.option("--transcript-format", type=click.Choice(["json", "srt", "vtt", "txt"]),
              default=None, help="Format of the labelled transcript (default: the input's; "
                                 "json: the input's JSON with \"speaker\" added).")
def diarize(audio, output_dir, overwrite, lock_timeout, num_speakers, min_speakers,
            max_speakers, fast, exclusive, min_duration_on, min_duration_off, pad_offset,
            models_dir, threads, jobs, scheduler, as_json, identify, model_path, threshold,
            transcript_path, transcript_format):
    """Who spoke when: write RTTM for each AUDIO file.

    AUDIO: audio files, folders of audio files, or lists of them (.txt, .lst or .list,
    one path per line). Files are worked on by --jobs processes or a dask cluster
    (--scheduler); a file that fails is reported on stderr (and in the manifest with -o),
    the others are still diarized, and the exit status is 1.

    With --transcript, who said what: each word of the file's transcript gets the speaker
    who talks most during it, and segments are split where the speaker changes.

    \b
    Examples:
      streamz diarize meeting.wav --max-speakers 4 > meeting.rttm
      streamz diarize calls/ -o rttm/ --jobs 2      # again later: only new files
      streamz diarize meeting.wav --transcript meeting.json --transcript-format srt
    """
    from ..batch.diarize import DiarizeJob, diarize_batch, expand_inputs
    from ..diarization.config import (FAST_SEGMENTATION_STEP_SECONDS, BinarizeConfig,
                                      ClusteringConfig, DiarizationConfig, SegmentationConfig)

    _check_identify_options(identify)
    for option, given in (("--overwrite", overwrite), ("--wait", lock_timeout)):
        if given and output_dir is None:
            raise click.UsageError(f"{option} only applies with -o/--output-dir")
    if num_speakers is not None and (min_speakers is not None or max_speakers is not None):
        raise click.UsageError("--num-speakers cannot be combined with --min/--max-speakers")
    if min_speakers and max_speakers and max_speakers < min_speakers:
        raise click.BadParameter(f"--max-speakers ({max_speakers}) < --min-speakers "
                                 f"({min_speakers})", param_hint="--max-speakers")
    paths = expand_inputs(audio)
    _check_distinct_uris(paths)
    extra = _transcript_output(paths, transcript_path, transcript_format, output_dir,
                               as_json)
    config = DiarizationConfig(
        segmentation=SegmentationConfig(FAST_SEGMENTATION_STEP_SECONDS) if fast
        else SegmentationConfig(),
        binarize=BinarizeConfig(min_duration_on=min_duration_on,
                                min_duration_off=min_duration_off, pad_offset=pad_offset),
        clustering=ClusteringConfig(num_speakers=num_speakers, min_speakers=min_speakers or 1,
                                    max_speakers=max_speakers),
        exclusive=exclusive)
    batch = batch_config(jobs, scheduler, threads)
    failures, results, rttm, printed, skipped = [], {}, {}, 0, 0
    with Progress(as_json) as progress:
        # stage bars for a single file; a batch shows one line per file instead
        job = DiarizeJob(config, models_dir, model_path if identify else None, threshold,
                         hook=progress if len(paths) == 1 else None)
        for done in diarize_batch(paths, job, out_dir=output_dir, batch=batch,
                                  overwrite=overwrite, lock_timeout=lock_timeout,
                                  hook=progress, extra=extra):
            skipped += done.skipped
            if done.error is not None:
                failures.append((done.index, done.path, done.error))
            elif as_json:
                results[done.index] = done
            if output_dir is None and not as_json:   # RTTM on stdout, in input order
                rttm[done.index] = ("" if done.error else done.extra if extra is not None
                                    else done.result.to_rttm())
                while printed in rttm:
                    text = rttm.pop(printed)
                    printed += 1
                    if text:
                        progress.close()
                        click.echo(text, nl=False)
    if as_json:
        click.echo(json.dumps([_result_json(results[i]) for i in sorted(results)], indent=2))
    if skipped:
        notice(f"skipped {plural(skipped, 'file')} whose RTTM is in {shown(output_dir)} "
               "already (--overwrite to redo)")
    report_failures([(path, error) for _, path, error in sorted(failures)])  # input order


def _transcript_output(paths, transcript_path, fmt, output_dir, as_json):
    """The labelled transcript as the batch's second output (None without --transcript)."""
    from pathlib import Path

    from ..batch.diarize import ExtraOutput, uri_of
    from ..core.errors import TranscriptError
    from ..transcript import (find_transcript, format_transcript, label_transcript, metadata,
                              output_format, read_transcript)

    if transcript_path is None:
        if fmt is not None:
            raise click.UsageError("--transcript-format only applies with --transcript")
        return None
    if Path(transcript_path).is_file() and len(paths) > 1:
        raise click.UsageError(f"--transcript {transcript_path} is one file, for one AUDIO "
                               f"file; for {len(paths)} files give a folder of transcripts "
                               "named after them")
    if output_dir is None and (len(paths) > 1 or as_json):
        raise click.UsageError("--transcript prints the labelled transcript on stdout: give "
                               "one AUDIO file without --json, or -o DIR")

    def name(path):
        return f"{uri_of(path)}.{output_format(find_transcript(path, transcript_path), fmt)}"

    def check(path):
        source = find_transcript(path, transcript_path)
        if output_dir is not None:
            target = Path(output_dir) / name(path)
            if target.exists() and target.resolve() == source.resolve():
                raise TranscriptError(f"{source}: the labelled transcript would replace it: "
                                      "write to another folder (-o)")
        read_transcript(source)     # fail before diarizing; read again after (a batch of
        #                             many files would otherwise hold every transcript)

    def render(path, result):
        transcript = read_transcript(find_transcript(path, transcript_path))
        labelled = label_transcript(transcript, result.segments, duration=result.duration)
        meta = metadata(labelled)
        fields = {"transcript": str(Path(transcript.source).absolute()),
                  "transcript_output": name(path), "word_timing": meta["word_timing"],
                  "segments_split": meta["segments_split"],
                  "unknown_words": meta["unknown_words"]}
        return format_transcript(labelled, fmt), fields

    return ExtraOutput(name, check, render)


def _result_json(done) -> dict:
    """One file of ``diarize --json``."""
    result = done.result
    row = {"file": shown(done.path), "uri": result.uri, "duration": round(result.duration, 3),
           "num_speakers": result.num_speakers, "speaker_count": _count_json(result.count),
           "segments": [{"start": round(s.start, 3), "end": round(s.end, 3), "speaker": s.label}
                        for s in result.segments]}
    if done.matches is not None:
        row["speakers"] = [m.to_dict() for m in done.matches]
    return row


def _count_json(count) -> dict | None:
    """How the speaker count was chosen; a gap ratio near 1 means the runner-up was close."""
    if count is None:
        return None
    return {"speakers": count.speakers, "method": count.method,
            "gap_ratio": None if count.gap_ratio is None else round(count.gap_ratio, 2),
            "runner_up": count.runner_up}


def _check_identify_options(identify: bool) -> None:
    """--model and --threshold mean nothing without --identify: say so rather than ignore them."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    given = [option for name, option in (("model_path", "--model"), ("threshold", "--threshold"))
             if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE]
    if given and not identify:
        verb = "applies" if len(given) == 1 else "apply"
        raise click.UsageError(f"{' and '.join(given)} only {verb} with --identify")


def _check_distinct_uris(paths) -> None:
    """Two inputs must never share an output: refuse inputs that would get the same uri."""
    from ..batch.diarize import uri_of

    first = {}
    for path in paths:
        uri = uri_of(path)
        if uri in first:
            raise click.UsageError(f"{first[uri]} and {path} would both be uri {uri!r} (and "
                                   f"{uri}.rttm with -o): diarize them in separate runs, or "
                                   "rename one")
        first[uri] = path


@click.command()
@verbosity_options
@click.option("--models-dir", type=click.Path(file_okay=False), default=None,
              help="Models folder (default: $STREAMZ_MODELS_DIR, else the bundled models).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def models(models_dir, as_json):
    """List the diarization models and their licenses.

    With each model's source, license and sha256 status.

    Exit status 1 when a listed model is missing or does not match its sha256.

    \b
    Example:
      streamz models --models-dir ~/pyannote-community-1
    """
    from dataclasses import asdict

    from ..core.model_assets import list_models, resolve_models_dir

    folder = resolve_models_dir(models_dir)
    rows = list_models(models_dir)
    if as_json:
        click.echo(json.dumps({"models_dir": str(folder), "models": [asdict(r) for r in rows]},
                              indent=2))
    else:
        click.echo(f"models: {folder}")
        for r in rows:
            click.echo(f"{r.file:28s} {r.role:19s} {r.license:24s} {r.status:10s} {r.sha256[:16]}")
    bad = [r for r in rows if r.status in ("missing", "mismatch")]
    if bad:
        raise click.ClickException(", ".join(f"{r.file}: {r.status}" for r in bad))
