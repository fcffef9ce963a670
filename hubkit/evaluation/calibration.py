"""`hubkit calibrate`: a bias on the O label, chosen on validation, stored with the model.

Training thins the sentences without an entity (most of Shahmukhi's) to learn faster, so the
model expects entities more often than real text has them and tags too much. Adding a constant
`outside_bias` to every word's O log-probability before decoding trades recall for precision
(a negative one the other way). The bias is picked from `BIAS_GRID` by the mean over languages of the validation F1
(each language counts once, whatever its size), written into the model's `config.json` as
`hubkit_outside_bias`, and read from there by `hubkit evaluate`, `hubkit tag` and the Space.
Test splits are never read here.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from hubkit.data.labels import LABELS
from hubkit.errors import HubkitError
from hubkit.options import Range

CONFIG_KEY = "hubkit_outside_bias"
BIAS_GRID = tuple(round(0.25 * i, 2) for i in range(-4, 13))  # -1 (tag more) to 3 nats (tag less)
RESULT_FILE = "calibration.json"
BIAS_RANGE = Range(-20, 20)  # nats on a log-probability: beyond this every word is O (or none is)


def _as_bias(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def model_outside_bias(config) -> float:
    """The bias a model's config carries (0 for a model never calibrated)."""
    return _as_bias(getattr(config, CONFIG_KEY, None))


def folder_outside_bias(folder: Path) -> float:
    """The bias in a model folder's config.json, read without loading the model (0 when none)."""
    config = Path(folder) / "config.json"
    return _as_bias(json.loads(config.read_text(encoding="utf-8")).get(CONFIG_KEY) if config.is_file() else None)


def choose_outside_bias(scores: list, gold: list[list[str]], languages: list[str],
                        grid=BIAS_GRID, bio_decoding: bool = True) -> dict:
    """The grid's bias with the highest mean per-language F1 (the one nearest 0 on a tie), and every
    bias's F1 per language: {"outside_bias", "criterion", "grid": [{"bias", "f1": {lang: F1}, "mean"}]}."""
    from hubkit.evaluation.metrics import score
    from hubkit.evaluation.predict import decode_words

    if not scores:
        raise ValueError("no sentences to calibrate on")
    by_lang = {lang: [i for i, l in enumerate(languages) if l == lang] for lang in sorted(set(languages))}
    rows = []
    for bias in grid:
        tags = decode_words(scores, bio_decoding, outside_bias=bias)
        f1 = {lang: score([gold[i] for i in idx], [tags[i] for i in idx])["overall"]["f1"]
              for lang, idx in by_lang.items()}
        rows.append({"bias": bias, "f1": f1, "mean": statistics.mean(f1.values())})
    best = max(rows, key=lambda r: (round(r["mean"], 12), -abs(r["bias"])))
    return {"outside_bias": best["bias"], "criterion": "mean over languages of validation F1",
            "bio_decoding": bio_decoding, "grid": rows}


def grid_row(choice: dict, bias: float | None = None) -> dict:
    """The grid row of `bias` (default: the chosen one)."""
    bias = choice["outside_bias"] if bias is None else bias
    return next(r for r in choice["grid"] if r["bias"] == bias)


def calibrate_model(model, tokenizer, ds, batch_size: int = 32, max_length: int = 256, accelerator=None,
                    bio_decoding: bool = True, grid=BIAS_GRID) -> tuple[dict, list]:
    """Choose the bias on `ds` (a validation split with hubkit_lang) and set it on `model.config`;
    returns (the choice, the per-word scores it was chosen on, for scoring `ds` without a second pass)."""
    from hubkit.data.loading import LANG_COLUMN
    from hubkit.evaluation.predict import word_scores

    scores = word_scores(model, tokenizer, ds, batch_size, max_length, accelerator, desc="calibrating")
    gold = [[LABELS[t] for t in tags] for tags in ds["ner_tags"]]
    langs = ds[LANG_COLUMN] if LANG_COLUMN in ds.column_names else ["all"] * len(ds)
    choice = choose_outside_bias(scores, gold, langs, grid, bio_decoding)
    plain = accelerator.unwrap_model(model) if accelerator is not None else model
    setattr(plain.config, CONFIG_KEY, choice["outside_bias"])
    return choice, scores


def render_choice(choice: dict) -> str:
    """The grid as a markdown table, the chosen row marked."""
    langs = list(choice["grid"][0]["f1"])
    lines = ["| O bias | " + " | ".join(langs) + " | mean |", "|---" * (len(langs) + 2) + "|"]
    for row in choice["grid"]:
        mark = " (chosen)" if row is grid_row(choice) else ""
        lines.append(f"| {row['bias']:g}{mark} | " + " | ".join(f"{100 * row['f1'][l]:.2f}" for l in langs)
                     + f" | {100 * row['mean']:.2f} |")
    return "\n".join(lines)


def _cli_calibrate(args: argparse.Namespace) -> int:
    from hubkit.data.loading import concat, load_ner_data
    from hubkit.data.windows import model_max_length
    from hubkit.evaluation.predict import model_folder_to_write
    from hubkit.hardware import apply_threads
    from hubkit.models.encoders import load_token_classifier

    folder = model_folder_to_write(args.model, "calibrate")
    if args.split.startswith("test"):
        raise HubkitError(f"--split {args.split}: the bias is a setting, chosen on validation, never on a test split")
    apply_threads(args.threads)
    ds = concat(load_ner_data(args.dataset, args.languages, splits=[args.split])[args.split])
    model, tokenizer = load_token_classifier(str(folder))
    choice, _ = calibrate_model(model, tokenizer, ds, args.batch_size, min(args.max_length, model_max_length(model)),
                                bio_decoding=not args.no_bio_decoding)
    print(render_choice(choice))
    if not args.dry_run:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        config[CONFIG_KEY] = choice["outside_bias"]
        (folder / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (folder / RESULT_FILE).write_text(json.dumps({"split": args.split, **choice}, indent=1) + "\n")
        print(f"wrote {CONFIG_KEY} = {choice['outside_bias']:g} into {folder / 'config.json'}")
    return 0


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register `hubkit calibrate`."""
    from hubkit.evaluation.predict import add_choosing_options

    p = subparsers.add_parser(
        "calibrate", help="choose the O-label bias on validation and store it in a model folder",
        description="Scores the validation split once, decodes it with each O bias of "
                    f"{BIAS_GRID[0]:g}..{BIAS_GRID[-1]:g} (step 0.25), keeps the one with the best mean "
                    f"per-language F1, and writes it into the folder's config.json ({CONFIG_KEY}) and "
                    f"{RESULT_FILE}. hubkit evaluate, hubkit tag and the Space then decode with it.")
    add_choosing_options(p)
    p.add_argument("--no_bio_decoding", action="store_true", help="choose for per-word argmax decoding instead of Viterbi")
    p.add_argument("--dry_run", action="store_true", help="print the grid, write nothing")
    p.set_defaults(func=_cli_calibrate)
    return p
