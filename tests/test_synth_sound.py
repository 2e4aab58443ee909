"""The new world's sound: performances (synth/performance.py), expression through the soundfont, rooms.

play() must keep the promises the question writer relies on (first onset at the interval start, notes
inside their intervals, onsets on the beat grid, density = onset rate); the renderer must keep the
loudness contract, stay quiet outside the intervals, show vibrato as pitch modulation, reverberate by
room, and give the same samples for the same seed.
"""
from __future__ import annotations

import numpy as np
import pytest

from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.synth import performance, rhythms, room, soundfont
from amuse_cli.synth.audio import render_audio, source_track
from amuse_cli.synth.scene import beat_times
from amuse_cli.synth.timbre import REGISTERS, UNPITCHED, register_center

SR = 16000
KIT = {rhythms.KICK, rhythms.SNARE, rhythms.HAT, rhythms.OPEN_HAT, rhythms.CRASH, rhythms.RIDE,
       rhythms.TOM_LOW, rhythms.TOM_MID, rhythms.TOM_HIGH}
CONGAS = {rhythms.CONGA_MUTE_HIGH, rhythms.CONGA_OPEN_HIGH, rhythms.CONGA_LOW}


@pytest.fixture(scope="module")
def font():
    return soundfont.resolve(None)


def _tempo(rng, seconds):
    """A tempo map as the scene makes them: 60-180 BPM, changes on 3 s boundaries."""
    cuts = sorted(rng.choice(np.arange(3.0, seconds, 3.0), size=int(rng.integers(0, 3)), replace=False).tolist())
    edges = [0.0] + cuts + [seconds]
    return [{"start": a, "end": b, "bpm": float(round(rng.uniform(60, 180)))} for a, b in zip(edges, edges[1:])]


def _intervals(rng, beats, seconds):
    """One or two playing intervals starting on beats (as the scene snaps them), >= 1 s each."""
    starts = [b for b, _ in beats if b < seconds - 1.2]
    if rng.random() < 0.3 and seconds >= 6:
        a = float(rng.choice([b for b in starts if b < seconds / 2 - 1.2]))
        b = float(rng.choice([b for b in starts if b >= a + 2.0 and b < seconds - 1.2] or [seconds - 1.1]))
        return [[round(a, 4), round(a + 1.0 + rng.uniform(0, 0.5), 4)], [round(b, 4), seconds]]
    s = float(rng.choice(starts))
    return [[round(s, 4), round(float(rng.uniform(s + 1.0, seconds)), 4)]]


def _case(seed, instrument, density=None, seconds=None):
    rng = np.random.default_rng([seed, 77])
    seconds = seconds or float(rng.choice([4.0, 6.0, 12.0]))
    beats = beat_times(_tempo(rng, seconds))
    register = None if instrument in UNPITCHED else str(rng.choice(REGISTERS[instrument]))
    intervals = _intervals(rng, beats, seconds)
    density = density or float(rng.choice([0.5, 1.0, 2.0]))
    return beats, register, intervals, density, performance.draw_piece(rng)


def _on_grid(t, beats):
    return any(abs(t - (b + f * step)) <= 1e-4 for b, step in beats for f in (0, .25, .5, .75))


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_play_keeps_the_question_writers_promises(instrument):
    for seed in range(12):
        beats, register, intervals, density, piece = _case(seed, instrument)
        perf = performance.play(np.random.default_rng(seed), instrument, register, intervals, beats, density, piece)
        notes = perf["notes"]
        for s, e in intervals:
            inside = [n["t"] for n in notes if s <= n["t"] < e]
            assert inside and min(inside) == s, (seed, s, inside[:3])         # first onset exactly at the start
        for n in notes:
            assert any(s <= n["t"] and n["t"] + n["dur"] <= e + 1e-9 for s, e in intervals), (seed, n, intervals)
            assert n["dur"] > 0 and 0 < n["velocity"] <= 1 and isinstance(n["pitch"], int)
            assert _on_grid(n["t"], beats), (seed, n)
        assert perf["onsets"] == sorted({n["t"] for n in notes})
        assert perf["dynamics"] in performance.DYNAMICS and perf["articulation"] in performance.ARTICULATIONS
        if instrument == "drum":
            assert {n["pitch"] for n in notes} <= KIT
        elif instrument == "congas":
            assert {n["pitch"] for n in notes} <= CONGAS
        else:
            tops = [max(n["pitch"] for n in notes if n["t"] == t) for t in perf["onsets"]]
            assert abs(np.mean(tops) - register_center(register)) <= 9           # plays in its register
        assert (perf["vibrato"] > 0) == (instrument in performance.VIBRATO)


