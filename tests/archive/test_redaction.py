"""Tests for the redaction engine: no protected person may be identifiable in public text."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.services.redaction import (
    ProtectedName,
    Redaction,
    Span,
    SpanSource,
    apply_spans,
    find_pattern_spans,
    find_person_spans,
    fold,
    merge_spans,
    redact,
)

WITNESS_A = ProtectedName(label="Witness A", names=("Hamadoun Traoré", "Hamadoun", "Ham"))
WITNESS_B = ProtectedName(label="Witness B", names=("Amadou Diakité", "Bara"))
JEAN_PIERRE = ProtectedName(label="Witness C", names=("Jean-Pierre Kaboré", "Jean-Pierre"))
PERSONS = (WITNESS_A, WITNESS_B, JEAN_PIERRE)
SOURCES: tuple[SpanSource, ...] = ("person", "pattern", "manual")


def public(text: str, persons: tuple[ProtectedName, ...] = PERSONS) -> str:
    return redact(text, persons).text


def labels(text: str) -> list[str]:
    return [span.label for span in find_pattern_spans(text)]


# --------------------------------------------------------------------------- fold


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Hamadoun", "hamadoun"),
        ("HAMADOÛN", "hamadoun"),
        ("Diakité", "diakite"),
        ("Diakite\u0301", "diakite"),  # decomposed accent
        ("Straße", "strasse"),
        ("ﬁlm", "film"),
        ("Cœur", "coeur"),
        ("Kɔnɛ", "kone"),
        ("Hama\u00addoun", "hamadoun"),  # soft hyphen is invisible
        ("a\u00a0b", "a b"),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_is_per_character() -> None:
    text = "Hamadoûn Traoré, Straße ﬁ"
    assert fold(text) == "".join(fold(c) for c in text)


# --------------------------------------------------------------------------- ProtectedName


@pytest.mark.parametrize("name", ["", "A", "é", " x ", "J.", "--"])
def test_names_shorter_than_two_letters_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="fewer than 2 letters"):
        ProtectedName(label="Witness A", names=("Hamadoun", name))


def test_empty_names_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one name"):
        ProtectedName(label="Witness A", names=())


def test_a_single_string_is_not_taken_for_a_tuple_of_letters() -> None:
    with pytest.raises(TypeError):
        ProtectedName(label="Witness A", names="Hamadoun")  # type: ignore[arg-type]


def test_empty_label_is_refused() -> None:
    with pytest.raises(ValueError, match="label"):
        ProtectedName(label=" ", names=("Hamadoun",))


def test_two_letter_name_is_accepted() -> None:
    assert ProtectedName(label="Witness D", names=("Bo",)).names == ("Bo",)


# --------------------------------------------------------------------------- person names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bara said", "[Witness B] said"),
        ("Barack said", "Barack said"),
        ("baraka", "baraka"),
        ("Abara", "Abara"),
        ("(Bara)", "([Witness B])"),
        ("bara_92", "[Witness B]_92"),
        ("@bara92", "@[Witness B]92"),
        ("Hammer and ham", "Hammer and [Witness A]"),
    ],
)
def test_whole_words_only(text: str, expected: str) -> None:
    assert public(text) == expected


@pytest.mark.parametrize("variant", ["Hamadoun", "HAMADOUN", "hamadoun", "Hamadoûn", "HÁMÀDÖÛN"])
def test_case_and_accent_insensitive_in_text(variant: str) -> None:
    assert public(f"{variant} spoke.") == "[Witness A] spoke."


@pytest.mark.parametrize("variant", ["amadou diakite", "AMADOU DIAKITÉ", "Amadou Diakite\u0301"])
def test_case_and_accent_insensitive_in_registered_name(variant: str) -> None:
    assert public(f"with {variant}.") == "with [Witness B]."


def test_accented_text_matches_unaccented_registration() -> None:
    person = ProtectedName(label="Witness E", names=("Kone",))
    assert (
        public("Koné and KÔNÉ and Kɔnɛ", (person,)) == "[Witness E] and [Witness E] and [Witness E]"
    )


@pytest.mark.parametrize(
    "spacing", [" ", "\n", "\n  ", "\t", "\u00a0", "   ", "\u202f", " \r\n", "-"]
)
def test_multi_word_name_across_whitespace(spacing: str) -> None:
    text = f"I met Amadou{spacing}Diakité there."
    result = redact(text, PERSONS)
    assert result.text == "I met [Witness B] there."
    assert len(result.spans) == 1


@pytest.mark.parametrize(
    "variant",
    [
        "Jean-Pierre",
        "Jean Pierre",
        "Jean\u2011Pierre",
        "Jean – Pierre",
        "Jean\nPierre",
        "jeanpierre",
        "JEAN-PIERRE",
    ],
)
def test_hyphen_and_space_variants(variant: str) -> None:
    assert public(f"as {variant} said") == "as [Witness C] said"


@pytest.mark.parametrize(
    "text",
    ["Hama-\nDoun Traoré", "Hamadoun Trao-\n  ré", "HAMA-\r\nDOUN TRAORÉ", "Hamadoun Traoré"],
)
def test_name_hyphenated_at_a_line_break(text: str) -> None:
    result = redact(f"selon {text}, le", PERSONS)
    assert result.text == "selon [Witness A], le"


def test_hyphen_inside_a_word_does_not_hide_it() -> None:
    assert public("Hama-doun") == "[Witness A]"


def test_space_registered_name_matches_hyphenated_text() -> None:
    assert public("Amadou-Diakité left") == "[Witness B] left"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hamadoun's house", "[Witness A]'s house"),
        ("Hamadoun’s house", "[Witness A]’s house"),
        ("HAMADOUN'S house", "[Witness A]'S house"),
        ("the house of Hamadoun Traoré’s brother", "the house of [Witness A]’s brother"),
        ("la maison d'Hamadoun", "la maison d'[Witness A]"),
        ("l’Hamadoun", "l’[Witness A]"),
        ("qu'Hamadoun a vu", "qu'[Witness A] a vu"),
        ("jusqu’à Bara", "jusqu’à [Witness B]"),
        ("D'AMADOU DIAKITÉ", "D'[Witness B]"),
    ],
)
def test_possessive_and_elided_forms(text: str, expected: str) -> None:
    assert public(text) == expected


def test_every_alias_is_matched() -> None:
    assert public("Hamadoun Traoré, also Hamadoun, also Ham.") == (
        "[Witness A], also [Witness A], also [Witness A]."
    )


def test_longest_match_wins() -> None:
    spans = find_person_spans("Hamadoun Traoré said", PERSONS)
    assert [(s.start, s.end, s.label) for s in spans] == [(0, 15, "Witness A")]


def test_longest_match_wins_across_persons() -> None:
    traore = ProtectedName(label="Witness F", names=("Traoré",))
    spans = find_person_spans("Hamadoun Traoré said", (traore, WITNESS_A))
    assert [(s.start, s.end, s.label) for s in spans] == [(0, 15, "Witness A")]


def test_overlapping_names_never_leave_a_part_exposed() -> None:
    first = ProtectedName(label="Witness G", names=("Sidi Moussa",))
    second = ProtectedName(label="Witness H", names=("Moussa Koné Coulibaly",))
    text = "Sidi Moussa Koné Coulibaly"
    spans = find_person_spans(text, (first, second))
    assert [(s.start, s.end, s.label) for s in spans] == [(0, len(text), "Witness H")]


def test_person_span_reason() -> None:
    (span,) = find_person_spans("Bara", PERSONS)
    assert span == Span(
        start=0, end=4, label="Witness B", source="person", reason="name of protected person"
    )


@pytest.mark.parametrize(
    ("text", "covered"),
    [
        ("Straße Hamadoun", "Hamadoun"),
        ("ﬁ ﬁ Hamadoun", "Hamadoun"),
        ("Hamadoûn", "Hamadoûn"),
        ("Hamadou\u0302n!", "Hamadou\u0302n"),  # decomposed: the accent goes with the name
        ("Amadou Diakite\u0301 left", "Amadou Diakite\u0301"),  # trailing mark covered too
        ("é\u0301\u0301 Hamadoun", "Hamadoun"),
        ("Hama\u200bdoun", "Hama\u200bdoun"),
        ("ǅ Bara", "Bara"),
    ],
)
def test_offsets_are_into_the_original_text(text: str, covered: str) -> None:
    (span,) = find_person_spans(text, PERSONS)
    assert text[span.start : span.end] == covered


def test_name_with_ligature_and_sharp_s() -> None:
    person = ProtectedName(label="Witness I", names=("Fiona Strasse",))
    text = "— ﬁona Straße —"
    (span,) = find_person_spans(text, (person,))
    assert text[span.start : span.end] == "ﬁona Straße"
    assert redact(text, (person,)).text == "— [Witness I] —"


def test_bambara_spelling() -> None:
    person = ProtectedName(label="Witness J", names=("Nyamoye Koné",))
    assert public("Ɲamoye Kɔnɛ", (person,)) == "[Witness J]"


def test_no_persons_no_person_spans() -> None:
    assert find_person_spans("Hamadoun", ()) == []


# --------------------------------------------------------------------------- phone numbers


@pytest.mark.parametrize(
    "phone",
    [
        "+223 76 12 34 56",
        "+22376123456",
        "00223 76 12 34 56",
        "(+223) 76 12 34 56",
        "+223\u00a076\u00a012\u00a034\u00a056",
        "76 12 34 56",
        "76-12-34-56",
        "76.12.34.56",
        "76123456",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "06 12 34 56 78",
        "+1 (555) 123-4567",
        "+1 555-123-4567",
        "+44 20 7946 0958",
    ],
)
def test_phone_numbers(phone: str) -> None:
    text = f"Tél. : {phone}, après"
    assert public(text, ()) == "Tél. : [phone number], après"
    (span,) = find_pattern_spans(text)
    assert (span.label, span.source, span.reason) == (
        "phone number",
        "pattern",
        "phone number pattern",
    )


def test_phone_number_with_direction_marks_copied_from_a_web_page() -> None:
    text = "tel \u202a+223\u200e 76 12 34 56\u202c."
    assert public(text, ()) == "tel \u202a[phone number]."


@pytest.mark.parametrize(
    "text",
    [
        "en 2022",
        "le 27/03/2022",
        "le 2022-03-27",
        "27.03.2022",
        "300 morts",
        "500 people",
        "between 300 and 500 people",
        "at 14:30",
        "à 14h30",
        "1,500 CFA",
        "1.500 francs",
        "1 500 000 francs",
        "from 2019 to 2022",
        "page 12",
        "+ 300",
        "3+4=7",
        "27 mars 2022 à 6 h",
    ],
)
def test_not_phone_numbers(text: str) -> None:
    assert "phone number" not in labels(text)
    assert public(text, ()) == text


# --------------------------------------------------------------------------- e-mail


@pytest.mark.parametrize(
    "email",
    [
        "hamadoun@example.org",
        "a.diakite@mail.sub.example.ml",
        "temoin+moura@example.com",
        "witness_1@example.museum",
        "x@example.xn--p1ai",
        "Hamadoun.Traore@Example.ORG",
        "hamadoun [at] example [dot] org",
        "hamadoun(at)example(dot)org",
    ],
)
def test_email_addresses(email: str) -> None:
    text = f"écrire à {email}."
    assert public(text, ()) == "écrire à [e-mail address]."
    assert labels(text) == ["e-mail address"]


@pytest.mark.parametrize(
    "text", ["@hamadoun on social media", "a @ b", "user@localhost", "x@y", "5 @ 3 francs"]
)
def test_not_email_addresses(text: str) -> None:
    assert "e-mail address" not in labels(text)


# --------------------------------------------------------------------------- coordinates


@pytest.mark.parametrize(
    "coords",
    [
        "14.2345, -4.5678",
        "14.2345,-4.5678",
        "14.2345 -4.5678",
        "14,2345 ; -4,5678",
        "14.2345°N 4.5678°W",
        "14.2345° N, 4.5678° W",
        "14.2345N 4.5678W",
        "N14.2345 W4.5678",
        "14°14'04\"N 4°34'04\"W",
        "14°14′04″N, 4°34′04″W",
        "14° 14' 04\" N 4° 34' 04\" W",
        "14º14'04\"N 4º34'04\"O",
    ],
)
def test_coordinates(coords: str) -> None:
    text = f"position : {coords} ; fin"
    assert public(text, ()) == "position : [coordinates] ; fin"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at 14.2345°N", "at [coordinates]"),
        ("at 14°14'04\"N", "at [coordinates]"),
        ("lat: 14.2345, long: -4.5678", "lat: [coordinates], long: [coordinates]"),
        (
            "https://maps.example.org/?q=14.2345,-4.5678",
            "https://maps.example.org/?q=[coordinates]",
        ),
    ],
)
def test_single_coordinates(text: str, expected: str) -> None:
    assert public(text, ()) == expected


@pytest.mark.parametrize(
    "text",
    [
        "it was 35°C",
        "prices 12.50, 13.75",
        "1,500, 2,300 people",
        "version 2.0 is out",
        "14.5 on the road",
        "200.1234, 500.5678",  # out of range
        "turn 90°",
        "it took 1.5 s",
    ],
)
def test_not_coordinates(text: str) -> None:
    assert "coordinates" not in labels(text)


# --------------------------------------------------------------------------- ID numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("passport A1234567", "passport [ID number]"),
        ("Passport number: AA123456", "Passport number: [ID number]"),
        ("passeport n° B9876543", "passeport n° [ID number]"),
        ("carte d'identité 1234ABC567", "carte d'identité [ID number]"),
        ("carte d’identité n° 123456789", "carte d’identité n° [ID number]"),
        ("NINA: 12345678901234X", "NINA: [ID number]"),
        ("ID: ML-2020-88123", "ID: [ID number]"),
        ("n° 1234567", "n° [ID number]"),
        ("ID card no. X12345678", "ID card no. [ID number]"),
    ],
)
def test_id_numbers(text: str, expected: str) -> None:
    assert public(text, ()) == expected
    assert "ID number" in labels(text)


@pytest.mark.parametrize(
    "text",
    [
        "passport holder",
        "ID 2022",
        "n° 12345",
        "passport ABCDEFGH",  # no digit
        "passport A123456789012345678901234",  # longer than 20
        "the idea 1234567",
        "A1234567",  # no keyword
    ],
)
def test_not_id_numbers(text: str) -> None:
    assert "ID number" not in labels(text)


# --------------------------------------------------------------------------- merging


def span(start: int, end: int, label: str = "x", source: SpanSource = "pattern") -> Span:
    return Span(start=start, end=end, label=label, source=source, reason=f"{label} reason")


def test_merge_sorts() -> None:
    assert merge_spans([span(5, 6), span(0, 1)]) == [span(0, 1), span(5, 6)]


def test_merge_overlap_keeps_person_label_over_pattern() -> None:
    merged = merge_spans([span(0, 10, "phone number"), span(5, 12, "Witness A", "person")])
    assert [(s.start, s.end, s.label, s.source) for s in merged] == [(0, 12, "Witness A", "person")]
    assert merged[0].reason == "Witness A reason; phone number reason"


def test_merge_overlap_longest_pattern_wins() -> None:
    merged = merge_spans([span(0, 10, "phone number"), span(8, 30, "e-mail address")])
    assert [(s.start, s.end, s.label) for s in merged] == [(0, 30, "e-mail address")]


def test_merge_manual_mark_wins_over_person() -> None:
    merged = merge_spans([span(0, 40, "location", "manual"), span(5, 12, "Witness A", "person")])
    assert [(s.start, s.end, s.label) for s in merged] == [(0, 40, "location")]


def test_merge_chain_of_overlaps_is_one_span() -> None:
    merged = merge_spans([span(0, 5), span(4, 9), span(8, 12)])
    assert [(s.start, s.end) for s in merged] == [(0, 12)]


def test_merge_touching_same_label() -> None:
    merged = merge_spans([span(0, 5, "Witness A", "person"), span(5, 9, "Witness A", "person")])
    assert [(s.start, s.end) for s in merged] == [(0, 9)]


def test_merge_touching_different_labels_stay_apart() -> None:
    merged = merge_spans([span(0, 5, "Witness A", "person"), span(5, 9, "phone number")])
    assert [(s.start, s.end) for s in merged] == [(0, 5), (5, 9)]
    assert apply_spans("abcdefghij", merged) == "[Witness A][phone number]j"


def test_merge_contained_span() -> None:
    merged = merge_spans([span(0, 20, "Witness A", "person"), span(3, 5, "phone number")])
    assert [(s.start, s.end, s.label) for s in merged] == [(0, 20, "Witness A")]


def test_merge_drops_empty_spans() -> None:
    assert merge_spans([span(3, 3)]) == []


@pytest.mark.parametrize(("start", "end"), [(-1, 2), (5, 4)])
def test_invalid_span_is_refused(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="invalid span"):
        span(start, end)


# --------------------------------------------------------------------------- apply / redact


def test_apply_spans() -> None:
    text = "call Bara on 76 12 34 56 now"
    spans = [span(5, 9, "Witness B", "person"), span(13, 24, "phone number")]
    assert apply_spans(text, spans) == "call [Witness B] on [phone number] now"


def test_apply_spans_merges_overlapping_input() -> None:
    assert apply_spans("abcdefgh", [span(1, 4, "a"), span(2, 6, "a")]) == "a[a]gh"


def test_apply_spans_refuses_span_outside_text() -> None:
    with pytest.raises(ValueError, match="outside a text"):
        apply_spans("short", [span(2, 10)])


def test_redact_with_manual_span() -> None:
    text = "Bara lives next to the blue mosque."
    manual = Span(start=19, end=34, label="location", source="manual", reason="exact location")
    result = redact(text, PERSONS, manual=[manual])
    assert result == Redaction(
        text="[Witness B] lives next to [location].",
        spans=(
            Span(
                start=0,
                end=4,
                label="Witness B",
                source="person",
                reason="name of protected person",
            ),
            manual,
        ),
    )


def test_redact_refuses_manual_span_outside_text() -> None:
    with pytest.raises(ValueError, match="outside a text"):
        redact("short", (), manual=[span(0, 50, "location", "manual")])


FRENCH_PASSAGE = """\
Le 27 mars 2022, vers 11 heures, des hélicoptères se sont posés près de Moura.
Hamadoun Traoré, un commerçant de 42 ans, raconte : « J'ai vu les soldats
rassembler environ 300 hommes près de la rivière. » Selon HAMADOUN, le frère
d'Amadou\u00a0Diakité a été emmené le deuxième jour. Le témoignage d’Hamadoun
a été recueilli à Sévaré ; on peut joindre sa famille au +223 76 12 34 56
ou par courriel à hamadoun.traore@example.ml. Position de la maison :
14°14'04"N 4°34'04"W. Passeport n° AA1234567. Bara n'a pas voulu parler.
"""

FRENCH_EXPECTED = """\
Le 27 mars 2022, vers 11 heures, des hélicoptères se sont posés près de Moura.
[Witness A], un commerçant de 42 ans, raconte : « J'ai vu les soldats
rassembler environ 300 hommes près de la rivière. » Selon [Witness A], le frère
d'[Witness B] a été emmené le deuxième jour. Le témoignage d’[Witness A]
a été recueilli à Sévaré ; on peut joindre sa famille au [phone number]
ou par courriel à [Witness A]. Position de la maison :
[coordinates]. Passeport n° [ID number]. [Witness B] n'a pas voulu parler.
"""


def test_french_passage() -> None:
    result = redact(FRENCH_PASSAGE, PERSONS)
    assert result.text == FRENCH_EXPECTED
    assert [s.label for s in result.spans] == [
        "Witness A",
        "Witness A",
        "Witness B",
        "Witness A",
        "phone number",
        "Witness A",
        "coordinates",
        "ID number",
        "Witness B",
    ]
    # the e-mail address spells the witness's name: the person label wins over the pattern
    (email,) = [s for s in result.spans if "e-mail address pattern" in s.reason]
    assert email.label == "Witness A"
    assert_no_name_left(result.text, PERSONS)


ENGLISH_PASSAGE = """\
On March 27, 2022, Amadou Diakite told investigators that he saw
about 500 people gathered near the market. Hamadoun's cousin, who
asked that his name not be used, said HAMADOUN TRAORE had been
taken with Bara. "Ham and I ran," Diakité said. They can be reached
on 76-12-34-56 or +33 6 12 34 56 78; the meeting point was
14.2345, -4.5678 (passport A1234567 was left there). The Barack
Obama poster and the 1,500 CFA price were still on the wall.
"""

ENGLISH_EXPECTED = """\
On March 27, 2022, [Witness B] told investigators that he saw
about 500 people gathered near the market. [Witness A]'s cousin, who
asked that his name not be used, said [Witness A] had been
taken with [Witness B]. "[Witness A] and I ran," Diakité said. They can be reached
on [phone number] or [phone number]; the meeting point was
[coordinates] (passport [ID number] was left there). The Barack
Obama poster and the 1,500 CFA price were still on the wall.
"""


def test_english_passage_with_two_witnesses() -> None:
    result = redact(ENGLISH_PASSAGE, (WITNESS_A, WITNESS_B))
    assert result.text == ENGLISH_EXPECTED
    # "Diakité" alone is not registered: it stays, and the test says so on purpose,
    # because a registration that forgets a surname leaks it.
    assert "Diakité said" in result.text


# --------------------------------------------------------------------------- properties

_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")


def assert_no_name_left(public_text: str, persons: tuple[ProtectedName, ...]) -> None:
    """Independent leak check: no folded name appears as a whole word in folded output."""
    haystack = _SEPARATORS.sub(" ", fold(public_text))
    for person in persons:
        for name in person.names:
            needle = _SEPARATORS.sub(" ", fold(name)).strip()
            pattern = rf"(?<![^\W\d_]){re.escape(needle)}(?![^\W\d_])"
            assert not re.search(pattern, haystack), f"{name!r} leaked in {public_text!r}"


_ACCENTS = ["", "\u0301", "\u0300", "\u0302", "\u0308", "\u0303"]


@st.composite
def disguised(draw: st.DrawFn, name: str) -> str:
    """``name`` in random case, with random accents (composed or not) and spacing."""
    out: list[str] = []
    for char in name:
        if char in " -":
            out.append(
                draw(st.sampled_from([" ", "\n", "\t", "\u00a0", "  ", "\n  ", " \r\n", "-"]))
            )
            continue
        base = unicodedata.normalize("NFD", char)[0]
        cased = base.upper() if draw(st.booleans()) else base.lower()
        accented = cased + draw(st.sampled_from(_ACCENTS)) if base.isalpha() else cased
        if draw(st.booleans()):
            accented = unicodedata.normalize("NFC", accented)
        out.append(accented)
    return "".join(out)


_FILLER = st.text(max_size=40)
_BEFORE = st.sampled_from([" ", "\n", ", ", "'", "’", "(", " d'", " l’", "« ", "\u00a0", "2"])
_AFTER = st.sampled_from([" ", ".", "'s", "’s", ")", ",", "\n", " »", ":", "92"])
_NAMES = st.sampled_from(
    [
        ("Witness A", "Hamadoun Traoré"),
        ("Witness B", "Amadou Diakité"),
        ("Witness C", "Jean-Pierre"),
        ("Witness B", "Bara"),
        ("Witness A", "Ham"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), named=_NAMES, before=_FILLER, after=_FILLER, left=_BEFORE, right=_AFTER)
def test_property_planted_name_never_survives(
    data: st.DataObject, named: tuple[str, str], before: str, after: str, left: str, right: str
) -> None:
    label, name = named
    planted = data.draw(disguised(name))
    text = before + left + planted + right + after
    result = redact(text, PERSONS)
    assert_no_name_left(result.text, PERSONS)
    assert f"[{label}]" in result.text


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80), data=st.data())
def test_property_spans_are_sorted_non_overlapping_and_in_bounds(
    text: str, data: st.DataObject
) -> None:
    manual = data.draw(st.lists(_spans_within(len(text)), max_size=4))
    result = redact(text, PERSONS, manual=manual)
    previous_end = 0
    for found in result.spans:
        assert previous_end <= found.start < found.end <= len(text)
        previous_end = found.end
    for mark in manual:
        if mark.end > mark.start:
            assert any(s.start <= mark.start and mark.end <= s.end for s in result.spans)


@given(text=st.text())
def test_property_apply_no_spans_is_identity(text: str) -> None:
    assert apply_spans(text, []) == text


def _spans_within(length: int) -> st.SearchStrategy[Span]:
    @st.composite
    def build(draw: st.DrawFn) -> Span:
        start = draw(st.integers(0, length))
        end = draw(st.integers(start, length))
        source = draw(st.sampled_from(SOURCES))
        label = draw(st.sampled_from(["Witness A", "phone number", "location"]))
        return Span(start=start, end=end, label=label, source=source, reason="test")

    return build()


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60), data=st.data())
def test_property_text_outside_spans_is_preserved(text: str, data: st.DataObject) -> None:
    spans = data.draw(st.lists(_spans_within(len(text)), max_size=6))
    merged = merge_spans(spans)
    output = apply_spans(text, spans)
    # Rebuild the output from the gaps of the original: every byte outside a span is
    # there, in order, unchanged, and each span is exactly its label.
    position = 0
    cursor = 0
    for found in merged:
        gap = text[position : found.start]
        assert output[cursor : cursor + len(gap)] == gap
        cursor += len(gap)
        token = f"[{found.label}]"
        assert output[cursor : cursor + len(token)] == token
        cursor += len(token)
        position = found.end
    assert output[cursor:] == text[position:]
    # and every character any input span covered is inside a merged span
    for given_span in spans:
        for index in range(given_span.start, given_span.end):
            assert any(m.start <= index < m.end for m in merged)


@settings(max_examples=200, deadline=None)
@given(before=st.text(max_size=40), after=st.text(max_size=40), data=st.data())
def test_property_person_offsets_point_at_the_name(
    before: str, after: str, data: st.DataObject
) -> None:
    planted = data.draw(disguised("Hamadoun Traoré"))
    text = f"{before} {planted} {after}"
    spans = find_person_spans(text, PERSONS)
    assert spans
    for found in spans:
        covered = fold(text[found.start : found.end])
        # a span starts and ends on a letter: no neighbouring text is swallowed
        assert covered[:1].isalpha()
        assert covered[-1:].isalpha()
        collapsed = _SEPARATORS.sub(" ", covered)
        assert any(
            _SEPARATORS.sub(" ", fold(name)) in collapsed
            for person in PERSONS
            for name in person.names
        )
