"""Which of the four languages a Perso-Arabic text is in, from its letters and function words.

Two steps, both measured on the real corpora (`python -m hubkit.serve.langid --data-dir DIR`
prints the measurement, the threshold's choice on validation and the held-out accuracy):

1. Letters. Sindhi and Pashto each have letters no other of the four uses (Sindhi ڪ ڏ ٻ ٽ ...,
   Pashto ټ ډ ړ ښ ګ ې ۍ ...), and both write Arabic ه/ي where Urdu and Shahmukhi write ہ/ی and
   also use ے ں ھ ٹ ڈ ڑ. Sentence rates in the training splits: ڪ 0.88 of Sindhi sentences and
   0 elsewhere; ې 0.44 of Pashto sentences and 0 elsewhere; ے 0.84 Shahmukhi / 0.31 Urdu and 0 in
   Sindhi and Pashto. The script family with the most of its own letters wins.
2. Urdu vs Shahmukhi share one alphabet, so function words decide: each word in
   `URDU_SHAHMUKHI_WEIGHTS` carries the log-odds log(df_shahmukhi / df_urdu) of its sentence
   frequency in shahmukhi/paper-splits/train vs urdu/mk-pucit-partial/validation (add-0.5
   smoothing, capped at +-6, closed-class words only: names like لاہور are left out). The sum
   over a text's words > SHAHMUKHI_THRESHOLD means Shahmukhi; otherwise Urdu, the larger language,
   is the default. The threshold is chosen on validation sentences that neither the weights nor
   the tests saw (VALIDATION: Shahmukhi's held-out `validation` rows, not the paper's validation
   split, which lies inside its train split; Urdu WikiANN validation).
   Punctuation is not used: the Shahmukhi corpus ends sentences with ۔ and the Urdu one mostly
   does not, which would be a corpus artefact, not a language feature.
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path



SINDHI_LETTERS = frozenset("ٺٻٽٿڀڃڄڇڊڌڍڏڙڦڪڱڳڻ۽۾")
PASHTO_LETTERS = frozenset("ټځڅډړږښګڼۍې")
URDU_FAMILY_LETTERS = frozenset("ٹڈڑںھہےۃۓ")  # Urdu and Shahmukhi only
ARABIC_HE_YE = frozenset("هي")  # Sindhi and Pashto write these; Urdu/Shahmukhi write ہ/ی

# Pashto function words that carry no Pashto-only letter (measured: sentence rate in Pashto
# WikiANN train+validation, 0 in the other three): د 0.53, په 0.34, کې 0.20, چې 0.17, ...
PASHTO_WORDS = frozenset(["د", "په", "کې", "چې", "له", "يې", "ده", "سره", "هغه", "خپل", "لپاره", "يوه"])
PASHTO_WORD_WEIGHT = 3  # one such word counts as three Pashto letters
SHAHMUKHI_THRESHOLD = 0.0  # chosen on VALIDATION (see threshold_accuracy)
THRESHOLD_GRID = (-1.0, 0.0, 0.5, 1.0, 2.0, 4.0)

# log(df_shahmukhi / df_urdu), measured as described above (rounded to 0.1).
URDU_SHAHMUKHI_WEIGHTS: dict[str, float] = {
    # Shahmukhi
    "وچ": 6, "نوں": 6, "توں": 6, "نال": 6, "اوہ": 6, "ایہہ": 6, "اک": 6, "اوس": 6, "نیں": 6, "تاں": 6,
    "اتے": 6, "اوہناں": 6, "ہن": 6, "دیاں": 5.9, "مینوں": 5.9, "کجھ": 5.8, "دا": 5.7, "کرن": 5.6, "پئی": 5.5,
    "رہیا": 5.5, "ہویا": 5.5, "کیتا": 5.5, "دتا": 5.4, "ہور": 5.4, "جاندا": 5.3, "جدوں": 5.3, "کیہ": 5.3,
    "اوہنوں": 5.3, "اوہدے": 5.2, "پھیر": 5.2, "ہووے": 5.2, "ایہناں": 5.2, "تے": 5.1, "اج": 5.1, "فیر": 5.1,
    "ہوندا": 5.0, "انج": 5.0, "کیتی": 5.0, "وچوں": 5.0, "جیویں": 5.0, "ویلے": 4.9, "ساڈے": 4.9, "کردا": 4.9,
    "آکھیا": 4.9, "پہلاں": 4.9, "ہوندی": 4.8, "اسیں": 4.8, "سبھ": 4.8, "اوہنے": 4.8, "جاوے": 4.8, "دتی": 4.8,
    "مگروں": 4.7, "جاندے": 4.7, "کہیا": 4.7, "آپنے": 4.7, "جاندی": 4.7, "تیرے": 4.7, "جد": 4.7, "ایتھے": 4.6,
    "آں": 4.6, "ہون": 4.6, "ساں": 4.5, "جیہڑا": 4.5, "تسیں": 4.5, "اوہدی": 4.5, "ہوندے": 4.5, "سکدا": 4.5,
    "اوتھے": 4.4, "کدی": 4.4, "ایہدے": 4.4, "اوہدا": 4.4, "ایہو": 4.4, "واسطے": 4.4, "جتھے": 4.3,
    "سانوں": 4.3, "کیہہ": 4.2, "کسے": 4.1, "کیویں": 4.1, "کولوں": 4.1, "ہک": 4.0, "ہین": 3.9, "ایہ": 3.9,
    "آپنی": 3.9, "سکدے": 3.8, "لئی": 3.6, "سن": 3.6, "وی": 3.3, "گل": 3.1, "کردے": 3.1, "جے": 2.4, "دے": 2.2,
    "سی": 1.8, "اے": 1.7, "دی": 1.6, "ایس": 1.3,
    # Urdu
    "جبکہ": -6, "کیلئے": -6, "انہوں": -6, "انہیں": -5.9, "تمام": -5.9, "کہا": -5.8, "نئی": -5.8, "بھی": -5.6,
    "آج": -5.5, "اور": -5.2, "سے": -5.1, "کی": -5.0, "کا": -5.0, "تھا": -5.0, "بتایا": -5.0, "کیا": -4.8,
    "تھے": -4.8, "دیا": -4.7, "لیے": -4.5, "اب": -4.5, "لوگوں": -4.4, "درمیان": -4.2, "دوسری": -4.2,
    "ایک": -4.1, "کرتے": -4.1, "یہ": -4.0, "ہونے": -3.9, "کرنے": -3.9, "کو": -3.8, "وہ": -3.8, "دوران": -3.7,
    "ساتھ": -3.6, "کچھ": -3.4, "ہیں": -3.3, "رہا": -3.3, "تھی": -3.1, "ان": -2.8, "مطابق": -2.8, "تو": -2.7,
    "ہوں": -2.6, "جائے": -2.5, "لئے": -2.4, "اس": -2.1, "میں": -1.7, "پر": -1.3, "نے": -1.2, "ہے": -1.1,
}

_WORD_RE = re.compile(r"[^\s\u060C\u061B\u061F\u06D4.,;:!?()\[\]{}\"'«»]+")


@dataclass(frozen=True)
class LangGuess:
    lang: str
    scores: dict  # letter counts per family and the Urdu-Shahmukhi word score, for explanations


def detect(text: str, threshold: float = SHAHMUKHI_THRESHOLD) -> LangGuess:
    """Guess the language of `text` (one of hubkit.languages.LANGUAGES); Urdu when nothing tells."""
    letters = Counter(ch for ch in text if "\u0600" <= ch <= "\u06ff")
    words = _WORD_RE.findall(text)
    sindhi = sum(n for ch, n in letters.items() if ch in SINDHI_LETTERS)
    pashto = sum(n for ch, n in letters.items() if ch in PASHTO_LETTERS)
    pashto += PASHTO_WORD_WEIGHT * sum(1 for w in words if w in PASHTO_WORDS)
    urdu_family = sum(n for ch, n in letters.items() if ch in URDU_FAMILY_LETTERS)
    arabic = sum(n for ch, n in letters.items() if ch in ARABIC_HE_YE)
    # ه/ي say "Sindhi or Pashto"; they go to whichever has more of its own letters (Pashto on a
    # tie: Sindhi text almost always has ڪ, measured 0.88 of sentences).
    if sindhi > pashto:
        sindhi += arabic
    else:
        pashto += arabic
    word_score = sum(URDU_SHAHMUKHI_WEIGHTS.get(w, 0.0) for w in words)
    scores = {"sindhi": sindhi, "pashto": pashto, "urdu_family": urdu_family, "shahmukhi_vs_urdu": word_score}
    best = max(("urdu_family", urdu_family), ("sindhi", sindhi), ("pashto", pashto), key=lambda kv: kv[1])
    if best[1] > 0 and best[0] != "urdu_family" and best[1] > urdu_family:
        return LangGuess(best[0], scores)
    return LangGuess("shahmukhi" if word_score > threshold else "urdu", scores)


def detect_language(text: str, threshold: float = SHAHMUKHI_THRESHOLD) -> str:
    return detect(text, threshold).lang


# ----------------------------------------------------------------------------- measurement
# Training material for the word weights and held-out sets for the accuracy, relative to the
# real-data folder (the same layout as ../shared/data/README.md).
MEASURE_SPLITS = {
    "shahmukhi": ["shahmukhi/paper-splits/train.arrow"],
    "urdu": ["urdu/mk-pucit-partial/validation.arrow"],
}
# Where the threshold is chosen: rows no weight was measured on and no accuracy is reported on.
VALIDATION = {
    "urdu": ["urdu/wikiann/validation.arrow"],
    "shahmukhi": ["shahmukhi-paper:validation"],  # the held-out rows (hubkit.data.corpora)
}
HELD_OUT = {
    "urdu": ["urdu/mk-pucit-partial/test_1k.arrow", "urdu/wikiann/test.arrow"],
    "shahmukhi": ["shahmukhi/paper-splits/test.arrow"],
    "sindhi": ["sindhi/siner-partial/test_1k.arrow"],
    "pashto": ["pashto/wikiann/test_reviewed.arrow"],
}


def load_sentences(data_dir: str | Path, rel: str) -> list[str]:
    """Sentences of one real split as space-joined text (read in memory: the folder is read-only).
    `rel` is a file under `data_dir`, or `corpus:split` for a split the project's builder derives."""
    from datasets import Dataset

    if ":" in rel:
        from hubkit.data.corpora import load_corpus

        corpus, split = rel.split(":")
        return [" ".join(s.tokens) for s in load_corpus(corpus, Path(data_dir)).splits[split]]
    path = Path(data_dir) / rel
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (expected the real-data layout of shared/data)")
    return [" ".join(toks) for toks in Dataset.from_file(str(path), in_memory=True)["tokens"]]


