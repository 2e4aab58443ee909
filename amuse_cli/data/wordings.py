"""Hand-written rephrasings of the 33 templates, the way MUSIC-AVQA-R rewords them (word order,
synonyms, passive voice, fronted clauses, "Can you tell ..."), each marked seen or unseen.

A rephrasing keeps its template's placeholders in the same order (so `templ_values` fills it as it
fills the template) and its meaning (the same values give the same answer). Each placeholder stands
alone between spaces, so the peers' whitespace tokenisation fills it, and a filled rephrasing is at
most MAX_WORDS words, so the default `data.max_tokens` reads it whole.

- seen: may word train, val and test questions;
- unseen: test questions only. Each one uses at least one word that neither its template nor any seen
  rephrasing of it uses (synonyms training never shows: "audible" for "heard", "footage" for "video"),
  and most use a word no training question of any template uses (`unseen_only_words`).

The loader (data/annotations.py) reads a known rephrasing as its template (`QARecord.template`, so
per-template priors, tables and balancing keep working) and keeps which wording was asked
(`QARecord.wording`); the synthetic generator words questions from this table (synth/wording.py).
A MUSIC-AVQA-R question whose text happens to be one of these rows reads the same way (its template,
seen or unseen) rather than as free text (the -R examples the tests carry are none of them).
"""
from __future__ import annotations

import re
from typing import NamedTuple

from amuse_cli.data.taxonomy import TEMPLATES, TEMPLATES_RAW, normalize_template

TEMPLATE, SEEN, UNSEEN, FREE = "template", "seen", "unseen", "free"   # QARecord.wording
KINDS = (TEMPLATE, SEEN, UNSEEN, FREE)
MAX_WORDS = 14        # config's default data.max_tokens: the longest v1 question


class Rephrasing(NamedTuple):
    template: int     # index in taxonomy.TEMPLATES_RAW
    text: str         # the question with the template's placeholders, in the template's order
    kind: str         # SEEN (train, val, test) or UNSEEN (test only)


