"""Build a held-out diarization check from real voices: Asterisk voice prompts in Debian packages.

Usage::

    python scripts/make_real_check.py [--out build/real-check] [--debs build/real-check-debs]
    python benchmarks/diarize.py --corpus build/real-check --skip-long

Each Debian package below holds the voice prompts of one named person (checked in the package's
``copyright`` file; see VOICES). The script fetches the packages with ``apt-get download``,
unpacks them with ``dpkg-deb -x`` (no root needed), decodes the prompts with ``ffmpeg`` (G.722
wideband and GSM) or soundfile (WAV), and joins them into conversations: turns of one to three
prompts, pauses and overlaps between turns, with reference RTTM from each prompt's own speech
regions (10 ms frames within 38 dB of the prompt's peak, pauses of 0.3 s or more split a
turn), as the synthetic dev corpora do. Output: ``realNN.wav``, ``realNN.rttm``, ``realNN.uem``,
``all.rttm``, ``all.uem``, ``files.txt``, ``manifest.json`` and ``SOURCES.md`` (voices and
licences). The audio is a development check only: it is not shipped with the package.

This set is for checking, never for tuning: settings are chosen on dev-wide's odd-numbered
conversations (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]

#: voice -> (Debian package, folder of its prompts, person, licence, file suffix).
#: Each person is named in the package's debian/copyright (CREDITS: "Recorded by").
VOICES = {
    "allison_en_wb": ("asterisk-core-sounds-en-g722", "en_US_f_Allison", "Allison Smith",
                      "CC-BY-SA-3.0", ".g722"),
    "allison_es_wb": ("asterisk-core-sounds-es-g722", "es_MX_f_Allison", "Allison Smith",
                      "CC-BY-SA-3.0", ".g722"),
    "june_fr_wb": ("asterisk-core-sounds-fr-g722", "fr_CA_f_June", "June Wallack",
                   "CC-BY-SA-3.0", ".g722"),
    "carlo_it_wb": ("asterisk-core-sounds-it-g722", "it_IT_m_Carlo", "Carlo Flora",
                    "CC-BY-SA-3.0", ".g722"),
    "carlo_it_nb": ("asterisk-core-sounds-it-wav", "it_IT_m_Carlo", "Carlo Flora",
                    "CC-BY-SA-3.0", ".wav"),
    "june_fr_nb": ("asterisk-core-sounds-fr-wav", "fr_CA_f_June", "June Wallack",
                   "CC-BY-SA-3.0", ".wav"),
    "paola_it_nb": ("asterisk-prompt-it-menardi-wav", "it_IT_f_Menardi", "Paola Dal Zot",
                    "CC-BY-SA-3.0 (Italian)", ".wav"),
    "armelle_fr_nb": ("asterisk-prompt-fr-armelle", "fr", "Armelle Desjardins",
                      "BSD-style (Michel Gutierrez, 2006)", ".gsm"),
}

#: (file, sample rate, voices, seconds). Voices of one person share a speaker label.
CONVERSATIONS = [
    ("real01", 16000, ["allison_en_wb", "carlo_it_wb"], 120),
    ("real02", 16000, ["june_fr_wb", "allison_es_wb"], 120),
    ("real03", 16000, ["allison_en_wb", "allison_es_wb"], 90),     # one person, two languages
    ("real04", 16000, ["allison_en_wb", "june_fr_wb", "carlo_it_wb"], 150),
    ("real05", 8000, ["paola_it_nb", "carlo_it_nb"], 120),
    ("real06", 8000, ["armelle_fr_nb", "june_fr_nb", "paola_it_nb"], 150),
]

FRAME_SECONDS = 0.01
SPEECH_DB = -38.0            # below the prompt's peak frame energy: silence
SPLIT_PAUSE_SECONDS = 0.3    # pauses this long or longer split a reference segment
SEED = 20261130


def missing_tool() -> str | None:
    """The first of apt-get, dpkg-deb and ffmpeg not on the PATH (said on stderr), or None."""
    for tool in ("apt-get", "dpkg-deb", "ffmpeg"):
        if shutil.which(tool) is None:
            print(f"{tool} not found: this script needs Debian's apt-get/dpkg-deb and ffmpeg "
                  "(apt-get install ffmpeg)", file=sys.stderr)
            return tool
    return None


def fetch(packages: set[str], debs: Path) -> None:
    """``apt-get download`` and unpack each package into ``debs/<package>/``."""
    debs.mkdir(parents=True, exist_ok=True)
    for package in sorted(packages):
        target = debs / package
        if target.is_dir():
            continue
        if not list(debs.glob(f"{package}_*.deb")):
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True,
                           stdout=subprocess.DEVNULL)
        deb = next(debs.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)


def decode(path: Path, sr: int) -> np.ndarray:
    """Mono float32 at ``sr``: ffmpeg for G.722 / GSM / other rates, soundfile for WAV at sr."""
    if path.suffix == ".wav":
        y, rate = sf.read(path, dtype="float32", always_2d=True)
        if rate == sr:
            return y.mean(axis=1)
    fmt = {".g722": ["-f", "g722"], ".gsm": ["-f", "gsm"]}.get(path.suffix, [])
    raw = subprocess.run(["ffmpeg", "-v", "error", *fmt, "-i", str(path), "-ac", "1",
                          "-ar", str(sr), "-f", "f32le", "-"], check=True,
                         capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.float32).copy()


def speech_regions(y: np.ndarray, sr: int) -> list[tuple[float, float]]:
    """Speech regions of one prompt, in seconds (see the module docstring)."""
    hop = int(FRAME_SECONDS * sr)
    frames = y[: len(y) // hop * hop].reshape(-1, hop)
    energy = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    active = energy > energy.max() + SPEECH_DB
    regions, start = [], None
    for i, a in enumerate(np.append(active, False)):
        if a and start is None:
            start = i
        elif not a and start is not None:
            regions.append([start * FRAME_SECONDS, i * FRAME_SECONDS])
            start = None
    merged: list[list[float]] = []
    for a, b in regions:
        if merged and a - merged[-1][1] < SPLIT_PAUSE_SECONDS:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def load_prompts(voice: str, debs: Path, sr: int, rng) -> list[tuple[np.ndarray, list]]:
    """The voice's prompts, trimmed to their speech, with speech regions; shuffled."""
    package, folder, *_, suffix = VOICES[voice]
    files = sorted((debs / package).rglob(f"sounds/{folder}/*{suffix}"))
    if not files:
        raise SystemExit(f"no {suffix} prompts of {voice} under {debs / package}")
    prompts = []
    for path in rng.permutation(np.array(files, dtype=object))[:80]:
        y = decode(path, sr)
        regions = speech_regions(y, sr)
        if not regions or regions[-1][1] - regions[0][0] < 0.5:
            continue
        a, b = regions[0][0], regions[-1][1]
        piece = y[int(a * sr): int(b * sr)]
        prompts.append((piece, [(s - a, e - a) for s, e in regions]))
    return prompts