def measure_word_log_odds(data_dir: str | Path, words=None) -> dict[str, tuple[float, float, float]]:
    """word -> (df_shahmukhi, df_urdu, log-odds) on MEASURE_SPLITS; the source of the weights."""
    def doc_freq(sentences):
        c = Counter()
        for s in sentences:
            c.update(set(s.split()))
        return c

    shah = [s for rel in MEASURE_SPLITS["shahmukhi"] for s in load_sentences(data_dir, rel)]
    urdu = [s for rel in MEASURE_SPLITS["urdu"] for s in load_sentences(data_dir, rel)]
    ds, du = doc_freq(shah), doc_freq(urdu)
    out = {}
    for w in words or URDU_SHAHMUKHI_WEIGHTS:
        ps, pu = (ds[w] + 0.5) / len(shah), (du[w] + 0.5) / len(urdu)
        out[w] = (ps, pu, math.log(ps / pu))
    return out


def threshold_accuracy(data_dir: str | Path, grid=THRESHOLD_GRID) -> dict[float, float]:
    """threshold -> mean over VALIDATION's two languages of the Urdu/Shahmukhi accuracy."""
    sentences = {lang: [s for rel in rels for s in load_sentences(data_dir, rel) if s.strip()]
                 for lang, rels in VALIDATION.items()}
    return {t: sum(sum(detect_language(s, t) == lang for s in sents) / len(sents)
                   for lang, sents in sentences.items()) / len(sentences)
            for t in grid}


