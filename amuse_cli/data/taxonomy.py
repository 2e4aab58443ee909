"""The MUSIC-AVQA question taxonomy: groups, types, the 33 templates and the 42 answers.

Everything here is fixed by the dataset, not by any file's order: peers number answers by first
appearance in their train file, so their label indices differ between forks. amuse ships one list.
"""
from __future__ import annotations

GROUPS = ("Audio", "Visual", "Audio-Visual")

# The nine (group, type) pairs in the column order papers print.
TYPES = (
    ("Audio", "Counting"),
    ("Audio", "Comparative"),
    ("Visual", "Counting"),
    ("Visual", "Location"),
    ("Audio-Visual", "Existential"),
    ("Audio-Visual", "Counting"),
    ("Audio-Visual", "Location"),
    ("Audio-Visual", "Comparative"),
    ("Audio-Visual", "Temporal"),
)

# Short column names used by the papers' tables (A-Count ... Avg).
GROUP_SHORT = {"Audio": "A", "Visual": "V", "Audio-Visual": "AV"}
TYPE_SHORT = {"Counting": "Count", "Comparative": "Comp", "Location": "Loc",
              "Existential": "Exist", "Temporal": "Temp"}


def type_column(group: str, qtype: str) -> str:
    return f"{GROUP_SHORT[group]}-{TYPE_SHORT[qtype]}"


def group_column(group: str) -> str:
    return f"{GROUP_SHORT[group]}-Avg"


# The 13 columns of the papers' tables, in order.
COLUMNS = (
    "A-Count", "A-Comp", "A-Avg",
    "V-Count", "V-Loc", "V-Avg",
    "AV-Exist", "AV-Count", "AV-Loc", "AV-Comp", "AV-Temp", "AV-Avg",
    "Avg",
)

# The 33 templates exactly as written in the released files (trailing spaces and the
# full-width question mark included), each with its (group, type).
TEMPLATES_RAW = (
    ("Are there <Object> and <Object> sound? ", "Audio", "Counting"),
    ("Is there a <Object> sound?", "Audio", "Counting"),
    ("How many musical instruments were heard throughout the video?", "Audio", "Counting"),
    ("Is the <Object> louder than the <Object>?", "Audio", "Comparative"),
    ("Is the <Object> more rhythmic than the <Object>?", "Audio", "Comparative"),
    ("Is the <Object> playing longer than the <Object>?", "Audio", "Comparative"),
    ("Is there a <Object> in the entire video?", "Visual", "Counting"),
    ("Are there <Object> and <Object> instruments in the video?", "Visual", "Counting"),
    ("How many <Object> are in the entire video?", "Visual", "Counting"),
    ("How many types of musical instruments appeared in the entire video?", "Visual", "Counting"),
    ("What is the instrument on the <LR> of <Object>?", "Visual", "Location"),
    ("Where is the performance?", "Visual", "Location"),
    ("What kind of instrument is the <LRer> instrument? ", "Visual", "Location"),
    ("What kind of musical instrument is it?", "Visual", "Location"),
    ("Is the <Object> in the video always playing?", "Audio-Visual", "Existential"),
    ("Is there a voiceover?", "Audio-Visual", "Existential"),
    ("Is this sound from the instrument in the video?", "Audio-Visual", "Existential"),
    ("How many sounding <Object> in the video\uff1f", "Audio-Visual", "Counting"),
    ("How many types of musical instruments sound in the video?", "Audio-Visual", "Counting"),
    ("How many instruments are sounding in the video?", "Audio-Visual", "Counting"),
    ("How many instruments in the video did not sound from beginning to end?", "Audio-Visual", "Counting"),
    ("Which is the musical instrument that sounds at the same time as the <Object>?", "Audio-Visual", "Location"),
    ("Where is the <LL> instrument?", "Audio-Visual", "Location"),
    ("Is the <FL> sound coming from the <LR> instrument?", "Audio-Visual", "Location"),
    ("What is the <LR> instrument of the <FL> sounding instrument?", "Audio-Visual", "Location"),
    ("Is the instrument on the <LR> louder than the instrument on the <LR>?", "Audio-Visual", "Comparative"),
    ("Is the instrument on the <LR> more rhythmic than the instrument on the <LR>?", "Audio-Visual", "Comparative"),
    ("Is the <Object> on the <LR> louder than the <Object> on the <LR>?", "Audio-Visual", "Comparative"),
    ("Is the <Object> on the <LR> more rhythmic than the <Object> on the <LR>?", "Audio-Visual", "Comparative"),
    ("What is the <TH> instrument that comes in?", "Audio-Visual", "Temporal"),
    ("Where is the <FL> sounding instrument?", "Audio-Visual", "Temporal"),
    ("Which instrument makes sounds <BA> the <Object>?", "Audio-Visual", "Temporal"),
    ("Which <Object> makes the sound <FL>?", "Audio-Visual", "Temporal"),
)


def normalize_template(text: str) -> str:
    """Template text for lookups: full-width '？' -> '?', surrounding whitespace stripped."""
    return text.replace("\uff1f", "?").strip()


TEMPLATES = {normalize_template(t): (g, q) for t, g, q in TEMPLATES_RAW}
TEMPLATE_IDS = {t: i for i, t in enumerate(TEMPLATES)}

INSTRUMENTS = (
    "accordion", "acoustic_guitar", "bagpipe", "banjo", "bassoon", "cello", "clarinet", "congas",
    "drum", "electric_bass", "erhu", "flute", "guzheng", "piano", "pipa", "saxophone", "suona",
    "trumpet", "tuba", "ukulele", "violin", "xylophone",
)
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "more than ten")
ANSWERS = ("yes", "no") + NUMBERS + (
    "left", "right", "middle", "indoor", "outdoor", "simultaneously") + INSTRUMENTS
ANSWER_IDS = {a: i for i, a in enumerate(ANSWERS)}

# Values each placeholder takes in the released files.
PLACEHOLDERS = {
    "<Object>": INSTRUMENTS,
    "<LR>": ("left", "right", "middle"),
    "<LL>": ("loudest", "lowest"),
    "<FL>": ("first", "last"),
    "<TH>": ("first", "second", "third", "fourth", "fifth"),
    "<BA>": ("before", "after"),
    "<LRer>": ("leftest", "rightest"),
}


def number_word(n: int) -> str:
    """Counting answer for n: 'zero'..'ten', then 'more than ten'."""
    return NUMBERS[n] if 0 <= n <= 10 else "more than ten"


assert len(TEMPLATES) == 33 and len(ANSWERS) == 42 and len(TYPES) == 9
