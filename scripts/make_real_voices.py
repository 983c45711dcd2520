"""Build a real-voice speaker-ID development set: the Drascula voice casts and Asterisk prompts.

Usage::

    python scripts/make_real_voices.py [--out build/real-voices] [--debs build/real-voices-debs]
    python scripts/real_voice_pairs.py [--corpus build/real-voices]
    python benchmarks/open_set.py --corpus build/real-voices/tune

Speakers are real people from Debian packages, fetched with ``apt-get download`` and unpacked
with ``dpkg-deb -x`` (no root needed):

* ``drascula`` (English voice acting) and ``drascula-spanish`` (the Spanish cast of the same
  roles): each ``.ALS`` speech file is unsigned 8-bit PCM at 11025 Hz after a 32-byte header,
  less a 64-byte tail, as ScummVM's engine plays it. The role follows from the file name as the
  engine's ``talk_*`` functions build it (see ROLES): digits only: the hero, John Hacker;
  ``D1``-``D56``: Drascula; ``D57``-``D67``: the hero again (``talk_hacker``); ``VB``: Von Braun;
  ``BJ``: B.J.; ``L``: the werewolf; ``I``: Igor; ``T``: the bartender; ``B``: the drunk;
  ``P``: the pianist. Skipped: ``S`` (sound effects), ``D68``-``D83`` (the blind man and two
  one-off lines), ``E`` (the musician) and ``F`` (three lines shared by both packages), which
  are not among the nine roles. Lines of the Spanish package that are English recordings
  (symlinks into ``../en`` or the same samples, found by cross-correlation) are skipped, and so
  are their English originals (takes not re-dubbed: they sound unlike the rest of their role),
  as is any second copy of one recording. Lines are written as 16-bit WAV at their native 11025 Hz.
* The Asterisk voice prompts of ``scripts/make_real_check.py`` (its VOICES and ``decode``),
  one speaker per person: Allison Smith's English and Spanish prompts are one speaker, and so
  are the wideband and narrowband prompts of June Wallack and of Carlo Flora (a prompt name is
  used once per person, so one recording never appears at two rates). Prompts are written at
  their native rate (G.722: 16 kHz, WAV and GSM: 8 kHz).

Lines of 1.5-10 s are kept; a line that is near silent or clipped is rejected. Speakers with
fewer than 8 usable lines are dropped. Two speaker-disjoint parts, each laid out like
``../shared/data/dev-wide/id`` (paths relative to the list's folder):

* ``tune``: the English Drascula cast plus Allison Smith and Carlo Flora;
* ``report``: the Spanish Drascula cast plus June Wallack, Paola Dal Zot, Armelle Desjardins.

In each part the two Drascula roles with the fewest usable lines (of those with 8 or more) are
"unknown" (never enrolled); the others are known. Per part: ``audio/<speaker>/*.wav``,
``train_files.txt`` (5 clips per known speaker), ``train_phase1_files.txt`` /
``train_phase2_files.txt`` (the known speakers split about 2/3 then 1/3, for incremental runs),
``target_files.txt`` (up to 10 other clips per known speaker, up to 15 per unknown one labelled
``unknown``), ``target_speakers.txt`` (the true speaker of each target clip),
``unlabelled_files.txt``, ``speakers.json`` and ``manifest.json``. The top folder holds
``manifest.json`` (parts, skipped and dropped lines and speakers, line statistics) and
``SOURCES.md`` (voices and licences). Everything is deterministic (fixed seed). The audio is a
development set only: it is not shipped with the package and never enters the repository.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
SEED = 20261207

ALS_RATE = 11025
ALS_HEADER, ALS_TAIL = 32, 64
MIN_SECONDS, MAX_SECONDS = 1.5, 10.0
MIN_LINES = 8                 # speakers with fewer usable lines are dropped
N_TRAIN, N_TARGET, N_UNKNOWN = 5, 10, 15
MIN_RMS = 0.005               # near silent below (full scale 1.0)
MAX_CLIPPED = 0.06            # fraction of samples at full scale (the English drunk: 1-5 %)
SAME_RECORDING = 0.9          # normalised cross-correlation peak of two copies of one take

#: package of each Drascula cast, and the package's licence.
CASTS = {"en": "drascula", "es": "drascula-spanish"}
DRASCULA_LICENCE = ("Drascula-License (BSD-like, free redistribution; content (C) Alcachofa "
                    "Soft S.L., 1996-2008; see the package's copyright file)")

#: role key -> role name. The file-name prefix decides the role (see ``role_of``).
ROLES = {"hero": "John Hacker, the hero", "drascula": "Drascula", "vonbraun": "Von Braun",
         "bj": "B.J.", "werewolf": "the werewolf", "igor": "Igor",
         "bartender": "the bartender", "drunk": "the drunk", "pianist": "the pianist"}
PREFIXES = {"": "hero", "VB": "vonbraun", "BJ": "bj", "L": "werewolf", "I": "igor",
            "T": "bartender", "B": "drunk", "P": "pianist"}

#: Asterisk person -> part. Allison (en+es) and Carlo (it) tune; June (fr), Paola (it) and
#: Armelle (fr) report.
PERSON_PART = {"Allison Smith": "tune", "Carlo Flora": "tune", "June Wallack": "report",
               "Paola Dal Zot": "report", "Armelle Desjardins": "report"}
PART_CAST = {"tune": "en", "report": "es"}


def load_real_check():
    """``scripts/make_real_check.py`` as a module (its VOICES, ``fetch`` and ``decode``)."""
    path = Path(__file__).resolve().parent / "make_real_check.py"
    spec = importlib.util.spec_from_file_location("make_real_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def role_of(name: str) -> tuple[str | None, str]:
    """(role key or None, reason) of an ``.ALS`` file name, as the engine's talk_* use them."""
    m = re.fullmatch(r"([A-Za-z]*)(\d+)\.als", name, flags=re.IGNORECASE)
    if m is None:
        return None, "not a speech file name"
    prefix, number = m.group(1).upper(), int(m.group(2))
    if prefix == "D":
        if number < 57:
            return "drascula", ""
        if number < 68:
            return "hero", ""                  # talk_hacker: John Hacker, the hero
        return None, "D68-D83: the blind man and one-off lines, not among the nine roles"
    if prefix == "S":
        return None, "S: sound effects"
    if prefix == "E":
        return None, "E: the musician (talk_mus), not among the nine roles"
    if prefix in PREFIXES:
        return PREFIXES[prefix], ""
    return None, f"{prefix}: not among the nine roles"