def held_out_accuracy(data_dir: str | Path) -> dict[str, tuple[float, int]]:
    """split -> (accuracy, n) of `detect` on the held-out real splits (no sentence is used twice)."""
    result = {}
    for lang, rels in HELD_OUT.items():
        for rel in rels:
            sents = [s for s in load_sentences(data_dir, rel) if s.strip()]
            hits = sum(detect_language(s) == lang for s in sents)
            result[rel] = (hits / len(sents), len(sents))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the language-id word weights and held-out accuracy.")
    parser.add_argument("--data-dir", required=True, help="the real corpora folder (shared/data)")
    args = parser.parse_args(argv)
    print("| word | df Shahmukhi | df Urdu | log-odds | weight used |\n|---|---|---|---|---|")
    for w, (ps, pu, lo) in measure_word_log_odds(args.data_dir).items():
        print(f"| {w} | {ps:.4f} | {pu:.4f} | {lo:+.2f} | {URDU_SHAHMUKHI_WEIGHTS[w]:+.1f} |")
    print("\n| Shahmukhi threshold | mean validation accuracy (Urdu, Shahmukhi) |\n|---|---|")
    for t, acc in threshold_accuracy(args.data_dir).items():
        print(f"| {t:+.1f}{' (used)' if t == SHAHMUKHI_THRESHOLD else ''} | {acc:.3f} |")
    print("\n| held-out split | sentences | accuracy |\n|---|---|---|")
    for rel, (acc, n) in held_out_accuracy(args.data_dir).items():
        print(f"| {rel} | {n} | {acc:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