S, U = SEEN, UNSEEN
REPHRASINGS = tuple(Rephrasing(*row) for row in (
    # 0 'Are there <Object> and <Object> sound? ': yes iff both are heard
    (0, "Can both the <Object> and the <Object> be heard?", S),
    (0, "Do the <Object> and the <Object> both make a sound?", S),
    (0, "Is there sound from both the <Object> and the <Object>?", S),
    (0, "Are the <Object> and the <Object> both sounding?", S),
    (0, "Are the <Object> and the <Object> both audible?", U),
    (0, "Do we hear the <Object> as well as the <Object> in this clip?", U),
    # 1 'Is there a <Object> sound?': yes iff it is heard
    (1, "Can a <Object> be heard?", S),
    (1, "Does a <Object> make any sound?", S),
    (1, "Is the sound of a <Object> present?", S),
    (1, "Can you tell whether a <Object> is sounding?", S),
    (1, "Is a <Object> audible in the recording?", U),
    (1, "Do you hear a <Object> at all?", U),
    # 2 'How many musical instruments were heard throughout the video?': heard sources
    (2, "How many instruments can be heard in the video?", S),
    (2, "How many musical instruments make a sound during the video?", S),
    (2, "Throughout the video, how many instruments are heard?", S),
    (2, "What is the number of instruments heard in the video?", S),
    (2, "How many instruments are audible over the whole clip?", U),
    (2, "How many instruments do you hear during the entire recording?", U),
    # 3 'Is the <Object> louder than the <Object>?'
    (3, "Does the <Object> sound louder than the <Object>?", S),
    (3, "Is the <Object> playing louder than the <Object>?", S),
    (3, "Between the <Object> and the <Object> players, is the former louder?", S),
    (3, "Is the sound of the <Object> louder than that of the <Object>?", S),
    (3, "Is the <Object> at a higher volume than the <Object>?", U),
    (3, "Does the <Object> have a greater volume than the <Object>?", U),
    # 4 'Is the <Object> more rhythmic than the <Object>?'
    (4, "Does the <Object> have more rhythm than the <Object>?", S),
    (4, "Does the <Object> play more rhythmically than the <Object>?", S),
    (4, "Between the <Object> and the <Object> players, is the former more rhythmic?", S),
    (4, "Is the <Object> playing with more rhythm than the <Object>?", S),
    (4, "Does the <Object> play a busier beat than the <Object>?", U),
    (4, "Is the <Object> livelier in rhythm than the <Object>?", U),
    # 5 'Is the <Object> playing longer than the <Object>?'
    (5, "Does the <Object> play longer than the <Object>?", S),
    (5, "Is the <Object> heard for longer than the <Object>?", S),
    (5, "Does the <Object> play for more time than the <Object>?", S),
    (5, "Between the <Object> and the <Object> players, does the former play longer?", S),
    (5, "Does the <Object> keep going for a greater duration than the <Object>?", U),
    (5, "Is the <Object> performing for a longer stretch than the <Object>?", U),
    # 6 'Is there a <Object> in the entire video?': on screen
    (6, "Does a <Object> appear in the video?", S),
    (6, "Can a <Object> be seen in the video?", S),
    (6, "Is a <Object> shown at any point in the video?", S),
    (6, "In the whole video, is there a <Object>?", S),
    (6, "Is a <Object> visible in the footage?", U),
    (6, "Do we ever spot a <Object> in this clip?", U),
    # 7 'Are there <Object> and <Object> instruments in the video?': both on screen
    (7, "Do both a <Object> and a <Object> appear in the video?", S),
    (7, "Can both the <Object> and the <Object> be seen in the video?", S),
    (7, "Are a <Object> and a <Object> both shown in the video?", S),
    (7, "Does the video show a <Object> as well as a <Object>?", S),
    (7, "Are a <Object> and a <Object> both visible in the footage?", U),
    (7, "Can one spot a <Object> together with a <Object> on screen?", U),
    # 8 'How many <Object> are in the entire video?': on screen, of that class
    (8, "How many <Object> appear in the video?", S),
    (8, "How many <Object> can be seen in the whole video?", S),
    (8, "What is the number of <Object> in the video?", S),
    (8, "In the entire video, how many <Object> are there?", S),
    (8, "How many <Object> are visible in the footage?", U),
    (8, "How many <Object> does one spot on screen?", U),
    # 9 'How many types of musical instruments appeared in the entire video?': classes on screen
    (9, "How many kinds of instruments appear in the video?", S),
    (9, "How many different kinds of musical instruments are shown in the video?", S),
    (9, "What is the number of instrument types seen in the video?", S),
    (9, "In the entire video, how many types of instruments appear?", S),
    (9, "How many sorts of instruments are visible in the footage?", U),
    (9, "How many distinct varieties of instrument does the clip show?", U),
    # 10 'What is the instrument on the <LR> of <Object>?'
    (10, "Which instrument is on the <LR> of the <Object>?", S),
    (10, "What instrument is to the <LR> of the <Object>?", S),
    (10, "What is the musical instrument on the <LR> side of the <Object>?", S),
    (10, "On the <LR> of the <Object> player, what instrument can be seen?", S),
    (10, "Which instrument sits just <LR> of the <Object>?", U),
    (10, "What stands immediately to the <LR> of the <Object>?", U),
    # 11 'Where is the performance?': indoor or outdoor
    (11, "Where does the performance take place?", S),
    (11, "Where is this performance happening?", S),
    (11, "Is the performance indoors or outdoors?", S),
    (11, "Where is the music being performed?", S),
    (11, "Is the venue inside or outside?", U),
    (11, "In what kind of location is this concert held?", U),
    # 12 'What kind of instrument is the <LRer> instrument? ': leftest / rightest
    (12, "What is the <LRer> instrument?", S),
    (12, "Which instrument is the <LRer> one?", S),
    (12, "What type of instrument is the <LRer> one in the video?", S),
    (12, "Can you tell what the <LRer> instrument is?", S),
    (12, "Could you identify the <LRer> instrument?", U),
    (12, "What instrument occupies the <LRer> spot on the stage?", U),
    # 13 'What kind of musical instrument is it?': every one on screen has this class
    (13, "What instrument is this?", S),
    (13, "Which musical instrument is this?", S),
    (13, "What type of instrument is shown?", S),
    (13, "Can you tell what kind of instrument this is?", S),
    (13, "Which instrument does the footage feature?", U),
    (13, "Could you identify this instrument?", U),
    # 14 'Is the <Object> in the video always playing?'
    (14, "Is the <Object> playing all the time?", S),
    (14, "Does the <Object> play from beginning to end?", S),
    (14, "Is the <Object> in the video playing the whole time?", S),
    (14, "Does the <Object> keep playing throughout the video?", S),
    (14, "Does the <Object> perform without pause for the entire clip?", U),
    (14, "Is the <Object> continuously audible in the recording?", U),
    # 15 'Is there a voiceover?'
    (15, "Can a voiceover be heard?", S),
    (15, "Does the video have a voiceover?", S),
    (15, "Is someone speaking over the music?", S),
    (15, "Is there any narration in the video?", S),
    (15, "Do we hear a narrator talking in the clip?", U),
    (15, "Is a spoken commentary audible?", U),
    # 16 'Is this sound from the instrument in the video?': every heard source is on screen
    (16, "Does this sound come from the instrument in the video?", S),
    (16, "Is the sound produced by the instruments in the video?", S),
    (16, "Is the sound made by the instrument shown in the video?", S),
    (16, "Does the sound belong to the instrument in the video?", S),
    (16, "Is the audio produced by the instrument visible on screen?", U),
    (16, "Does this noise originate from the instrument in the footage?", U),
    # 17 'How many sounding <Object> in the video？': on screen, of that class, heard
    (17, "How many <Object> are sounding in the video?", S),
    (17, "How many <Object> in the video make a sound?", S),
    (17, "What is the number of sounding <Object> in the video?", S),
    (17, "In the video, how many <Object> are making sound?", S),
    (17, "How many <Object> on screen are audible?", U),
    (17, "How many of the <Object> in the clip produce any noise?", U),
    # 18 'How many types of musical instruments sound in the video?': classes sounding on screen
    (18, "How many kinds of instruments are sounding in the video?", S),
    (18, "How many different types of instruments make sound in the video?", S),
    (18, "What is the number of instrument types heard in the video?", S),
    (18, "In the video, how many kinds of musical instruments can be heard?", S),
    (18, "How many sorts of instruments are audible in the footage?", U),
    (18, "How many distinct varieties of instrument produce noise in the clip?", U),
    # 19 'How many instruments are sounding in the video?': sounding on screen
    (19, "How many of the instruments in the video are sounding?", S),
    (19, "What is the number of sounding instruments in the video?", S),
    (19, "In the video, how many instruments are making sound?", S),
    (19, "How many musical instruments are sounding in this video?", S),
    (19, "How many of the instruments on screen are audible?", U),
    (19, "How many instruments in the clip are actually producing noise?", U),
    # 20 'How many instruments in the video did not sound from beginning to end?': never sound
    (20, "How many instruments in the video never make a sound?", S),
    (20, "How many instruments in the video stay silent the whole time?", S),
    (20, "How many of the instruments in the video are silent throughout?", S),
    (20, "From beginning to end, how many instruments in the video make no sound?", S),
    (20, "How many instruments on screen remain mute for the entire clip?", U),
    (20, "How many visible instruments are never audible?", U),
    # 21 'Which is the musical instrument that sounds at the same time as the <Object>?'
    (21, "Which instrument sounds at the same time as the <Object>?", S),
    (21, "Which instrument is playing at the same time as the <Object>?", S),
    (21, "What instrument is heard simultaneously with the <Object>?", S),
    (21, "Which musical instrument plays along with the <Object>?", S),
    (21, "Which instrument accompanies the <Object>?", U),
    (21, "What instrument can you hear alongside the <Object>?", U),
    # 22 'Where is the <LL> instrument?': loudest / lowest
    (22, "Where is the <LL> instrument located?", S),
    (22, "Where is the instrument that sounds <LL>?", S),
    (22, "Where can the <LL> instrument be seen?", S),
    (22, "Can you tell where the <LL> instrument is?", S),
    (22, "In which part of the stage is the <LL> instrument?", U),
    (22, "Where does the <LL> instrument sit on screen?", U),
    # 23 'Is the <FL> sound coming from the <LR> instrument?'
    (23, "Does the <FL> sound come from the <LR> instrument?", S),
    (23, "Is the <FL> sound made by the <LR> instrument?", S),
    (23, "Is the <FL> sound from the instrument on the <LR>?", S),
    (23, "Is the instrument that sounds <FL> the <LR> one?", S),
    (23, "Does the <FL> noise originate from the <LR> instrument?", U),
    (23, "Is the <FL> audible note produced by the <LR> instrument?", U),
    # 24 'What is the <LR> instrument of the <FL> sounding instrument?': its neighbour on that side
    (24, "What instrument is on the <LR> of the <FL> sounding instrument?", S),
    (24, "Which instrument is to the <LR> of the instrument that sounds <FL>?", S),
    (24, "What is the instrument on the <LR> side of the <FL> sounding one?", S),
    (24, "Can you tell which instrument is <LR> of the <FL> sounding instrument?", S),
    (24, "What sits just <LR> of the instrument audible <FL>?", U),
    (24, "What instrument is positioned <LR> of the one that begins <FL>?", U),
    # 25 'Is the instrument on the <LR> louder than the instrument on the <LR>?'
    (25, "Is the <LR> instrument louder than the <LR> instrument?", S),
    (25, "Does the instrument on the <LR> sound louder than the one on the <LR>?", S),
    (25, "Does the <LR> instrument play more loudly than the <LR> one?", S),
    (25, "Between the <LR> and the <LR> instrument, is the former louder?", S),
    (25, "Is the <LR> instrument at a higher volume than the <LR> one?", U),
    (25, "Is the volume on the <LR> greater than on the <LR>?", U),
    # 26 'Is the instrument on the <LR> more rhythmic than the instrument on the <LR>?'
    (26, "Is the <LR> instrument more rhythmic than the <LR> instrument?", S),
    (26, "Does the <LR> instrument have more rhythm than the <LR> one?", S),
    (26, "Does the <LR> instrument play more rhythmically than the <LR> one?", S),
    (26, "Between the <LR> and the <LR> instrument, is the former more rhythmic?", S),
    (26, "Is the <LR> instrument playing a busier beat than the <LR> one?", U),
    (26, "Is the rhythm on the <LR> livelier than on the <LR>?", U),
    # 27 'Is the <Object> on the <LR> louder than the <Object> on the <LR>?'
    (27, "Does the <Object> on the <LR> sound louder than the <Object> on the <LR>?", S),
    (27, "Is the <Object> at the <LR> playing louder than the <Object> at the <LR>?", S),
    (27, "Does the <Object> at <LR> play louder than the <Object> at <LR>?", S),
    (27, "Is the <Object> on the <LR> side louder than the <Object> on the <LR>?", S),
    (27, "Is the <Object> at <LR> higher in volume than the <Object> at <LR>?", U),
    (27, "Is the <Object> on the <LR> more audible than the <Object> on the <LR>?", U),
    # 28 'Is the <Object> on the <LR> more rhythmic than the <Object> on the <LR>?'
    (28, "Does the <Object> at <LR> have more rhythm than the <Object> at <LR>?", S),
    (28, "Is the <Object> at the <LR> more rhythmic than the <Object> at the <LR>?", S),
    (28, "Does the <Object> at <LR> play more rhythmically than the <Object> at <LR>?", S),
    (28, "Does the <Object> at <LR> play with more rhythm than the <Object> at <LR>?", S),
    (28, "Is the <Object> at <LR> playing a busier beat than the <Object> at <LR>?", U),
    (28, "Is the rhythm of the <Object> at <LR> livelier than the <Object> at <LR>?", U),
    # 29 'What is the <TH> instrument that comes in?': the k-th to enter
    (29, "Which instrument comes in <TH>?", S),
    (29, "What is the <TH> instrument to start playing?", S),
    (29, "Which instrument is the <TH> to come in?", S),
    (29, "Can you tell which instrument enters <TH>?", S),
    (29, "Which instrument joins in <TH>?", U),
    (29, "What is the <TH> instrument audible in the recording?", U),
    # 30 'Where is the <FL> sounding instrument?': where the first / last to enter is
    (30, "Where is the instrument that sounds <FL>?", S),
    (30, "Where is the instrument that starts playing <FL>?", S),
    (30, "Where is the <FL> instrument to play located?", S),
    (30, "Can you tell where the <FL> sounding instrument is?", S),
    (30, "In which part of the stage is the <FL> instrument to be heard?", U),
    (30, "Where does the instrument that begins <FL> sit?", U),
    # 31 'Which instrument makes sounds <BA> the <Object>?': enters just before / after it
    (31, "Which instrument starts playing <BA> the <Object>?", S),
    (31, "What instrument comes in <BA> the <Object>?", S),
    (31, "Which instrument is heard <BA> the <Object>?", S),
    (31, "Which musical instrument plays <BA> the <Object>?", S),
    (31, "Which instrument joins in <BA> the <Object>?", U),
    (31, "What instrument do you hear <BA> the <Object>?", U),
    # 32 'Which <Object> makes the sound <FL>?': where the first / last of that class enters
    (32, "Which <Object> sounds <FL>?", S),
    (32, "Which <Object> starts playing <FL>?", S),
    (32, "Which <Object> player makes a sound <FL>?", S),
    (32, "Which <Object> is heard <FL>?", S),
    (32, "Which <Object> player joins in <FL>?", U),
    (32, "Which <Object> can you hear <FL>?", U),
))