def test_a_higher_density_plays_more_onsets_per_second():
    ratios = []
    for seed in range(40):
        instrument = INSTRUMENTS[seed % len(INSTRUMENTS)]
        beats, register, intervals, _, piece = _case(seed, instrument, seconds=12.0)
        playing = sum(e - s for s, e in intervals)
        rate = {d: len(performance.play(np.random.default_rng(seed), instrument, register, intervals, beats, d,
                                        piece)["onsets"]) / playing for d in (0.5, 1.0, 2.0)}
        assert rate[0.5] <= rate[1.0] <= rate[2.0], (seed, instrument, rate)
        ratios += [rate[1.0] / rate[0.5], rate[2.0] / rate[1.0]]
    assert np.median(ratios) >= 1.8 and np.mean(np.array(ratios) >= 1.5) >= 0.9


def _by_onset(notes):
    out = {}
    for n in notes:
        out.setdefault(n["t"], []).append(n)
    return out


def test_chords_under_plucked_and_keyboard_melodies_and_single_lines_elsewhere():
    for instrument, chords in (("piano", True), ("acoustic_guitar", True), ("violin", False), ("flute", False)):
        sizes = []
        for seed in range(6):
            beats, register, intervals, density, piece = _case(seed, instrument, seconds=12.0)
            perf = performance.play(np.random.default_rng(seed), instrument, register, intervals, beats, density, piece)
            sizes += [len(v) for v in _by_onset(perf["notes"]).values()]
        assert (max(sizes) >= 3) == chords, instrument
        assert chords or max(sizes) == 1


def test_drums_play_kick_snare_and_cymbals_and_melodies_move_by_steps_and_leaps():
    keys = set()
    for seed in range(6):
        beats, _, intervals, density, piece = _case(seed, "drum", seconds=12.0)
        keys |= {n["pitch"] for n in performance.play(np.random.default_rng(seed), "drum", None, intervals, beats,
                                                      density, piece)["notes"]}
    assert {rhythms.KICK, rhythms.SNARE} <= keys and keys & {rhythms.HAT, rhythms.RIDE}
    moves = []
    for seed in range(6):
        beats, register, intervals, density, piece = _case(seed, "violin", seconds=12.0)
        pitches = [n["pitch"] for n in performance.play(np.random.default_rng(seed), "violin", register, intervals,
                                                        beats, density, piece)["notes"]]
        moves += np.abs(np.diff(pitches)).tolist()
    moves = np.array(moves)
    assert np.mean((moves >= 1) & (moves <= 2)) > 0.3 and np.mean(moves >= 3) > 0.1      # steps and leaps


