"""Deterministic synthetic testimonies and queries for the benchmarks.

Everything comes from one seeded ``random.Random``: the same ``--seed`` and ``--n`` give
the same documents and the same queries, so two runs (or two machines) measure the same
work. Texts are about 1.5 KB, half French and half English, written from sentence
templates filled with a realistic vocabulary (villages, dates, soldiers, market, river…).
About one testimony in eight is told by, or names, one of a few planted witnesses who are
registered as protected persons, so that the redaction engine has real work to do; a few
also carry a phone number (a redaction pattern).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field

TARGET_CHARS = 1500

VILLAGES = (
    "Moura",
    "Djenné",
    "Mopti",
    "Sévaré",
    "Tenenkou",
    "Ségou",
    "Bandiagara",
    "Diallassagou",
    "Ogossagou",
    "Sobane",
    "Boulkessi",
    "Niono",
    "Macina",
    "Dioura",
    "Konna",
    "Youwarou",
    "Hombori",
    "Douentza",
    "Gao",
    "Ménaka",
    "Ansongo",
    "Tessit",
    "Kidal",
    "Tombouctou",
)
PLACES = ("Mopti region", "Ségou region", "Tombouctou region", "Gao region", "Ménaka region")
TAGS = (
    "killings",
    "detention",
    "looting",
    "displacement",
    "torture",
    "disappearance",
    "sexual-violence",
    "arson",
    "airstrike",
    "checkpoint",
)

# Planted witnesses: (names, aliases). Accents on purpose: redaction folds them.
WITNESSES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("Amadou Diallo",), ("Papa Amadou",)),
    (("Fatoumata Traoré",), ("Fanta",)),
    (("Boubacar Cissé",), ()),
    (("Aïssata Koné",), ("Tata Koné",)),
    (("Oumar Sangaré",), ()),
    (("Mariam Dicko",), ("Mama Dicko",)),
)

FR = {
    "subjects": (
        "les soldats",
        "des hommes armés",
        "les militaires",
        "un groupe de soldats blancs",
        "les gendarmes",
        "des combattants",
        "les villageois",
        "mon frère",
        "ma voisine",
        "le chef du village",
        "les commerçants",
        "des femmes",
        "les enfants",
        "un hélicoptère",
    ),
    "verbs": (
        "sont arrivés",
        "ont encerclé",
        "ont fouillé",
        "ont brûlé",
        "ont emmené",
        "ont tiré sur",
        "ont frappé",
        "ont interrogé",
        "ont séparé",
        "ont attaché",
        "ont pillé",
        "ont fui vers",
        "se sont cachés près de",
        "ont traversé",
    ),
    "objects": (
        "le marché",
        "la rivière",
        "la mosquée",
        "les maisons",
        "le puits",
        "les greniers",
        "la piste",
        "le cimetière",
        "les troupeaux",
        "les motos",
        "l'école",
        "le camp",
        "la berge du fleuve",
        "les hommes du village",
        "les boutiques",
        "le champ de mil",
    ),
    "times": (
        "le matin du marché",
        "vers midi",
        "au coucher du soleil",
        "pendant la nuit",
        "le lendemain",
        "le troisième jour",
        "à l'aube",
        "après la prière",
    ),
    "openers": (
        "Je me souviens que",
        "J'ai vu que",
        "On m'a dit que",
        "Ce jour-là,",
        "Quand je suis revenu,",
        "Plus tard,",
        "D'abord,",
        "Ensuite,",
    ),
    "extras": (
        "Nous avions très peur.",
        "Personne n'osait parler.",
        "Les corps sont restés là.",
        "Il y avait de la fumée partout.",
        "Beaucoup ont disparu.",
        "Je n'ai rien pu faire.",
        "Les blessés n'ont pas été soignés.",
        "On entendait des coups de feu.",
    ),
    "title": "Témoignage recueilli à {village}",
    "intro": "Je suis de {village}. Les faits se sont passés le {date}.",
    "named": "Je m'appelle {name} et j'étais au marché ce jour-là.",
    "mention": "{name} était avec moi quand ils sont arrivés.",
    "phone": "Vous pouvez me joindre au {phone}.",
    "months": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}
EN = {
    "subjects": (
        "the soldiers",
        "armed men",
        "the military",
        "a group of foreign soldiers",
        "the gendarmes",
        "fighters",
        "the villagers",
        "my brother",
        "my neighbour",
        "the village chief",
        "the traders",
        "women",
        "the children",
        "a helicopter",
    ),
    "verbs": (
        "arrived at",
        "surrounded",
        "searched",
        "burned",
        "took away",
        "fired on",
        "beat",
        "questioned",
        "separated",
        "tied up",
        "looted",
        "fled towards",
        "hid near",
        "crossed",
    ),
    "objects": (
        "the market",
        "the river",
        "the mosque",
        "the houses",
        "the well",
        "the granaries",
        "the track",
        "the cemetery",
        "the herds",
        "the motorbikes",
        "the school",
        "the camp",
        "the river bank",
        "the men of the village",
        "the shops",
        "the millet field",
    ),
    "times": (
        "on market day",
        "around noon",
        "at sunset",
        "during the night",
        "the next day",
        "on the third day",
        "at dawn",
        "after prayers",
    ),
    "openers": (
        "I remember that",
        "I saw that",
        "I was told that",
        "That day,",
        "When I came back,",
        "Later,",
        "First,",
        "Then,",
    ),
    "extras": (
        "We were very afraid.",
        "Nobody dared to speak.",
        "The bodies stayed there.",
        "There was smoke everywhere.",
        "Many people disappeared.",
        "I could do nothing.",
        "The wounded were not treated.",
        "We could hear gunshots.",
    ),
    "title": "Testimony collected in {village}",
    "intro": "I am from {village}. It happened on {date}.",
    "named": "My name is {name} and I was at the market that day.",
    "mention": "{name} was with me when they arrived.",
    "phone": "You can reach me on {phone}.",
    "months": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
LANGS = {"fr": FR, "en": EN}


@dataclass(frozen=True)
class Testimony:
    key: str
    language: str
    title: str
    text: str
    place: str
    tags: tuple[str, ...]
    event_date: dt.date
    speaker: int | None  # index into WITNESSES of the person telling it, if protected
    mentioned: tuple[int, ...] = field(default=())  # witnesses named in the text


def _date_text(date: dt.date, words: dict[str, object]) -> str:
    months = words["months"]
    assert isinstance(months, tuple)
    return f"{date.day} {months[date.month - 1]} {date.year}"


def _sentence(rng: random.Random, words: dict[str, object]) -> str:
    def pick(key: str) -> str:
        options = words[key]
        assert isinstance(options, tuple)
        return str(rng.choice(options))

    sentence = (
        f"{pick('openers')} {pick('subjects')} {pick('verbs')} {pick('objects')} "
        f"{pick('times')} à {rng.choice(VILLAGES)}."
        if words is FR
        else f"{pick('openers')} {pick('subjects')} {pick('verbs')} {pick('objects')} "
        f"{pick('times')} in {rng.choice(VILLAGES)}."
    )
    if rng.random() < 0.35:
        sentence += " " + pick("extras")
    return sentence


def _phone(rng: random.Random) -> str:
    pairs = " ".join(f"{rng.randrange(100):02d}" for _ in range(4))
    return f"+223 {rng.randrange(60, 100)} {pairs}"


def generate(n: int, *, seed: int = 20220327) -> list[Testimony]:
    """``n`` testimonies, alternating French and English."""
    rng = random.Random(seed)
    out: list[Testimony] = []
    start = dt.date(2021, 1, 1)
    for i in range(n):
        language = "fr" if i % 2 == 0 else "en"
        words = LANGS[language]
        village = rng.choice(VILLAGES)
        date = start + dt.timedelta(days=rng.randrange(730))
        parts = [str(words["intro"]).format(village=village, date=_date_text(date, words))]
        speaker: int | None = None
        mentioned: list[int] = []
        roll = rng.random()
        if roll < 0.06:
            speaker = rng.randrange(len(WITNESSES))
            parts.append(str(words["named"]).format(name=WITNESSES[speaker][0][0]))
        elif roll < 0.12:
            who = rng.randrange(len(WITNESSES))
            names = WITNESSES[who][0] + WITNESSES[who][1]
            mentioned.append(who)
            parts.append(str(words["mention"]).format(name=rng.choice(names)))
        length = sum(len(p) + 1 for p in parts)
        while length < TARGET_CHARS:
            sentence = _sentence(rng, words)
            parts.append(sentence)
            length += len(sentence) + 1
        if rng.random() < 0.03:
            parts.append(str(words["phone"]).format(phone=_phone(rng)))
        tags = tuple(sorted(rng.sample(TAGS, rng.randint(1, 3))))
        out.append(
            Testimony(
                key=f"bench-{i:06d}",
                language=language,
                title=str(words["title"]).format(village=village),
                text=" ".join(parts),
                place=rng.choice(PLACES),
                tags=tags,
                event_date=date,
                speaker=speaker,
                mentioned=tuple(mentioned),
            )
        )
    return out


_LETTERS = re.compile(r"[^\W\d_]{3,}")
_WORDS = re.compile(r"[^\W_]+")  # what the index tokenizer sees as words


@dataclass(frozen=True)
class QuerySet:
    term: list[str]
    phrase: list[str]
    prefix: list[str]


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for lang in LANGS.values():
        for key in ("subjects", "verbs", "objects", "times", "extras"):
            options = lang[key]
            assert isinstance(options, tuple)
            for phrase in options:
                words.update(w.lower() for w in _LETTERS.findall(phrase))
    words.update(v.lower() for v in VILLAGES)
    return sorted(words)


def make_queries(docs: list[Testimony], count: int, *, seed: int = 1) -> QuerySet:
    """``count`` queries of each kind, drawn from words that really occur in ``docs``.

    * term: one vocabulary word (``soldats``, ``river``, ``Djenné``);
    * phrase: two or three consecutive words cut from a random document (``"the river bank"``);
    * prefix: the first three to five letters of a vocabulary word (``sold*``).
    """
    rng = random.Random(seed)
    vocabulary = _vocabulary()
    terms = [rng.choice(vocabulary) for _ in range(count)]
    phrases: list[str] = []
    while len(phrases) < count:
        doc = rng.choice(docs)
        words = _WORDS.findall(doc.text)
        length = rng.choice((2, 3))
        first = rng.randrange(len(words) - length)
        if not any(len(w) >= 3 and not w.isdigit() for w in words[first : first + length]):
            continue
        phrases.append('"' + " ".join(words[first : first + length]).lower() + '"')
    prefixes = []
    for _ in range(count):
        word = rng.choice([w for w in vocabulary if len(w) >= 5])
        prefixes.append(word[: rng.randint(3, 5)] + "*")
    return QuerySet(term=terms, phrase=phrases, prefix=prefixes)
