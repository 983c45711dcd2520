"""The report's index.html: tables and figures of one run, readable from disk, no server."""

from __future__ import annotations

from html import escape

from ..core.bootstrap import with_interval

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
tr.worse td { background: #fde2e2; }
img { max-width: 100%; display: block; margin: 0.5em 0 1.5em; }
.note { color: #555; }
"""

#: Display names of the headline figures.
FIGURE_NAMES = {
    "accuracy": "closed-set accuracy", "open_set_accuracy": "open-set accuracy",
    "unknown_rejection": "unknown rejected", "known_false_rejection": "known falsely rejected",
    "auc": "known-vs-unknown AUC", "eer": "known-vs-unknown EER", "der": "DER",
    "miss_rate": "missed speech", "false_alarm_rate": "false alarm",
    "confusion_rate": "speaker confusion"}


def eval_page(data: dict, images: dict) -> str:
    """index.html of a speaker-ID evaluation.

    Parameters
    ----------
    data : dict
        ``EvalReport.to_dict()``, with the comparison under ``baseline`` when there is one.
    images : dict of str to str
        Figure stem (``confusion``, ``det``, ``scores``) -> file name beside the page.
    """
    figures = [(FIGURE_NAMES[name], with_interval(data[name], data["intervals"].get(name)))
               for name in data["intervals"]]
    speakers = [(name, with_interval(s["precision"], s["precision_interval"]),
                 with_interval(s["recall"], s["recall_interval"]), s["support"])
                for name, s in data["per_speaker"].items()]
    labels = data["confusion_labels"]
    body = [f"<p>{data['n_files']} files: {data['n_known']} of known speakers, "
            f"{data['n_unknown']} of unknown speakers; threshold {data['threshold']}.</p>",
            _intervals_note(data, "speakers, then each drawn speaker's files (files of "
                                  "unknown speakers on their own)"),
            "<h2>Figures</h2>", _table(["figure", "value [95% interval]"], figures),
            *_comparison(data),
            "<h2>Per speaker</h2>",
            _table(["speaker", "precision", "recall", "files"], speakers),
            "<h2>Confusion matrix</h2>", _image(images, "confusion", "Confusion matrix"),
            _table(["truth \\ decision", *labels],
                   [[label, *row] for label, row in zip(labels, data["confusion"])]),
            "<h2>Same and different speakers</h2>",
            "<p class='note'>Every file scored against every speaker of the model: its own "
            "speaker is a same-speaker trial, the others different-speaker trials.</p>",
            _image(images, "det", "DET curve"), _image(images, "scores", "Score histograms")]
    return _page("streamz eval", body)


def score_page(data: dict, images: dict) -> str:
    """index.html of a diarization scoring run.

    Parameters
    ----------
    data : dict
        ``ScoreReport.to_dict()``, with the comparison under ``baseline`` when there is one.
    images : dict of str to str
        Figure stem (``der``, ``timeline-NN-URI``) -> file name beside the page; the
        timelines in the order of ``data["files"]``.
    """
    total = data["total"]
    figures = [(FIGURE_NAMES[name], with_interval(_rate(total, name),
                                                  data["intervals"].get(name), percent=True))
               for name in data["intervals"]]
    rows = [[uri, *(f"{100 * _rate(f, name):.2f}" if f["total"] else "n/a"
                    for name in data["intervals"]), f"{f['total']:.3f}"]
            for uri, f in data["files"].items()]
    timelines = [stem for stem in images if stem.startswith("timeline-")]
    body = [f"<p>{len(data['files'])} files; collar {data['collar']} s, overlap "
            f"{'not ' if data['skip_overlap'] else ''}scored.</p>",
            _intervals_note(data, "files"),
            "<h2>Figures (% of reference speech)</h2>",
            _table(["figure", "value [95% interval]"], figures), *_comparison(data),
            "<h2>Per file</h2>", _image(images, "der", "DER per file"),
            _table(["file", "DER %", "missed %", "false alarm %", "confusion %", "speech s"],
                   rows),
            "<h2>Timelines</h2>",
            "<p class='note'>Speaker turns of the reference and the hypothesis (each "
            "hypothesis speaker named after the reference speaker it is mapped to), errors "
            "shaded.</p>"]
    for uri, stem in zip(data["files"], timelines):
        body += [f"<h3>{escape(uri)}</h3>", _image(images, stem, f"Timeline of {uri}")]
    return _page("streamz score", body)


_SECONDS = {"miss_rate": "missed", "false_alarm_rate": "false_alarm",
            "confusion_rate": "confusion"}


def _rate(components: dict, name: str) -> float | None:
    """A figure of ``scoring.FIGURES`` from a file's (or the total's) JSON components."""
    if name == "der":
        return components["der"]
    return components[_SECONDS[name]] / components["total"] if components["total"] else None


def _intervals_note(data: dict, units: str) -> str:
    b = data["bootstrap"]
    return (f"<p class='note'>Intervals: {b['confidence']:.0%} percentile bootstrap, "
            f"{b['resamples']} resamples of {escape(units)}, seed {b['seed']}. "
            "Raw results: <a href='results.json'>results.json</a> (usable as "
            "<code>--baseline</code>).</p>")


def _comparison(data: dict) -> list:
    """The baseline comparison section, when the run was compared with one."""
    c = data.get("baseline")
    if not c:
        return []
    how = (f"on the {c['n_common']} files of both runs" if c["paired"]
           else "the runs share no file: resampled independently")
    rows, worse = [], []
    for change in c["changes"]:
        rows.append([FIGURE_NAMES[change["figure"]],
                     *(with_interval(change[key], None, percent=True)
                       for key in ("baseline", "current")),
                     with_interval(change["difference"], change["interval"], percent=True),
                     "worse" if change["regression"] else ""])
        worse.append(change["regression"])
    return [f"<h2>Against the baseline {escape(str(c.get('path', '')))}</h2>",
            f"<p class='note'>Compared {how}. A figure is worse when it lost more than "
            f"{c['max_regression']} points and the interval of the change excludes 0.</p>",
            _table(["figure", "baseline %", "this run %", "change, points [95% interval]", ""],
                   rows, worse)]


def _table(header, rows, marked=()) -> str:
    marked = list(marked) + [False] * len(rows)
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join(
        f"<tr{' class=worse' if bad else ''}>"
        + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row, bad in zip(rows, marked))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(images: dict, stem: str, alt: str) -> str:
    src = images.get(stem)
    if src is None:
        return ""
    return f"<img src='{escape(src, quote=True)}' alt='{escape(alt, quote=True)}'>"


def _page(title: str, body: list) -> str:
    return ("<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            f"<title>{escape(title)} report</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{escape(title)} report</h1>\n" + "\n".join(b for b in body if b)
            + "\n</body>\n</html>\n")
