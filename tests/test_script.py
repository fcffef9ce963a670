"""Respelling inserted words in the target language's orthography (hubkit.augment.orthography)."""

import pytest

from hubkit.augment.orthography import FOREIGN_LETTERS, LANGUAGES, READ, to_orthography

KAF, SINDHI_KAF, ARABIC_KAF = "\u06a9", "\u06aa", "\u0643"
GAF, PASHTO_GAF = "\u06af", "\u06ab"
FARSI_YEH, ARABIC_YEH = "\u06cc", "\u064a"
HEH_GOAL, ARABIC_HEH, DO_CHASHMI = "\u06c1", "\u0647", "\u06be"


@pytest.mark.parametrize("word, source, target, expected", [
    # kaf: Urdu/Pashto ک U+06A9 -> Sindhi ڪ U+06AA, and back
    ("کراچی", "urdu", "sindhi", "ڪراچي"),
    ("ڪراچي", "sindhi", "urdu", "کراچی"),
    ("کابل", "pashto", "sindhi", "ڪابل"),
    ("ڪراچي", "sindhi", "pashto", "کراچي"),
    # gaf: Urdu گ U+06AF -> Pashto ګ U+06AB, and back
    ("گلگت", "urdu", "pashto", "ګلګت"),
    ("ګلګت", "pashto", "urdu", "گلگت"),
    # yeh: Urdu ی U+06CC <-> Sindhi/Pashto ي U+064A
    ("علی", "urdu", "sindhi", "علي"),
    ("علي", "sindhi", "shahmukhi", "علی"),
    # heh: Urdu ہ U+06C1 <-> Sindhi/Pashto ه U+0647
    ("اللہ", "urdu", "pashto", "الله"),
    ("شاه", "sindhi", "urdu", "شاہ"),
    # Urdu aspirate digraphs are single Sindhi letters; Sindhi ک (kh) is Urdu کھ
    ("بھٹو", "urdu", "sindhi", "ڀٽو"),
    ("ڀٽو", "sindhi", "urdu", "بھٹو"),
    ("کھوکھر", "urdu", "sindhi", "کوکر"),
    ("کوکر", "sindhi", "urdu", "کھوکھر"),
    # retroflexes: Urdu ٹ ڈ ڑ / Sindhi ٽ ڊ ڙ / Pashto ټ ډ ړ
    ("ٹوڈرمل", "urdu", "pashto", "ټوډرمل"),
    ("ٽنڊو", "sindhi", "pashto", "ټنډو"),
    ("پہاڑ", "urdu", "sindhi", "پهاڙ"),
    # Pashto ې: final -> Urdu ے, medial -> ی
    ("پېښور", "pashto", "urdu", "پیښور"),
    ("ملګرې", "pashto", "urdu", "ملگرے"),
    # Arabic kaf/yeh code points are normalised too
    (f"{ARABIC_KAF}ريم", "pashto", "urdu", "کریم"),
])
def test_crafted_words(word, source, target, expected):
    assert to_orthography(word, source, target) == expected


def test_same_language_is_untouched():
    # Sindhi ک is the letter kh, not a misspelt kaf: a Sindhi word must stay as it is in Sindhi.
    for lang, word in [("sindhi", "کيرٿر"), ("urdu", "پاکستان"), ("pashto", "ګلبدين"), ("shahmukhi", "لہور")]:
        assert to_orthography(word, lang, lang) == word


def test_urdu_and_shahmukhi_share_letters():
    assert to_orthography("لاہور", "urdu", "shahmukhi") == "لاہور"
    assert to_orthography("بھلے", "shahmukhi", "urdu") == "بھلے"


def test_letters_shared_by_all_pass_through():
    word = "احمد"  # no language-specific letter
    for s in LANGUAGES:
        for t in LANGUAGES:
            assert to_orthography(word, s, t) == word


def test_no_foreign_letter_is_written():
    # Every language-specific spelling of a source, written for another language, uses target letters.
    for s in LANGUAGES:
        letters = "ا".join(READ[s])  # separated so digraphs stay digraphs
        for t in LANGUAGES:
            if s == t:
                continue
            out = to_orthography(letters, s, t)
            assert not set(out) & FOREIGN_LETTERS[t], (s, t, out)


def test_words_and_errors():
    assert [to_orthography(w, "urdu", "sindhi") for w in ["کراچی", "کینٹ"]] == ["ڪراچي", "ڪينٽ"]
    with pytest.raises(ValueError, match="unknown language 'arabic'"):
        to_orthography("x", "arabic", "urdu")


def test_code_points():
    assert to_orthography(KAF, "urdu", "sindhi") == SINDHI_KAF
    assert to_orthography(GAF, "urdu", "pashto") == PASHTO_GAF
    assert to_orthography(FARSI_YEH, "urdu", "sindhi") == ARABIC_YEH
    assert to_orthography(HEH_GOAL, "urdu", "sindhi") == ARABIC_HEH
    assert to_orthography(DO_CHASHMI, "urdu", "pashto") == ARABIC_HEH
