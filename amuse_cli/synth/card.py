"""The dataset card (DIR/README.md): generator, options, counts, and what every template means."""
from __future__ import annotations

from collections import Counter

from amuse_cli.synth import questions as q
from amuse_cli.data.wordings import released_template
from amuse_cli.synth.soundfont import card_lines
from amuse_cli.synth.wording import card_section


def dataset_card(summary: dict, records: list[dict]) -> str:
    o = summary["options"]
    per_template = Counter(released_template(r["question_content"]) for r in records)
    lines = [
        "# Synthetic MUSIC-AVQA performances (`amuse synth`)", "",
        f"Generator `{summary['generator']}`, seed {o['seed']}: {sum(summary['videos'].values())} videos "
        f"of {o['seconds']} s at {o['size'][0]}x{o['size'][1]}, {o['fps']} fps, audio {o['sample_rate']} Hz "
        f"mono (H.264 + AAC mp4). Balanced: {o['balanced']}. Regenerate with",
        "", "```", f"amuse synth --out {o['out']} --videos {o['videos']} --seconds {o['seconds']} "
        f"--size {o['size'][0]}x{o['size'][1]} --fps {o['fps']} --seed {o['seed']} "
        f"--questions-per-video {o['questions_per_video']} --fractions {','.join(map(str, o['split']))}"
        f"{'' if o['balanced'] else ' --no-balanced'}{_world_options(o)}", "```", "",
        *_audio_lines(summary.get("audio", {"renderer": "synthetic"})),
        "| split | videos | questions |", "|---|---:|---:|",
        *[f"| {s} | {summary['videos'][s]} | {summary['questions'][s]} |" for s in summary["videos"]], "",
        "Layout: `videos/<id>.mp4`, `json/avqa-{train,val,test}.json` (MUSIC-AVQA format, quirks "
        "included), `meta/<id>.json` (ground truth, docs/INTERFACES.md §1).", "",
        "## What the videos show", "",
        *(_CLASSIC if summary.get("world", "classic") == "classic" else _STAGE),
        *summary.get("world_lines", []), "",
        *(["![frames](contact-sheet.png)", "", "`contact-sheet.png`: " + summary["contact_sheet"], ""]
          if summary.get("contact_sheet") else []),
        "## Questions per type", "", "| type | questions |", "|---|---:|",
        *[f"| {t} | {n} |" for t, n in summary["types"].items()], "",
        *(card_section(summary["wording"]["mix"], summary["wording"]) if "wording" in summary else []),
        "## What each template means here", "",
        f"Margins: loudness {q.LOUD_DB} dB, rhythm ratio {q.RHYTHM_RATIO}, playing time {q.LONGER_S} s, "
        f"entries {q.entry_gap(o['seconds']):g} s apart. Balanced sets cap any answer at {int(q.CAP * 100)}% of a "
        f"template's questions ({int(q.CAP_YES_NO * 100)}% for yes/no).", "",
        "| template | questions | answer |", "|---|---:|---|",
        *[f"| `{t!r}` | {per_template.get(t, 0)} | {m} |" for t, m in q.MEANINGS.items()], "",
    ]
    return "\n".join(lines)


_CLASSIC = [
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
]
_STAGE = [
    "- A stage world (`--world stage`): 1-6 performers placed anywhere on a stage at depths 0 (front) to 1 "
    "(back), which set their size and height in the picture; one in front may hide up to a third of one "
    "behind; several of one class; sometimes a visible instrument that never sounds, a mime (seen playing, "
    "never heard), a source heard but not on screen (`visible: false`), a speech-like voice-over.",
    "- Class by silhouette and parts only: every performer draws its instrument's materials, its clothes, "
    "skin and hair from palettes shared by all 22 classes (`amuse_cli/synth/figures.py`).",
    "- No single-frame cue of sounding: players and silent performers hold their instruments alike, in poses "
    "from the same range; playing shows only as motion across frames (bow, strumming hand, sticks, bellows, "
    "breath, a sway with the beat), driven by the performer's own note onsets (a mime's by the beat).",
    "- Nine settings (`setting`; indoor: concert_hall, living_room, studio, church, classroom; outdoor: park, "
    "street, beach, garden) with clutter, drawn anew per video; light level, colour cast, spot and vignette "
    "per video; a camera that pans (<= 6%) and zooms (<= 8%) over the clip with hand-held shake; sensor "
    "noise and an H.264 quantiser of 26-34 per video (`encoding.qp`).",
    "- Positions as an annotator reads the frame: `x` is the performer's mean horizontal centre on screen, "
    "`position` its third of the frame, null when it comes within 0.03 of a third's edge at any moment "
    "(questions that need it are then not asked); left/right order needs centres >= 0.05 apart.",
    "- Meta extras beyond docs/INTERFACES.md §1: `world`, `setting`, `floor`, `camera` (view and centre at the "
    "start and the end), `encoding`, per performer `stage` (canvas x, depth, feet, height), `x_span`, `split`, "
    "`seed`; screen boxes at any time: `amuse_cli.synth.staging.screen_boxes(meta, times)`.",
]


def _world_options(o: dict) -> str:
    out = f" --world {o.get('world', 'classic')}"
    if o.get("audio"):
        out += f" --audio {o['audio']}"
    if o.get("wording"):
        out += f" --wording {o['wording']}"
    if o.get("settings"):
        out += f" --settings {','.join(o['settings'])}"
    return out


def world_lines(options, metas: list[dict]) -> list[str]:
    """What a set holds, counted from its scenes (`amuse synth --dry-run` and the card)."""
    world = options.world_spec
    visible = [sum(s["visible"] for s in m["sources"]) for m in metas]
    performers = [s for m in metas for s in m["sources"] if s["visible"]]
    counts = Counter(visible)
    lines = [f"world {world.name} ({world.generator}): {world.summary}",
             "performers on screen per video: " + ", ".join(f"{k}: {counts[k]}" for k in sorted(counts)),
             f"performers: {len(performers)}, sounding {sum(s['sounding'] for s in performers)}, "
             f"silent {sum(not s['sounding'] and not s['mimed'] for s in performers)}, "
             f"mimes {sum(s['mimed'] for s in performers)}; off-screen sources "
             f"{sum(not s['visible'] for m in metas for s in m['sources'])}; voice-overs "
             f"{sum(m['voiceover']['present'] for m in metas)}",
             f"positions read as ambiguous (not asked): {sum(s['position'] is None for s in performers)} "
             f"of {len(performers)}"]
    if any("setting" in m for m in metas):
        settings = Counter(m["setting"] for m in metas)
        lines.append("settings: " + ", ".join(f"{k} {settings[k]}" for k in sorted(settings)))
    else:
        backgrounds = Counter(m["background"] for m in metas)
        lines.append("backgrounds: " + ", ".join(f"{k} {backgrounds[k]}" for k in sorted(backgrounds)))
    return lines


def _audio_lines(audio: dict) -> list[str]:
    if audio.get("renderer") == "soundfont":
        return card_lines(audio)
    return ["Audio: synthetic timbres (`amuse_cli/synth/timbre.py`: harmonic spectra and envelopes per "
            "class, no recorded samples); `--audio soundfont` renders real instrument samples instead.", ""]