BY_TEXT = {normalize_template(r.text): r for r in REPHRASINGS}
assert len(BY_TEXT) == len(REPHRASINGS) and not BY_TEXT.keys() & TEMPLATES.keys()

_WORD = re.compile(r"[a-z]+")
# Words that carry no meaning of their own here: an unseen rephrasing must differ in other words.
FUNCTION_WORDS = frozenset(
    "a an the this that it its is are was were be do does did can could you we one there of in on at to "
    "for by from with as and or than any all no not what which where how many who whether if".split())


def rephrasings(template: int, kind: str | None = None) -> tuple[Rephrasing, ...]:
    """The rephrasings of template `template` (an index in TEMPLATES_RAW), of one kind or all."""
    return tuple(r for r in REPHRASINGS if r.template == template and kind in (None, r.kind))


def recognise(text: str) -> Rephrasing | None:
    """The rephrasing a question's text is (quirks as for templates: trailing space, '？'), or None."""
    return BY_TEXT.get(normalize_template(text))


_RELEASED = {normalize_template(t): t for t, _, _ in TEMPLATES_RAW}


def released_template(text: str) -> str:
    """The template a question's text words, spelled as released (TEMPLATES_RAW): what to group
    question_content by when counting per template. Free text comes back as it is."""
    r = recognise(text)
    return TEMPLATES_RAW[r.template][0] if r else _RELEASED.get(normalize_template(text), text)


def content_words(text: str) -> set[str]:
    """Lower-case words other than placeholders and FUNCTION_WORDS."""
    return set(_WORD.findall(re.sub(r"<[A-Za-z]+>", " ", text).lower())) - FUNCTION_WORDS


def training_words() -> set[str]:
    """Every word a train question can use: the templates' and the seen rephrasings'."""
    texts = [t for t, _, _ in TEMPLATES_RAW] + [r.text for r in REPHRASINGS if r.kind == SEEN]
    return set().union(*(content_words(t) for t in texts))


def unseen_only_words() -> list[str]:
    """Words only unseen rephrasings use: a model trained on templates and seen rephrasings never
    reads them."""
    unseen = set().union(*(content_words(r.text) for r in REPHRASINGS if r.kind == UNSEEN))
    return sorted(unseen - training_words())
