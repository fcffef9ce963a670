"""`hubkit gazetteer`: per language, a train-split gazetteer that fills the words a model leaves
untagged (or overrides its tags), kept only where validation says it helps, and stored with the model.

For each language the model's validation predictions are combined with gazetteers built with each
`MIN_SHARE_GRID` share, in each of the MODES (fill: the model wins where they overlap; override:
the gazetteer does; hubkit.evaluation.gazetteer). The pair with the best validation F1 is kept
when it beats the model alone, and the language is left out otherwise. The kept entries and modes
go into the model folder's gazetteer.json, which hubkit evaluate, hubkit tag and the Space then
apply (their --no_gazetteer / --no-gazetteer turn it off). Test splits are never read here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hubkit.errors import HubkitError
from hubkit.evaluation.gazetteer import GAZETTEER_FILE, MODES, build_gazetteer, save_gazetteers, sentence_pairs

MIN_SHARE_GRID = (0.3, 0.5, 0.7)
MAX_WORDS = 6


def choose_language(train: list, validation: list, predicted: list[list[str]], grid=MIN_SHARE_GRID,
                    max_words: int = MAX_WORDS, modes=tuple(MODES)) -> dict:
    """One language's choice: {"model": F1, "grid": {mode: {share: F1}}, "mode" and "min_share": the
    best pair, or None when the model alone is at least as good, "gazetteer": its entries or None}.
    Ties go to the earlier mode and share (fill before override: it changes less)."""
    from hubkit.evaluation.metrics import score

    gold = [tags for _, tags in validation]
    f1 = lambda tags: score(gold, tags)["overall"]["f1"]  # noqa: E731
    alone = f1(predicted)
    built = {share: build_gazetteer(train, max_words, share) for share in grid}
    rows = {mode: {share: f1([MODES[mode](tokens, p, built[share], max_words)
                              for (tokens, _), p in zip(validation, predicted)]) for share in grid} for mode in modes}
    mode, share = max(((m, s) for m in modes for s in grid), key=lambda pair: rows[pair[0]][pair[1]])
    keep = rows[mode][share] > alone
    return {"model": alone, "grid": rows, "mode": mode if keep else None, "min_share": share if keep else None,
            "gazetteer": built[share] if keep else None}


def choose_gazetteers(model, tokenizer, data: dict, split: str, batch_size: int = 32, max_length: int = 256) -> dict:
    """{language: choose_language(...)} for every language of `data` (load_ner_data with train and `split`)."""
    from hubkit.evaluation.predict import predict_words

    return {lang: choose_language(sentence_pairs(data["train"][lang]), sentence_pairs(ds),
                                  predict_words(model, tokenizer, ds, batch_size, max_length, desc=f"validating {lang}"))
            for lang, ds in data[split].items()}


def render(choices: dict) -> str:
    """The validation F1 of every language, mode and share as a Markdown table, with what was kept."""
    pairs = [(m, s) for m, row in next(iter(choices.values()))["grid"].items() for s in row]
    lines = ["| language | model alone | " + " | ".join(f"{m}, share > {s:g}" for m, s in pairs) + " | kept |",
             "|---" * (len(pairs) + 3) + "|"]
    for lang, c in choices.items():
        kept = f"{c['mode']}, share > {c['min_share']:g}, {len(c['gazetteer'])} entries" if c["gazetteer"] else "no"
        lines.append(f"| {lang} | {100 * c['model']:.2f} | "
                     + " | ".join(f"{100 * c['grid'][m][s]:.2f}" for m, s in pairs) + f" | {kept} |")
    return "\n".join(lines)


def about(choices: dict, dataset: str, split: str) -> dict:
    """What gazetteer.json says of itself: where it came from and what validation said (F1 in %)."""
    return {"built_from": f"train split of {Path(dataset).name if Path(dataset).exists() else dataset}",
            "chosen_on": split, "criterion": "validation F1 of the language, with the gazetteer against the model alone",
            "choices": {lang: {"mode": c["mode"], "min_share": c["min_share"], "model_f1": round(100 * c["model"], 2),
                               "f1": {m: {str(s): round(100 * f, 2) for s, f in row.items()}
                                      for m, row in c["grid"].items()}}
                        for lang, c in choices.items()}}


def _cli_gazetteer(args: argparse.Namespace) -> int:
    from hubkit.data.loading import load_ner_data
    from hubkit.data.windows import model_max_length
    from hubkit.evaluation.predict import model_folder_to_write
    from hubkit.hardware import apply_threads
    from hubkit.models.encoders import load_token_classifier

    folder = model_folder_to_write(args.model, "gazetteer")
    if args.split.startswith("test") or args.split == "train":
        raise HubkitError(f"--split {args.split}: the gazetteer is built from train and chosen on validation")
    apply_threads(args.threads)
    data = load_ner_data(args.dataset, args.languages, splits=["train", args.split])
    model, tokenizer = load_token_classifier(str(folder))
    choices = choose_gazetteers(model, tokenizer, data, args.split, args.batch_size,
                                min(args.max_length, model_max_length(model)))
    print(render(choices))
    kept = {lang: c["gazetteer"] for lang, c in choices.items() if c["gazetteer"]}
    if args.dry_run:
        return 0
    if not kept:
        (folder / GAZETTEER_FILE).unlink(missing_ok=True)
        print(f"no language scores higher with a gazetteer: {folder} tags with the model alone")
        return 0
    path = save_gazetteers(folder, kept, MAX_WORDS, about(choices, args.dataset, args.split),
                           {lang: choices[lang]["mode"] for lang in kept})
    print(f"wrote {path} ({', '.join(kept)})")
    return 0


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register `hubkit gazetteer`."""
    from hubkit.evaluation.predict import add_choosing_options

    p = subparsers.add_parser(
        "gazetteer", help="store with a model the train-split names that fill or override its tags, where validation says so",
        description="Per language: build gazetteers from the train split (entries whose words are that entity in more "
                    f"than {', '.join(f'{s:g}' for s in MIN_SHARE_GRID)} of their training occurrences), combine them "
                    "with the model's validation predictions (fill: add matches where the model tagged nothing; "
                    "override: matches replace the model's entities they overlap), and keep the best mode and share "
                    f"when it beats the model alone. Writes {GAZETTEER_FILE} into the model folder; hubkit evaluate, "
                    "hubkit tag and the Space then use it.")
    add_choosing_options(p)
    p.add_argument("--dry_run", action="store_true", help="print the choice, write nothing")
    p.set_defaults(func=_cli_gazetteer)
    return p
