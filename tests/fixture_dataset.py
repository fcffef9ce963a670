"""A small, made-up NER dataset laid out like build/pakner, for tests that run without the corpora.

Nothing here comes from the corpora: the sentences are filled in from templates and word lists
written for these tests, each language in its own letters (Urdu; Shahmukhi Punjabi, Urdu's letters
plus ݨ; Sindhi with ڪ ڄ ٻ ڻ ڏ ... and Arabic ه ي; Pashto with ښ ږ ځ څ ړ ټ ډ ګ ڼ ې ۍ). The folder is
written with hubkit's own Hub-repo writer (hubkit.data.dataset_repo), so it has the layout of the
real build: README.md whose YAML `configs:` maps `<config>/<split>-*.parquet`, one config per
language, `all`, and `test_reviewed` for Pashto as the real dataset has.

The committed copy is tests/fixtures/pakner-mini; `python -m tests.fixture_dataset` rewrites it, and
tests/test_fixture_dataset.py checks that the committed copy is what this code writes.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from hubkit.data import dataset_repo
from hubkit.data.corpora import to_dataset
from hubkit.data.readers import Sentence

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "pakner-mini"
SOURCE = "pakner-mini"
SPLIT_SIZES = {"train": 48, "validation": 16, "test": 16}
# as build/pakner: the authors' corrected Pashto test set, the paper's Shahmukhi validation (inside its train)
EXTRA_SPLITS = {"pashto": {"test_reviewed": 16}, "shahmukhi": {"validation_paper": 8}}

# Per language: entity names by type (words separated by spaces) and sentence templates whose
# slots {PER}, {LOC}, {ORG} take a name each; every other word is O. Tokens are separated by
# spaces, punctuation is a token of its own.
LANGUAGES: dict[str, dict] = {
    "urdu": {
        "PER": ["عمران خان", "نواز شریف", "بینظیر بھٹو", "علامہ اقبال", "فاطمہ جناح", "عبدالستار ایدھی",
                "ملالہ یوسفزئی", "احمد فراز", "فیض احمد فیض", "ثانیہ مرزا"],
        "LOC": ["لاہور", "کراچی", "اسلام آباد", "پشاور", "کوئٹہ", "ملتان", "راولپنڈی", "فیصل آباد",
                "سیالکوٹ", "حیدرآباد"],
        "ORG": ["پاکستان مسلم لیگ", "پیپلز پارٹی", "پنجاب یونیورسٹی", "سٹیٹ بینک", "قومی اسمبلی",
                "سپریم کورٹ", "پاکستان ریلوے", "ایدھی فاؤنڈیشن"],
        "templates": [
            "{PER} نے {LOC} میں {ORG} کے جلسے سے خطاب کیا ۔",
            "{PER} کل {LOC} پہنچے ۔",
            "{ORG} کا دفتر {LOC} میں ہے ۔",
            "{LOC} میں آج بارش ہوئی ۔",
            "{PER} اور {PER} نے {ORG} کے بارے میں بات کی ۔",
            "آج موسم بہت اچھا ہے ۔",
            "{PER} نے کہا کہ {LOC} کے لوگ {ORG} کے کام سے بہت خوش ہیں اور وہ اگلے سال بھی یہیں رہیں گے ۔",
            "{PER} کل {LOC} سے {LOC} گئے اور وہاں {ORG} کے لوگوں سے ملے ۔",
            "کیا آپ نے {PER} کی نئی کتاب پڑھی ہے ؟",
            "{ORG} نے {LOC} میں ایک نیا دفتر کھولا ، جس کا افتتاح {PER} نے کیا ۔",
        ],
    },
    "shahmukhi": {
        "PER": ["بلھے شاہ", "وارث شاہ", "بابا فرید", "سلطان باہو", "شاہ حسین", "میاں محمد بخش",
                "امرتا پریتم", "نصرت فتح علی خان", "نور جہاں"],
        "LOC": ["قصور", "پنجاب", "لہور", "ملتان", "گوجرانوالہ", "سیالکوٹ", "جھنگ", "ساہیوال", "پاکپتن",
                "شیخوپورہ"],
        "ORG": ["پنجابی ادبی بورڈ", "پنجاب یونیورسٹی", "ریڈیو پاکستان", "پنجابی سنگت", "لوک ورثہ"],
        "templates": [
            "{PER} {LOC} وچ رہندے سن ۔",
            "{PER} دا کلام {LOC} وچ مشہور اے ۔",
            "{ORG} دا دفتر {LOC} وچ اے ۔",
            "اج {LOC} وچ مینہ پیا ۔",
            "{PER} تے {PER} نے {ORG} بارے گل کیتی ۔",
            "اج موسم بڑا چنگا اے ۔",
            "{PER} نے آکھیا کہ {LOC} دے لوک {ORG} دے کم توں بہت خوش نیں تے اوہ اگلے ورھے وی ایتھے ای رہن گے ۔",
            "{PER} نوں {LOC} دے سارے لوک جاݨدے نیں ۔",
            "کیہ تسیں {PER} دی نویں کتاب پڑھی اے ؟",
            "{ORG} نے {LOC} وچ اک میلہ کرایا ، جتھے {PER} دا کلام گایا گیا ۔",
        ],
    },
    "sindhi": {
        "PER": ["شاهه عبداللطيف ڀٽائي", "سچل سرمست", "شيخ اياز", "ذوالفقار علي ڀٽو", "بينظير ڀٽو",
                "جي ايم سيد", "حيدر بخش جتوئي", "عبدالستار ايڌي", "ماروي"],
        "LOC": ["ڪراچي", "حيدرآباد", "لاڙڪاڻو", "دادو", "ٺٽو", "ميرپورخاص", "شڪارپور", "ڄامشورو",
                "ڀٽ شاهه", "پاڪستان"],
        "ORG": ["سنڌ يونيورسٽي", "سنڌي ادبي بورڊ", "سنڌ اسيمبلي", "مهراڻ يونيورسٽي", "پاڪستان پيپلز پارٽي",
                "سنڌي لئنگئيج اٿارٽي"],
        "templates": [
            "{PER} {LOC} ۾ رهندو هو .",
            "{PER} {LOC} جو وڏو شاعر هو .",
            "{ORG} جي آفيس {LOC} ۾ آهي .",
            "اڄ {LOC} ۾ مينهن پيو .",
            "{PER} ۽ {PER} {ORG} بابت ڳالهه ڪئي .",
            "اڄ موسم ڏاڍي سٺي آهي .",
            "{PER} ٻڌايو ته {LOC} جا ماڻهو {ORG} جي ڪم مان ڏاڍا خوش آهن ۽ اهي ايندڙ سال به هتي رهندا .",
            "{PER} ڪالهه {LOC} کان {LOC} ويو ۽ اتي {ORG} جي ماڻهن سان مليو .",
            "ڇا توهان {PER} جو نئون ڪتاب پڙهيو آهي ؟",
            "{ORG} {LOC} ۾ ميلو ڪرايو ، جنهن ۾ {PER} جو ڪلام ڳايو ويو .",
        ],
    },
    "pashto": {
        "PER": ["حامد کرزی", "احمد شاه بابا", "خوشحال خان خټک", "رحمان بابا", "ملالۍ", "غني خان",
                "باچا خان", "اشرف غني", "میرویس هوتک"],
        "LOC": ["کابل", "کندهار", "پېښور", "افغانستان", "ننګرهار", "هرات", "کونړ", "سوات", "غزني",
                "لوګر"],
        "ORG": ["ملګري ملتونه", "پښتو ټولنه", "سره میاشت", "عوامي نیشنل ګوند", "ننګرهار پوهنتون",
                "د افغانستان بانک"],
        "templates": [
            "{PER} د {LOC} ولسمشر و .",
            "{PER} په {LOC} کې اوسېده .",
            "د {ORG} دفتر په {LOC} کې دی .",
            "نن په {LOC} کې باران وورېد .",
            "{PER} او {PER} د {ORG} په اړه خبرې وکړې .",
            "نن هوا ډېره ښه ده او دا د اونۍ لومړۍ ورځ ده .",
            "{PER} وویل چې د {LOC} خلک د {ORG} له کار نه ډېر خوشحاله دي او راتلونکی کال به هم دلته اوسېږي .",
            "{PER} پرون له {LOC} نه {LOC} ته لاړ او هلته یې د {ORG} له غړو سره ولیدل .",
            "{PER} څو ورځې په {LOC} کې پاتې شو ؟",
            "{ORG} په {LOC} کې یو نوی ښوونځی جوړ کړ ، چې پرانیستنه یې {PER} وکړه .",
        ],
    },
}

# Each language's letters (and the punctuation its templates use): a word of one language never
# holds a letter another language has and it has not (tests/test_fixture_dataset.py checks this).
_COMMON = set("اآبپتثجچحخدذرزژسشصضطظعغفقلمنوءئ")
ALPHABETS: dict[str, set[str]] = {
    "urdu": _COMMON | set("ٹڈڑکگںہھیےؤۓ") | set("۔،؟"),
    "shahmukhi": _COMMON | set("ٹڈڑکگںہھیےؤۓݨ") | set("۔،؟"),
    "sindhi": _COMMON | set("ٻڀٿٽٺڄڃڇڌڏڊڍڙڦڪکگڳڱڻهي۽۾") | set(".،؟"),
    "pashto": _COMMON | set("ټڅځډړږښکګڼهیيېۍ") | set(".،؟"),
}
# Letters that mark a language (each must occur in its words).
MARKERS = {"urdu": "ٹڈڑںہھے", "shahmukhi": "ںھےݨ", "sindhi": "ڪڄٻڻڏ", "pashto": "ښږځڅړټډې" + "ۍ"}


def _sentences(lang: str, split: str, n: int) -> list[Sentence]:
    """n sentences: the templates in turn (every split has each kind), names drawn with a fixed seed."""
    spec = LANGUAGES[lang]
    rng = random.Random(f"{SOURCE}/{lang}/{split}")
    out = []
    for i in range(n):
        template = spec["templates"][i % len(spec["templates"])]
        tokens, tags = [], []
        for word in template.split():
            if word in ("{PER}", "{LOC}", "{ORG}"):
                etype = word[1:-1]
                name = rng.choice(spec[etype]).split()
                tokens += name
                tags += [f"B-{etype}"] + [f"I-{etype}"] * (len(name) - 1)
            else:
                tokens.append(word)
                tags.append("O")
        out.append(Sentence(id=f"{SOURCE}/{lang}/{split}/{i}", tokens=tokens, tags=tags))
    return out


def build_configs() -> dict[str, dict]:
    """{config: {split: datasets.Dataset}}: the four languages and `all`, as hubkit.data.build makes them."""
    import datasets

    configs = {}
    for lang in LANGUAGES:
        sizes = SPLIT_SIZES | EXTRA_SPLITS.get(lang, {})
        configs[lang] = {split: to_dataset(_sentences(lang, split, n), lang, SOURCE) for split, n in sizes.items()}
    configs["all"] = {split: datasets.concatenate_datasets([configs[lang][split] for lang in LANGUAGES])
                      for split in SPLIT_SIZES}
    return configs


def card_body(configs: dict[str, dict]) -> str:
    return f"""# pakner-mini: a made-up test fixture laid out like pakner

