"""`hubkit gazetteer`: per language, a train-split gazetteer that fills the words a model leaves
untagged (or overrides its tags), with the O bias the model decodes that language with beside it,
kept only where validation says they help, and stored with the model.

For each language the model's validation scores are decoded at each O bias of `BIAS_GRID` and the
tags combined with gazetteers built with each `MIN_SHARE_GRID` share, in each of the MODES (fill:
the model wins where they overlap; override: the gazetteer does; override-nested: the gazetteer
does, except inside a longer model entity; hubkit.evaluation.gazetteer). The
bias and gazetteer are chosen together because they interact: where the gazetteer restores the
names training has seen, the model can be told to tag less of the rest. The triple (bias, mode,
share) with the best validation F1 is kept when it beats the model alone at its own bias (a bias
alone may win too), and the language is left out otherwise. The kept entries, modes and biases go
into the model folder's gazetteer.json, which hubkit evaluate, hubkit tag and the Space then apply
(their --no_gazetteer / --no-gazetteer turn it off). Test splits are never read here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hubkit.errors import HubkitError
from hubkit.evaluation.gazetteer import (GAZETTEER_FILE, MODES, build_gazetteer, save_gazetteers, sentence_pairs,
                                         tag_sentence)

MIN_SHARE_GRID = (0.3, 0.5, 0.7)
BIAS_GRID = tuple(round(0.25 * i, 2) for i in range(-4, 21))  # -1 to 5 nats: wider than calibrate's, for override
MAX_WORDS = 6


def choose_language(train: list, validation: list, scores: list, model_bias: float = 0.0, grid=MIN_SHARE_GRID,
                    biases=BIAS_GRID, max_words: int = MAX_WORDS, modes=tuple(MODES)) -> dict:
    """One language's choice from its validation word scores (hubkit.evaluation.predict.word_scores):
    {"model": F1 alone at `model_bias`, "model_bias", "grid": {bias: {"alone": F1, mode: {share: F1}}},
    and the best "outside_bias", "mode", "min_share" (None, None: the bias alone), "gazetteer" (its
    entries or None) and "f1"}, all None when nothing beats the model at its own bias. Ties go to the
    bias nearest the model's, then to the model alone, then the MODES in order (less change first),
    then to the smaller share."""
    from hubkit.evaluation.metrics import score
    from hubkit.evaluation.predict import decode_words

    gold = [tags for _, tags in validation]
    f1 = lambda tags: score(gold, tags)["overall"]["f1"]  # noqa: E731
    built = {share: build_gazetteer(train, max_words, share) for share in grid}
    # the matches depend on the share only: found once, not at every bias and mode
    found = {share: [tag_sentence(tokens, built[share], max_words) for tokens, _ in validation] for share in grid}
    rows = {}
    for bias in sorted({*biases, model_bias}):
        tags = decode_words(scores, True, bias)
        rows[bias] = {"alone": f1(tags)} | {
            mode: {share: f1([MODES[mode](g, t) for g, t in zip(found[share], tags)]) for share in grid}
            for mode in modes}
    alone = rows[model_bias]["alone"]
    best_f1, bias, mode, share = _best(_cells(rows), model_bias)
    if best_f1 <= alone:
        best_f1 = bias = mode = share = None
    return {"model": alone, "model_bias": model_bias, "grid": rows, "outside_bias": bias, "mode": mode,
            "min_share": share, "gazetteer": built[share] if mode else None, "f1": best_f1}


def _cells(grid: dict) -> list[tuple]:
    """(F1, bias, mode, share) of every way to decode in a choice's grid, in the order ties prefer at
    one bias: the model alone (mode and share None), then each mode in turn, smaller shares first."""
    cells = []
    for bias, row in grid.items():
        cells.append((row["alone"], bias, None, None))
        cells += [(f1, bias, mode, share) for mode in MODES if mode in row for share, f1 in row[mode].items()]
    return cells


def _best(cells: list[tuple], model_bias: float) -> tuple:
    """The cell with the best F1; of equals, the bias nearest the model's, then the first of `cells`."""
    return max(cells, key=lambda c: (round(c[0], 12), -abs(c[1] - model_bias)))


def choose_gazetteers(model, tokenizer, data: dict, split: str, batch_size: int = 32, max_length: int = 256) -> dict:
    """{language: choose_language(...)} for every language of `data` (load_ner_data with train and `split`)."""
    from hubkit.evaluation.calibration import model_outside_bias
    from hubkit.evaluation.predict import word_scores

    bias = model_outside_bias(model.config)
    return {lang: choose_language(sentence_pairs(data["train"][lang]), sentence_pairs(ds),
                                  word_scores(model, tokenizer, ds, batch_size, max_length, desc=f"validating {lang}"),
                                  bias)
            for lang, ds in data[split].items()}