def read_als(path: Path) -> np.ndarray:
    """Float32 samples of a ``.ALS`` file (unsigned 8-bit after the header, less the tail)."""
    raw = path.read_bytes()[ALS_HEADER:-ALS_TAIL]
    return (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0


def line_stats(y: np.ndarray, sr: int) -> dict:
    """Listening proxies: seconds, RMS, peak, clipped fraction, share of active 10 ms frames."""
    hop = sr // 100
    frames = y[: len(y) // hop * hop].reshape(-1, hop)
    energy = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12) if len(frames) else np.zeros(1)
    return {"seconds": round(len(y) / sr, 3), "rms": round(float(np.sqrt(np.mean(y ** 2))), 4),
            "peak": round(float(np.abs(y).max()), 4),
            "clipped": round(float(np.mean(np.abs(y) >= 0.99)), 5),
            "active": round(float(np.mean(energy > energy.max() - 38.0)), 3)}


def rejection(stats: dict) -> str:
    """Why a line is not used, or '' if it is."""
    if not MIN_SECONDS <= stats["seconds"] <= MAX_SECONDS:
        return "duration"
    if stats["rms"] < MIN_RMS:
        return "near silent"
    if stats["clipped"] > MAX_CLIPPED:
        return "clipped"
    return ""


def _fingerprint(y: np.ndarray) -> np.ndarray:
    """Mean of 8-sample blocks, zero mean: enough to recognise one take in two files."""
    n = len(y) // 8 * 8
    f = y[:n].reshape(-1, 8).mean(axis=1)
    return f - f.mean()


def same_recording(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two fingerprints are one take (lengths within 3 %, xcorr peak >= SAME_RECORDING)."""
    if not 0.97 <= len(a) / max(1, len(b)) <= 1.03:
        return False
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    c = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    return c.max() / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12) >= SAME_RECORDING


def drascula_lines(debs: Path, report: dict) -> dict:
    """(cast, role) -> sorted list of usable lines {name, audio, stats}; fills ``report``."""
    lines, prints = {}, []
    for cast, package in CASTS.items():
        files = sorted((debs / package).rglob("*.ALS"), key=lambda p: p.name)
        files = [p for p in files if p.parent.name == cast]
        if not files:
            raise SystemExit(f"no .ALS speech files of {package} under {debs / package}")
        for path in files:
            role, why = role_of(path.name)
            if role is None:
                report["skipped_roles"].setdefault(why, []).append(f"{cast}/{path.name}")
                continue
            if path.is_symlink():
                report["linked"].append({"file": f"{cast}/{path.name}",
                                         "link": str(path.readlink())})
                continue
            y = read_als(path)
            stats = line_stats(y, ALS_RATE)
            why = rejection(stats)
            if why:
                report["rejected"].setdefault(why, 0)
                report["rejected"][why] += 1
                continue
            item = {"name": f"{cast}_{role}_{path.stem}", "file": f"{cast}/{path.name}",
                    "audio": y, "stats": stats}
            lines.setdefault((cast, role), []).append(item)
            prints.append((cast, item, _fingerprint(y)))
    # one take in two files: a Spanish line that is an English recording, or a second copy
    order = sorted(range(len(prints)), key=lambda i: (prints[i][0] != "en", prints[i][1]["file"]))
    # A take in both packages was not re-dubbed: the Spanish copy is skipped, and the English
    # one too (such takes sound unlike the rest of their role: cries, effects, other voices).
    dropped = set()
    for x, i in enumerate(order):
        if i in dropped:
            continue
        shared = False
        for j in order[x + 1:]:
            if j not in dropped and same_recording(prints[i][2], prints[j][2]):
                dropped.add(j)
                shared |= prints[i][0] != prints[j][0]
                report["duplicates"].append({"file": prints[j][1]["file"],
                                             "same_as": prints[i][1]["file"]})
        if shared:
            dropped.add(i)
            report["shared"].append(prints[i][1]["file"])
    gone = {prints[j][1]["file"] for j in dropped}
    return {k: [v for v in items if v["file"] not in gone] for k, items in lines.items()}


def asterisk_lines(rc, person: str, debs: Path, want: int, rng) -> tuple[list, int]:
    """Up to ``want`` usable prompts of one person, round robin over its voices; and how many
    prompt files the person has."""
    voices = sorted(v for v, spec in rc.VOICES.items() if spec[2] == person)
    pools = {}
    for v in voices:
        package, folder, *_, suffix = rc.VOICES[v]
        files = sorted((debs / package).rglob(f"sounds/{folder}/*{suffix}"))
        if not files:
            raise SystemExit(f"no {suffix} prompts of {v} under {debs / package}")
        pools[v] = list(rng.permutation(np.array(files, dtype=object)))
    n_files = sum(len(p) for p in pools.values())
    used_names, out = set(), []
    while len(out) < want and any(pools.values()):
        for v in voices:
            while pools[v] and len(out) < want:
                path = pools[v].pop(0)
                if path.stem in used_names:      # one recording at two rates: use it once
                    continue
                sr = 16000 if path.suffix == ".g722" else 8000
                y = rc.decode(path, sr)
                stats = line_stats(y, sr)
                if rejection(stats):
                    continue
                used_names.add(path.stem)
                out.append({"name": f"{v}_{path.stem}", "file": f"{rc.VOICES[v][0]}/{path.name}",
                            "audio": y, "sr": sr, "voice": v, "stats": stats})
                break
    return out, n_files


def speaker_rng(name: str):
    """A generator of its own per speaker, so adding a speaker changes no other's lines."""
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def write_part(out: Path, part: str, speakers: dict) -> dict:
    """Write one part (audio, lists, speakers.json, manifest.json); returns its summary."""
    root = out / part
    known = sorted(s for s, info in speakers.items() if info["status"] == "known")
    train, target, clips = {}, [], []
    for name, info in sorted(speakers.items()):
        items = info.pop("items")
        order = speaker_rng(name).permutation(len(items))
        items = [items[i] for i in order]
        if info["status"] == "known":
            chosen = [("train", it) for it in items[:N_TRAIN]]
            chosen += [("target", it) for it in items[N_TRAIN:N_TRAIN + N_TARGET]]
        else:
            chosen = [("target", it) for it in items[:N_UNKNOWN]]
        folder = root / "audio" / name
        folder.mkdir(parents=True, exist_ok=True)
        for use, it in chosen:
            rel = f"audio/{name}/{it['name']}.wav"
            sr = it.get("sr", ALS_RATE)
            sf.write(root / rel, np.clip(it["audio"], -1.0, 1.0), sr, subtype="PCM_16")
            clips.append({"path": rel, "speaker": name, "use": use, "source": it["file"],
                          "sample_rate": sr, **({"voice": it["voice"]} if "voice" in it else {}),
                          **it["stats"]})
            if use == "train":
                train.setdefault(name, []).append(rel)
            else:
                target.append((rel, name if info["status"] == "known" else "unknown", name))
        info["clips_train"] = sum(1 for c in chosen if c[0] == "train")
        info["clips_target"] = sum(1 for c in chosen if c[0] == "target")
    # phases: every third known speaker (sorted) joins in phase 2, about 2/3 then 1/3
    phase2 = known[2::3]
    phase1 = [s for s in known if s not in phase2]
    for name in known:
        speakers[name]["phase"] = 2 if name in phase2 else 1

    def listing(names):
        return "".join(f"{p},{s}\n" for s in names for p in train[s])

    target.sort()
    target = [target[i] for i in np.random.default_rng(SEED).permutation(len(target))]
    (root / "train_phase1_files.txt").write_text(listing(phase1))
    (root / "train_phase2_files.txt").write_text(listing(phase2))
    (root / "train_files.txt").write_text(listing(phase1) + listing(phase2))
    (root / "target_files.txt").write_text("".join(f"{p},{label}\n" for p, label, _ in target))
    (root / "target_speakers.txt").write_text("".join(f"{p},{true}\n" for p, _, true in target))
    (root / "unlabelled_files.txt").write_text("".join(f"{p}\n" for p, _, _ in target))
    (root / "speakers.json").write_text(json.dumps(speakers, indent=1) + "\n")
    (root / "manifest.json").write_text(json.dumps({"part": part, "clips": clips}, indent=1)
                                        + "\n")
    seconds = [c["seconds"] for c in clips]
    return {"speakers": len(speakers), "known": known,
            "unknown": sorted(s for s in speakers if s not in known),
            "phase1": phase1, "phase2": phase2,
            "train_clips": sum(len(v) for v in train.values()), "target_clips": len(target),
            "seconds_total": round(sum(seconds), 1),
            "seconds_median": round(float(np.median(seconds)), 2),
            "seconds_min": round(min(seconds), 2), "seconds_max": round(max(seconds), 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "real-voices")
    parser.add_argument("--debs", type=Path, default=REPO / "build" / "real-voices-debs")
    args = parser.parse_args(argv)
    rc = load_real_check()
    if rc.missing_tool():
        return 2
    persons = sorted(PERSON_PART)
    if set(persons) != {spec[2] for spec in rc.VOICES.values()}:
        raise SystemExit("PERSON_PART does not match make_real_check.VOICES")
    packages = set(CASTS.values()) | {spec[0] for spec in rc.VOICES.values()}
    try:
        rc.fetch(packages, args.debs)
    except subprocess.CalledProcessError as err:
        raise SystemExit(f"fetching the Debian packages failed ({err}); "
                         "run `apt-get update` first") from err

    report = {"linked": [], "duplicates": [], "shared": [], "skipped_roles": {}, "rejected": {}}
    cast_lines = drascula_lines(args.debs, report)
    if args.out.exists():
        shutil.rmtree(args.out)     # a fresh build: no clip of an earlier run stays behind
    args.out.mkdir(parents=True)

    parts, dropped = {p: {} for p in PART_CAST}, []
    for part, cast in PART_CAST.items():
        roles = {}
        for role in ROLES:
            items = cast_lines.get((cast, role), [])
            if len(items) < MIN_LINES:
                dropped.append({"speaker": f"{cast}_{role}", "usable_lines": len(items)})
                continue
            roles[role] = items
        # unknown: the two roles with the fewest usable lines (ties: by name)
        unknown = sorted(roles, key=lambda r: (len(roles[r]), r))[:2]
        for role, items in roles.items():
            seconds = [it["stats"]["seconds"] for it in items]
            parts[part][f"{cast}_{role}"] = {
                "role": ROLES[role], "language": cast, "source": CASTS[cast],
                "licence": DRASCULA_LICENCE, "lines": len(items),
                "line_seconds": round(sum(seconds), 1),
                "status": "unknown" if role in unknown else "known", "items": items}
    for person in persons:
        part = PERSON_PART[person]
        name = person.split()[0].lower()
        items, n_files = asterisk_lines(rc, person, args.debs, N_TRAIN + N_UNKNOWN,
                                        speaker_rng(name))
        if len(items) < MIN_LINES:
            dropped.append({"speaker": name, "usable_lines": len(items)})
            continue
        voices = sorted({it["voice"] for it in items})
        parts[part][name] = {
            "role": person, "language": "+".join(sorted({rc.VOICES[v][1][:2] for v in voices})),
            "source": ", ".join(sorted({rc.VOICES[v][0] for v in voices})),
            "licence": rc.VOICES[voices[0]][3], "lines": len(items),
            "prompt_files": n_files, "voices": voices, "status": "known", "items": items}

    names = [set(speakers) for speakers in parts.values()]
    assert not set.intersection(*names), "a speaker in both parts"
    summary = {}
    for part, speakers in parts.items():
        summary[part] = write_part(args.out, part, speakers)
        s = summary[part]
        print(f"{part}: {s['speakers']} speakers ({len(s['known'])} known, unknown: "
              f"{', '.join(s['unknown'])}), {s['train_clips']} train + {s['target_clips']} "
              f"target clips, {s['seconds_total']:.0f} s (median {s['seconds_median']} s)",
              file=sys.stderr)
    for key, items in (("linked", [i["file"] for i in report["linked"]]),
                       ("duplicate", [i["file"] for i in report["duplicates"]]),
                       ("English shared", report["shared"])):
        print(f"skipped {len(items)} {key} line(s): {', '.join(items)}", file=sys.stderr)
    if dropped:
        print(f"dropped (fewer than {MIN_LINES} usable lines): "
              + ", ".join(d["speaker"] for d in dropped), file=sys.stderr)

    stats = {}
    for (cast, role), items in sorted(cast_lines.items()):
        sec = np.array([it["stats"]["seconds"] for it in items])
        rms = np.array([it["stats"]["rms"] for it in items])
        act = np.array([it["stats"]["active"] for it in items])
        stats[f"{cast}_{role}"] = {"usable_lines": len(items),
                                   "seconds_median": round(float(np.median(sec)), 2),
                                   "rms_median": round(float(np.median(rms)), 3),
                                   "active_median": round(float(np.median(act)), 2)}
    manifest = {"seed": SEED, "min_seconds": MIN_SECONDS, "max_seconds": MAX_SECONDS,
                "min_lines": MIN_LINES, "parts": summary, "dropped_speakers": dropped,
                "drascula_line_stats": stats,
                "skipped": {"spanish_links_to_english": report["linked"],
                            "same_recording": report["duplicates"],
                            "english_takes_shared_with_spanish": report["shared"],
                            "not_a_role": {k: len(v) for k, v in report["skipped_roles"].items()},
                            "rejected_lines": report["rejected"]}}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")

    sources = ["# Voices of this set (real people; Debian packages)", "",
               "Development data only: not shipped, never committed.", "",
               "| part | speaker | role / person | language | package(s) | licence | known |",
               "|---|---|---|---|---|---|---|"]
    for part, speakers in parts.items():
        for name, info in sorted(speakers.items()):
            licence = "Drascula-License (BSD-like)" if info["source"] in CASTS.values() \
                else info["licence"]
            sources.append(f"| {part} | {name} | {info['role']} | {info['language']} | "
                           f"{info['source']} | {licence} | {info['status']} |")
    sources += ["", ("Drascula: The Vampire Strikes Back, (C) 1996-2008 Alcachofa Soft S.L., "
                     "made freely available (Debian main: drascula, drascula-spanish; the voice "
                     "actors are not credited there). Asterisk prompts: the persons named in each "
                     "package's copyright file (see scripts/make_real_check.py).")]
    (args.out / "SOURCES.md").write_text("\n".join(sources) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