Sentences written from templates and word lists in `tests/fixture_dataset.py` (none taken from any
corpus), in Urdu, Shahmukhi Punjabi, Sindhi and Pashto, BIO over PER, LOC and ORG. For tests only:
the training, LLM and Space tests use it when the real corpora are absent.
Rewrite it with `python -m tests.fixture_dataset`.

## Statistics (entities counted by their B- tags)
{dataset_repo.stats_table(configs)}
"""


def write_fixture(out: Path) -> Path:
    """Write the fixture dataset folder to `out` (its configs replaced, the card rewritten)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    configs = build_configs()
    for name, splits in configs.items():
        dataset_repo.write_config(out, name, splits)
    meta = {
        "pretty_name": "pakner-mini: a made-up NER test fixture for Urdu, Shahmukhi, Sindhi and Pashto",
        "language": ["pnb", "ps", "sd", "ur"],
        "license": "apache-2.0",
        "task_categories": ["token-classification"],
        "task_ids": ["named-entity-recognition"],
        "multilinguality": "multilingual",
        "tags": ["ner", "test-fixture"],
    }
    dataset_repo.write_card(out, dataset_repo.card_yaml(configs, meta, "all"), card_body(configs))
    return out


if __name__ == "__main__":
    print(write_fixture(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURE_DIR))