def converse(voices: list[str], prompts: dict, seconds: float, sr: int, rng):
    """Mix turns of the voices; returns audio and reference segments (label, start, end)."""
    person = {v: VOICES[v][2].split()[0].lower() for v in voices}
    pools = {v: list(prompts[v]) for v in voices}
    audio = np.zeros(int(seconds * sr), dtype=np.float32)
    segments, t, previous = [], 0.5, None
    while t < seconds:
        choices = [v for v in voices if v != previous] if len(voices) > 1 else voices
        voice = choices[rng.integers(len(choices))]
        if not pools[voice]:
            pools[voice] = list(prompts[voice])
        for _ in range(rng.integers(1, 4)):
            if not pools[voice]:
                break
            piece, regions = pools[voice].pop()
            start = int(t * sr)
            if start + len(piece) > len(audio):
                audio = np.pad(audio, (0, start + len(piece) - len(audio)))
            audio[start: start + len(piece)] += piece
            segments += [(person[voice], t + a, t + b) for a, b in regions]
            t += len(piece) / sr + rng.uniform(0.15, 0.5)
        # next turn: a pause, or an overlap (barge-in) one time in five
        t += -rng.uniform(0.2, 0.8) if rng.random() < 0.2 else rng.uniform(0.1, 0.9)
        previous = voice
    end = max(e for _, _, e in segments) + 0.5
    audio = np.pad(audio, (0, max(0, int(end * sr) - len(audio))))[: int(end * sr)]
    return audio / max(1e-6, np.abs(audio).max()) * 0.9, segments, end


def merge_turns(segments):
    """Union of each speaker's regions, pauses shorter than SPLIT_PAUSE_SECONDS bridged."""
    out = []
    for label in sorted({s[0] for s in segments}):
        spans = sorted((a, b) for l, a, b in segments if l == label)
        merged = [list(spans[0])]
        for a, b in spans[1:]:
            if a - merged[-1][1] < SPLIT_PAUSE_SECONDS:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        out += [(label, a, b) for a, b in merged]
    return sorted(out, key=lambda s: s[1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "real-check")
    parser.add_argument("--debs", type=Path, default=REPO / "build" / "real-check-debs")
    args = parser.parse_args(argv)
    if missing_tool():
        return 2
    used = {v for _, _, voices, _ in CONVERSATIONS for v in voices}
    fetch({VOICES[v][0] for v in used}, args.debs)
    rng = np.random.default_rng(SEED)
    args.out.mkdir(parents=True, exist_ok=True)
    prompts = {}
    manifest, rttm_all, uem_all = [], [], []
    for name, sr, voices, seconds in CONVERSATIONS:
        for v in voices:
            if (v, sr) not in prompts:
                prompts[v, sr] = load_prompts(v, args.debs, sr, rng)
        y, segments, end = converse(voices, {v: prompts[v, sr] for v in voices}, seconds, sr,
                                    rng)
        sf.write(args.out / f"{name}.wav", y, sr, subtype="PCM_16")
        turns = merge_turns(segments)
        lines = [f"SPEAKER {name} 1 {a:.3f} {b - a:.3f} <NA> <NA> {label} <NA> <NA>"
                 for label, a, b in turns]
        (args.out / f"{name}.rttm").write_text("\n".join(lines) + "\n")
        uem = f"{name} 1 0.000 {end:.3f}"
        (args.out / f"{name}.uem").write_text(uem + "\n")
        rttm_all += lines
        uem_all.append(uem)
        manifest.append({"file": name, "sample_rate": sr, "seconds": round(end, 2),
                         "voices": voices, "speakers": sorted({t[0] for t in turns}),
                         "people": sorted({VOICES[v][2] for v in voices})})
        print(f"{name}: {end:.0f} s, {len(manifest[-1]['speakers'])} speaker(s), {sr} Hz",
              file=sys.stderr)
    (args.out / "all.rttm").write_text("\n".join(rttm_all) + "\n")
    (args.out / "all.uem").write_text("\n".join(uem_all) + "\n")
    (args.out / "files.txt").write_text("".join(f"{m['file']}.wav\n" for m in manifest))
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    sources = ["# Voices of this check (real people; Debian packages)", "",
               "| voice | package | person | licence |", "|---|---|---|---|"]
    sources += [f"| {v} | {VOICES[v][0]} | {VOICES[v][2]} | {VOICES[v][3]} |"
                for v in sorted(used)]
    (args.out / "SOURCES.md").write_text("\n".join(sources) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