def describe_choice(choice: dict) -> str:
    """A kept choice in words (one of choose_language's, or of gazetteer.json's "choices")."""
    entries = f"{choice['mode']}, share > {choice['min_share']:g}" if choice["mode"] else "no entries"
    return f"{entries}, O bias {choice['outside_bias']:g}"


def render(choices: dict) -> str:
    """Per language, validation F1 of the model alone at its own bias, the best of each way to decode
    (alone at another bias, each of the MODES; each at its best bias and share), and what was kept."""
    lines = ["| language | model alone | best alone | " + " | ".join(f"best {m}" for m in MODES) + " | kept |",
             "|---" * (len(MODES) + 4) + "|"]
    for lang, c in choices.items():
        cells = []
        for mode in (None, *MODES):  # None: the model alone
            f1, bias, _, share = _best([cell for cell in _cells(c["grid"]) if cell[2] == mode], c["model_bias"])
            cells.append(f"{100 * f1:.2f} (O bias {bias:g}" + (f", share > {share:g})" if share else ")"))
        kept = "no" if c["f1"] is None else describe_choice(c) + (
            f", {len(c['gazetteer'])} entries" if c["gazetteer"] else "")
        lines.append(f"| {lang} | {100 * c['model']:.2f} (O bias {c['model_bias']:g}) | " + " | ".join(cells)
                     + f" | {kept} |")
    return "\n".join(lines)


def about(choices: dict, dataset: str, split: str) -> dict:
    """What gazetteer.json says of itself: where it came from and what validation said (F1 in %)."""
    pct = lambda f: round(100 * f, 2)  # noqa: E731
    return {"built_from": f"train split of {Path(dataset).name if Path(dataset).exists() else dataset}",
            "chosen_on": split, "criterion": "validation F1 of the language, with the O bias and gazetteer chosen "
                                             "together, against the model alone at its own O bias",
            "choices": {lang: {"outside_bias": c["outside_bias"], "mode": c["mode"], "min_share": c["min_share"],
                               "model_bias": c["model_bias"], "model_f1": pct(c["model"]),
                               "f1": pct(c["f1"]) if c["f1"] is not None else None,
                               "grid": {f"{b:g}": {"alone": pct(row["alone"])}
                                        | {m: {f"{s:g}": pct(f) for s, f in row[m].items()} for m in MODES if m in row}
                                        for b, row in c["grid"].items()}}
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
    kept = {lang: c for lang, c in choices.items() if c["f1"] is not None}
    if args.dry_run:
        return 0
    if not kept:
        (folder / GAZETTEER_FILE).unlink(missing_ok=True)
        print(f"no language scores higher with a gazetteer or its own O bias: {folder} tags with the model alone")
        return 0
    entries = {lang: c["gazetteer"] for lang, c in kept.items() if c["gazetteer"]}
    path = save_gazetteers(folder, entries, MAX_WORDS, about(choices, args.dataset, args.split),
                           {lang: kept[lang]["mode"] for lang in entries},
                           {lang: c["outside_bias"] for lang, c in kept.items()})
    print(f"wrote {path} ({', '.join(f'{lang}: {describe_choice(c)}' for lang, c in kept.items())})")
    return 0


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register `hubkit gazetteer`."""
    from hubkit.evaluation.predict import add_choosing_options

    p = subparsers.add_parser(
        "gazetteer", help="store with a model the train-split names that fill or override its tags, and an O bias, per "
                           "language, where validation says so",
        description="Per language: build gazetteers from the train split (entries whose words are that entity in more "
                    f"than {', '.join(f'{s:g}' for s in MIN_SHARE_GRID)} of their training occurrences), combine them "
                    "with the model's validation predictions (fill: add matches where the model tagged nothing; "
                    "override: matches replace the model's entities they overlap; override-nested: the same, except "
                    "that a match inside a longer model entity gives way to it) at each O bias from "
                    f"{BIAS_GRID[0]:g} to {BIAS_GRID[-1]:g} (step 0.25), and keep the best bias, mode and share "
                    f"when it beats the model alone at its own bias. Writes {GAZETTEER_FILE} into the model folder; hubkit evaluate, "
                    "hubkit tag and the Space then use it.")
    add_choosing_options(p)
    p.add_argument("--dry_run", action="store_true", help="print the choice, write nothing")
    p.set_defaults(func=_cli_gazetteer)
    return p