def test_accents_dynamics_and_articulation_shape_the_notes():
    beats = beat_times([{"start": 0.0, "end": 12.0, "bpm": 120.0}])
    strong, weak, firsts, lasts = [], [], {}, {}
    ratio = {a: [] for a in performance.ARTICULATIONS}
    for seed in range(60):
        rng = np.random.default_rng(seed)
        perf = performance.play(rng, "clarinet", "mid", [[0.0, 12.0]], beats, 2.0, {"meter": 4, "tonic": 0,
                                "mode": "major", "progression": [0, 3, 4, 0]})
        notes = perf["notes"]
        if perf["dynamics"] == "steady":
            strong += [n["velocity"] for n in notes if n["t"] % 2.0 == 0]           # downbeats (4/4 at 0.5 s)
            weak += [n["velocity"] for n in notes if n["t"] % 0.5 != 0]            # off-beats
        vel = [n["velocity"] for n in notes]
        firsts.setdefault(perf["dynamics"], []).append(np.mean(vel[: len(vel) // 3]))
        lasts.setdefault(perf["dynamics"], []).append(np.mean(vel[-len(vel) // 3:]))
        onsets = perf["onsets"] + [12.0]
        ratio[perf["articulation"]] += [n["dur"] / (onsets[i + 1] - n["t"]) for i, n in enumerate(notes)]
    assert np.mean(strong) > np.mean(weak) + 0.2
    assert np.mean(lasts["crescendo"]) > np.mean(firsts["crescendo"]) + 0.15
    assert np.mean(lasts["decrescendo"]) < np.mean(firsts["decrescendo"]) - 0.15
    legato, normal, staccato = (np.array(ratio[a]) for a in performance.ARTICULATIONS)
    assert np.mean(legato > 1.0) > 0.5 and np.all(normal <= 1.0) and np.mean(staccato) < 0.6 * np.mean(normal)


# --- rendering ------------------------------------------------------------------------------------------

def _scene(seconds, sources, setting="studio"):
    return {"duration": seconds, "sample_rate": SR, "setting": setting,
            "background": "outdoor" if setting in ("park", "street", "beach", "garden") else "indoor",
            "voiceover": {"present": False, "intervals": []}, "sources": sources}


def _source(instrument, intervals, loudness_db, seed=0, density=1.0, register="mid", depth=0.0, **over):
    beats = beat_times([{"start": 0.0, "end": 20.0, "bpm": 100.0}])
    perf = performance.play(np.random.default_rng(seed), instrument, register, intervals, beats, density)
    keep = ("notes", "articulation", "vibrato", "vibrato_hz", "slide", "dynamics")
    return {"instrument": instrument, "sounding": True, "intervals": intervals, "loudness_db": loudness_db,
            "register": register, "depth": depth, **{k: perf[k] for k in keep}, **over}


def _db(x):
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


def test_each_source_plays_at_its_loudness_and_the_room_is_quiet_outside_the_intervals(font):
    sources = [_source("violin", [[0.6, 3.0]], -14.0), _source("piano", [[1.2, 3.6]], -22.0, seed=1),
               _source("drum", [[0.6, 2.4]], -18.0, seed=2, register=None, depth=1.0)]
    for src in sources:
        track = source_track(src, 6 * SR, SR, np.random.default_rng(0), font)
        s, e = src["intervals"][0]
        assert abs(_db(track[int(s * SR):int(e * SR)]) - src["loudness_db"]) < 0.01        # the dry contract
        assert np.abs(track[:int(s * SR)]).max() == 0 and np.abs(track[int((e + 0.26) * SR):]).max() == 0
    for setting, tail_s in (("studio", 0.6), ("church", 2.4), ("park", 0.6)):
        mix = render_audio(_scene(8.0, sources, setting), np.random.default_rng(0), font)
        assert mix.shape == (8 * SR,) and mix.dtype == np.float32
        playing = _db(mix[int(1.2 * SR):int(2.4 * SR)])
        floor = room.AMBIENCE_DB + 0.5 if setting == "park" else -55.0      # noise bed outdoors, room tone inside
        assert _db(mix[:int(0.55 * SR)]) < min(floor, playing - 30), setting   # nothing before the first entry
        assert _db(mix[int((3.6 + tail_s) * SR):]) < min(floor, playing - 30), setting   # the tail has died away


def test_vibrato_shows_as_pitch_modulation_on_a_long_violin_note(font):
    note = [{"t": 0.2, "dur": 2.0, "pitch": 69, "velocity": 0.9}]

    def pitch_track(audio):      # semitones from A4, 10 ms frames, over the note's steady part
        out = []
        for c in np.arange(0.7, 2.0, 0.01):
            seg = audio[int(c * SR) - 400:int(c * SR) + 400] * np.hanning(800)
            spec, freqs = np.abs(np.fft.rfft(seg, 16384)), np.fft.rfftfreq(16384, 1 / SR)
            band = (freqs > 400) & (freqs < 480)
            out.append(12 * np.log2(freqs[band][np.argmax(spec[band])] / 440.0))
        return np.array(out)
    plain = pitch_track(soundfont.render_notes("violin", note, 3 * SR, SR, font))
    vib = pitch_track(soundfont.render_notes("violin", note, 3 * SR, SR, font, vibrato=0.3, vibrato_hz=5.5))
    assert vib.std() > 2.5 * plain.std() and np.ptp(vib) > 0.4             # the sample's own vibrato is slight
    rate = np.fft.rfftfreq(vib.size, 0.01)[np.argmax(np.abs(np.fft.rfft(vib - vib.mean())))]
    assert 4.5 <= rate <= 6.5
    assert abs(np.median(vib)) < 0.15                                       # modulated around the note's pitch


def test_slides_glide_into_a_new_pitch_from_the_side_they_come_from_and_vibrato_waits_for_the_attack():
    notes = [{"t": 0.0, "dur": 0.5, "pitch": 67, "velocity": 1.0}, {"t": 0.5, "dur": 1.0, "pitch": 69, "velocity": 1.0},
             {"t": 1.5, "dur": 0.5, "pitch": 69, "velocity": 1.0}]
    bends = dict(soundfont.bend_events(notes, SR, depth=0.0, hz=5.5, slide=1.0))
    semis = {k: (v - soundfont.BEND_CENTRE) / 8191 * soundfont.BEND_RANGE for k, v in bends.items()}
    assert abs(semis[0]) < 1e-3 and abs(semis[int(0.5 * SR)] + 1.0) < 1e-3       # starts a semitone low (from G)
    assert abs(semis[int(0.5 * SR) + 5 * soundfont.VIBRATO_UPDATE] + 0.5) < 0.1   # half way after ~40 ms
    assert all(abs(v) < 1e-3 for k, v in semis.items() if k >= int(0.6 * SR))     # on pitch; a repeat has no slide
    vib = dict(soundfont.bend_events(notes[1:2], SR, depth=0.3, hz=5.5))
    attack = [k for k, v in vib.items() if v != soundfont.BEND_CENTRE]
    assert min(attack) >= int((0.5 + soundfont.VIBRATO_DELAY_S) * SR)
    assert max(abs(v - soundfont.BEND_CENTRE) for v in vib.values()) == pytest.approx(0.3 / 2 * 8191, abs=60)
    assert soundfont.bend_events(notes, SR, depth=0.0, hz=5.5) == []


def _decay_s(audio, after_s, drop_db=30.0):
    """Seconds after `after_s` until the 20 ms level stays drop_db under its level at after_s."""
    frames = audio[int(after_s * SR):].reshape(-1, SR // 50)
    level = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-15)
    above = np.flatnonzero(level > level[0] - drop_db)
    return (above[-1] + 1) / 50.0


def test_a_reverberant_room_decays_longer_than_a_dry_one(font):
    src = {"instrument": "piano", "sounding": True, "intervals": [[0.5, 1.0]], "loudness_db": -16.0,
           "notes": [{"t": 0.5, "dur": 0.2, "pitch": 64, "velocity": 1.0}], "register": "mid"}
    dry = source_track(src, 5 * SR, SR, np.random.default_rng(0), font)
    decay = {"dry": _decay_s(dry, 0.7)}
    for setting in ("studio", "concert_hall", "church"):
        mix = render_audio(_scene(5.0, [src], setting), np.random.default_rng(0), font)
        decay[setting] = _decay_s(mix, 0.7)
    assert decay["dry"] <= decay["studio"] < decay["concert_hall"] < decay["church"], decay     # a studio is near dry
    assert decay["church"] > decay["dry"] + 0.8


def test_rooms_reverberate_for_their_rt60_and_depth_is_quieter_and_wetter():
    for name in ("studio", "living_room", "concert_hall", "church"):
        r = room.ROOMS[name]
        ir = room.impulse_response(r, SR, np.random.default_rng(0))
        assert abs(np.sum(ir.astype(np.float64) ** 2) - 1) < 1e-3
        schroeder = 10 * np.log10(np.cumsum((ir.astype(np.float64) ** 2)[::-1])[::-1] + 1e-20)
        t5, t25 = (np.flatnonzero(schroeder < -d)[0] / SR for d in (5, 25))
        rt60 = 3 * (t25 - t5)                                                # T20 extrapolated to 60 dB
        assert 0.6 * r.rt60[0] < rt60 < 1.2 * r.rt60[1], (name, rt60)
    near, far = room.depth_gains(room.ROOMS["concert_hall"], 0.0), room.depth_gains(room.ROOMS["concert_hall"], 1.0)
    assert far[0] < near[0] and far[1] > near[1]
    assert room.room_for("nowhere") is room.NEUTRAL is room.room_for(None)
    bed = room.ambience(room.ROOMS["street"], 4 * SR, SR, np.random.default_rng(0))
    assert abs(_db(bed) - room.AMBIENCE_DB) < 0.01 and not room.ambience(room.ROOMS["church"], SR, SR,
                                                                        np.random.default_rng(0)).any()


def test_same_seed_same_samples_and_the_synthetic_world_ignores_rooms(font):
    sources = [_source("erhu", [[0.0, 3.0]], -16.0), _source("congas", [[0.5, 3.0]], -20.0, register=None)]
    meta = _scene(3.0, sources, "park")
    a = render_audio(meta, np.random.default_rng(5), font)
    assert np.array_equal(a, render_audio(meta, np.random.default_rng(5), font))
    assert not np.array_equal(a, render_audio(meta, np.random.default_rng(6), font))
    bare = {**meta, "sources": [{k: v for k, v in s.items() if k not in ("depth", "dynamics", "vibrato", "slide")}
                                for s in sources]}
    bare.pop("setting")
    assert np.array_equal(render_audio(meta, np.random.default_rng(5)), render_audio(bare, np.random.default_rng(5)))
