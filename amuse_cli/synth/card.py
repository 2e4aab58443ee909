"""The dataset card (DIR/README.md): generator, options, counts, and what every template means."""
from __future__ import annotations

from collections import Counter

from amuse_cli.synth import questions as q
from amuse_cli.synth.soundfont import card_lines


def dataset_card(summary: dict, records: list[dict]) -> str:
    o = summary["options"]
    per_template = Counter(r["question_content"] for r in records)
    lines = [
        "# Synthetic MUSIC-AVQA performances (`amuse synth`)", "",
        f"Generator `{summary['generator']}`, seed {o['seed']}: {sum(summary['videos'].values())} videos "
        f"of {o['seconds']} s at {o['size'][0]}x{o['size'][1]}, {o['fps']} fps, audio {o['sample_rate']} Hz "
        f"mono (H.264 + AAC mp4). Balanced: {o['balanced']}. Regenerate with",
        "", "```", f"amuse synth --out {o['out']} --videos {o['videos']} --seconds {o['seconds']} "
        f"--size {o['size'][0]}x{o['size'][1]} --fps {o['fps']} --seed {o['seed']} "
        f"--questions-per-video {o['questions_per_video']} --fractions {','.join(map(str, o['split']))}"
        f"{'' if o['balanced'] else ' --no-balanced'}"
        f"{'' if o.get('audio', 'synthetic') == 'synthetic' else ' --audio ' + o['audio']}", "```", "",
        *_audio_lines(summary.get("audio", {"renderer": "synthetic"})),
        "| split | videos | questions |", "|---|---:|---:|",
        *[f"| {s} | {summary['videos'][s]} | {summary['questions'][s]} |" for s in summary["videos"]], "",
        "Layout: `videos/<id>.mp4`, `json/avqa-{train,val,test}.json` (MUSIC-AVQA format, quirks "
        "included), `meta/<id>.json` (ground truth, docs/INTERFACES.md §1).", "",
        "## What the videos show", "",
        "- 1-4 performers at left / middle / right (the `position` of a horizontal centre `x` in "
        "thirds of the frame), one of 22 instrument classes each, drawn with a class colour and shape; "
        "sometimes two of the same class, a visible instrument that never sounds, a source heard but "
        "not on screen (`visible: false`), a speech-like voice-over (not a source).",
        "- Playing is visible in one frame: a yellow glow around the instrument, white vibration marks "
        "beside it and the arms on the instrument (arms hang while silent); the two playing poses "
        "alternate on the beat. Sounding is not: a mimed performer (`mimed: true`, about 1 in 5 whose "
        "class is alone on screen) is seen playing (`seen_playing`) while nothing of it is heard, so "
        "only the audio tells a mime from a player.",
        "- Indoor = wall, picture, wooden floor; outdoor = sky, sun, grass. Camera jitter of +-2 px and "
        "pixel noise, so no two frames are equal.",
        "- Each class has its own sound (Audio above; plucked, bowed, blown, struck; drum and congas unpitched) and "
        "register (low G2, mid A3, high C5 +- a pentatonic walk). Notes sit on a beat grid of 60-180 BPM "
        "that changes only on 3 s boundaries and by >= 35% of the mean BPM; beats are accented.",
        "- Meta extras beyond docs/INTERFACES.md §1: `x` (horizontal centre, 0-1), `split`, `seed`.", "",
        "## Questions per type", "", "| type | questions |", "|---|---:|",
        *[f"| {t} | {n} |" for t, n in summary["types"].items()], "",
        "## What each template means here", "",
        f"Margins: loudness {q.LOUD_DB} dB, rhythm ratio {q.RHYTHM_RATIO}, playing time {q.LONGER_S} s, "
        f"entries {q.entry_gap(o['seconds']):g} s apart. Balanced sets cap any answer at {int(q.CAP * 100)}% of a "
        f"template's questions ({int(q.CAP_YES_NO * 100)}% for yes/no).", "",
        "| template | questions | answer |", "|---|---:|---|",
        *[f"| `{t!r}` | {per_template.get(t, 0)} | {m} |" for t, m in q.MEANINGS.items()], "",
    ]
    return "\n".join(lines)


def _audio_lines(audio: dict) -> list[str]:
    if audio.get("renderer") == "soundfont":
        return card_lines(audio)
    return ["Audio: synthetic timbres (`amuse_cli/synth/timbre.py`: harmonic spectra and envelopes per "
            "class, no recorded samples); `--audio soundfont` renders real instrument samples instead.", ""]
