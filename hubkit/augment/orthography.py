"""Writing a word of one language in the orthography of another (Perso-Arabic scripts).

Urdu, Shahmukhi Punjabi, Sindhi and Pashto share most letters, but several sounds are written
with different code points (measured on the training splits: Sindhi has 9,344 ڪ U+06AA and
39,091 ي U+064A and no ی U+06CC, ہ U+06C1 or ھ U+06BE; Urdu/Shahmukhi use ک ی ہ ھ; Pashto uses
ګ ټ ډ ړ ڼ ې). A name moved from one language's sentence into another's must be respelled, or
the augmented sentence mixes two spelling systems (the authors' released Pashto copies contain
Sindhi ڪ in Pashto context words: the slip this module exists to avoid).

The mapping goes through sound "concepts": the source word is read with the source language's
spellings (longest match first, so Urdu digraph بھ is one concept, Sindhi ڀ), and each concept
is written with the target language's spelling. Letters that are not language-specific pass
through unchanged. Where the target has no letter for a sound it is spelled out (Sindhi ڀ ->
Urdu بھ, Pashto به) or approximated (Sindhi implosive ٻ -> Urdu ب).

Apply this ONLY to inserted words; context words of the target sentence are never touched.
"""

from __future__ import annotations

import re
from functools import lru_cache

from hubkit.languages import LANGUAGES


# How each language's letters are read: spelling -> concept. Arabic kaf ك, alef maksura ى and
# the other language's variants of yeh/heh are read too, since they occur in every corpus.
_READ_URDU = {
    "بھ": "bh", "تھ": "th", "ٹھ": "tth", "چھ": "chh", "ڈھ": "ddh", "پھ": "ph", "دھ": "dh",
    "کھ": "kh", "جھ": "jh", "گھ": "gh",
    "ک": "k", "ك": "k", "گ": "g", "ی": "y", "ي": "y", "ى": "y", "ہ": "h", "ه": "h", "ھ": "h_asp",
    "ے": "e", "ٹ": "tt", "ڈ": "dd", "ڑ": "rr", "ں": "ng",
}
_READ_SINDHI = {
    "ڪ": "k", "ك": "k", "ک": "kh", "گ": "g", "ي": "y", "ی": "y", "ى": "y", "ه": "h", "ہ": "h",
    "ٽ": "tt", "ڊ": "dd", "ڙ": "rr", "ڻ": "nn",
    "ڀ": "bh", "ٿ": "th", "ٺ": "tth", "ڇ": "chh", "ڍ": "ddh", "ڦ": "ph", "ڌ": "dh",
    "ٻ": "bb", "ڄ": "jj", "ڳ": "gg", "ڏ": "ddd",
}
_READ_PASHTO = {
    "ک": "k", "ك": "k", "ګ": "g", "گ": "g", "ي": "y", "ی": "y", "ى": "y", "ه": "h", "ہ": "h",
    "ې": "e", "ټ": "tt", "ډ": "dd", "ړ": "rr", "ڼ": "nn",
}

# How each language writes each concept.
_WRITE_URDU = {
    "k": "ک", "g": "گ", "y": "ی", "h": "ہ", "h_asp": "ھ", "e": "ے", "tt": "ٹ", "dd": "ڈ", "rr": "ڑ",
    "nn": "ن", "ng": "ں", "bh": "بھ", "th": "تھ", "tth": "ٹھ", "chh": "چھ", "ddh": "ڈھ", "ph": "پھ",
    "dh": "دھ", "kh": "کھ", "jh": "جھ", "gh": "گھ", "bb": "ب", "jj": "ج", "gg": "گ", "ddd": "د",
}
_WRITE_SINDHI = {
    "k": "ڪ", "g": "گ", "y": "ي", "h": "ه", "h_asp": "ه", "e": "ي", "tt": "ٽ", "dd": "ڊ", "rr": "ڙ",
    "nn": "ڻ", "ng": "ن", "bh": "ڀ", "th": "ٿ", "tth": "ٺ", "chh": "ڇ", "ddh": "ڍ", "ph": "ڦ",
    "dh": "ڌ", "kh": "ک", "jh": "جه", "gh": "گه", "bb": "ٻ", "jj": "ڄ", "gg": "ڳ", "ddd": "ڏ",
}
_WRITE_PASHTO = {
    "k": "ک", "g": "ګ", "y": "ي", "h": "ه", "h_asp": "ه", "e": "ې", "tt": "ټ", "dd": "ډ", "rr": "ړ",
    "nn": "ڼ", "ng": "ن", "bh": "به", "th": "ته", "tth": "ټه", "chh": "چه", "ddh": "ډه", "ph": "په",
    "dh": "ده", "kh": "که", "jh": "جه", "gh": "ګه", "bb": "ب", "jj": "ج", "gg": "ګ", "ddd": "د",
}

READ = {"urdu": _READ_URDU, "shahmukhi": _READ_URDU, "sindhi": _READ_SINDHI, "pashto": _READ_PASHTO}
WRITE = {"urdu": _WRITE_URDU, "shahmukhi": _WRITE_URDU, "sindhi": _WRITE_SINDHI, "pashto": _WRITE_PASHTO}

# Letters to_orthography never writes for a target (from another language; used by tests and checks).
FOREIGN_LETTERS = {
    "urdu": set("ڪګيٽټڊډڙړڻڼڀٿٺڇڍڦڌٻڄڳڏې"),
    "shahmukhi": set("ڪګيٽټڊډڙړڻڼڀٿٺڇڍڦڌٻڄڳڏې"),
    "sindhi": set("ګیہھےٹټڈډڑړڼںې"),
    "pashto": set("ڪیہھےٹڈڑٽڊڙڻںڀٿٺڇڍڦڌٻڄڳڏ"),
}


def _check_lang(lang: str) -> None:
    if lang not in READ:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")


@lru_cache(maxsize=None)
def _pattern(source: str) -> re.Pattern:
    keys = sorted(READ[source], key=len, reverse=True)  # digraphs before their first letter
    return re.compile("|".join(re.escape(k) for k in keys))


def to_orthography(word: str, source: str, target: str) -> str:
    """`word`, written in `source`'s orthography, respelled for `target`.

    Same language (or Urdu <-> Shahmukhi, which share one orthography, except for Arabic-code-point
    variants that are normalised) -> only variant letters change.
    """
    _check_lang(source)
    _check_lang(target)
    if source == target:
        return word
    read, write = READ[source], WRITE[target]

    def sub(m: re.Match) -> str:
        concept = read[m.group(0)]
        # Urdu/Shahmukhi bari yeh ے only ends a word; a medial "e" (Pashto ې) is written ی.
        if concept == "e" and target in ("urdu", "shahmukhi") and m.end() != len(word):
            return write["y"]
        return write[concept]

    return _pattern(source).sub(sub, word)
