"""`python -m hubkit.experiments.gazetteer_baseline build/pakner`: the train-split gazetteer's F1
per language on validation, and with `--model` the model alone against the model whose untagged
words are filled from the gazetteer (hubkit.evaluation.gazetteer). Validation by default: this
is for choosing; a test figure is for a recipe already chosen.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hubkit.data.loading import load_ner_data
from hubkit.evaluation.gazetteer import build_gazetteer, fill_from_gazetteer, sentence_pairs, tag_sentence
from hubkit.evaluation.metrics import score
from hubkit.evaluation.predict import predict_words
from hubkit.languages import LANGUAGES
from hubkit.options import COUNT, PROBABILITY_BELOW_1, ranged


def _row(result: dict) -> dict:
    o = result["overall"]
    return {"precision": 100 * o["precision"], "recall": 100 * o["recall"], "f1": 100 * o["f1"],
            "per_type_f1": {t: 100 * r["f1"] for t, r in result["per_type"].items()}}


def _load_model(model: str, threads: int | None):
    from hubkit.hardware import apply_threads
    from hubkit.models.encoders import load_token_classifier

    apply_threads(threads)
    return load_token_classifier(model)


def run(dataset: str, split: str, languages: list[str], model: str | None = None, max_words: int = 6,
        min_share: float = 0.5, threads: int | None = None) -> dict:
    """{language: {"gazetteer": row, ("model": row, "model+gazetteer": row)}}: rows of P/R/F1 in %."""
    data = load_ner_data(dataset, languages, splits=["train", split])
    classifier = _load_model(model, threads) if model else None  # once, before any language is scored
    out = {}
    for lang in data[split]:
        gazetteer = build_gazetteer(sentence_pairs(data["train"][lang]), max_words, min_share)
        sentences = sentence_pairs(data[split][lang])
        gold = [tags for _, tags in sentences]
        found = [tag_sentence(tokens, gazetteer, max_words) for tokens, _ in sentences]
        out[lang] = {"entries": len(gazetteer), "gazetteer": _row(score(gold, found))}
        if classifier:
            pred = predict_words(*classifier, data[split][lang], desc=f"predicting {lang}")
            filled = [fill_from_gazetteer(g, p) for g, p in zip(found, pred)]
            out[lang]["model"] = _row(score(gold, pred))
            out[lang]["model+gazetteer"] = _row(score(gold, filled))
    return out


def render(results: dict, split: str) -> str:
    lines = [f"| language ({split}) | system | precision | recall | F1 |", "|---|---|---|---|---|"]
    for lang, rows in results.items():
        for system in ("gazetteer", "model", "model+gazetteer"):
            if system in rows:
                r = rows[system]
                lines.append(f"| {lang} | {system} | {r['precision']:.2f} | {r['recall']:.2f} | {r['f1']:.2f} |")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m hubkit.experiments.gazetteer_baseline", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", help="dataset folder laid out as ORG/pakner (hubkit build --out) or a Hub id")
    p.add_argument("--split", default="validation", help="split scored (default: validation); the gazetteer is "
                   "always built from train")
    p.add_argument("--languages", nargs="+", default=list(LANGUAGES), help="languages (default: all four)")
    p.add_argument("--model", help="a fine-tuned token classifier folder: also score it, alone and filled "
                   "from the gazetteer")
    p.add_argument("--max_words", "--max-words", type=ranged(COUNT), default=6,
                   help="longest entry in words (default: 6)")
    p.add_argument("--min_share", "--min-share", type=ranged(PROBABILITY_BELOW_1), default=0.5,
                   help="an entry's words must be that entity in more than this share of their training "
                   "occurrences (default: 0.5)")
    p.add_argument("--threads", type=ranged(COUNT), help="PyTorch threads for --model")
    p.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from hubkit.errors import HubkitError

    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        results = run(args.dataset, args.split, args.languages, args.model, args.max_words, args.min_share, args.threads)
    except HubkitError as err:
        raise SystemExit(f"error: {err}")
    print(render(results, args.split))
    if args.out:
        args.out.write_text(json.dumps({"split": args.split, "max_words": args.max_words, "min_share": args.min_share,
                                        "languages": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
