"""`python -m hubkit.experiments.flagship_report build/models results/flagship`: the flagship's numbers and card.

Reads every `pakner-e5-small-seed*/results.json` (written by `make flagship SEED=N`), scores each
seed folder once more where training does not (Pashto's corrected test `test_reviewed`; every
test split with per-word argmax instead of BIO decoding), caches those in `extra_results.json`
beside it, and writes
- `results/flagship/RESULTS.md`: test F1 per language, mean ± std over seeds, beside the
  issue's targets, the paper's figures and the published baselines; per type, precision
  against recall; argmax against BIO decoding; training time, CPU and precision;
- `results/flagship/seeds.json`: the same numbers per seed (committed; the weights are not);
- the release card `README.md` of `build/models/pakner-e5-small` (seed 1), from the same data.
"""

from __future__ import annotations

import functools
import json
import platform
import re
import statistics
import sys
from pathlib import Path

from hubkit.evaluation.calibration import RESULT_FILE, folder_outside_bias, grid_row
from hubkit.evaluation.gazetteer import GAZETTEER_FILE
from hubkit.evaluation.gazetteer_fill import describe_choice
from hubkit.experiments.flagship_plot import PLOT_FILE, RELEASED, mean_of_4, plot_search
from hubkit.hardware import cpu_flags, cpu_has_native_bf16
from hubkit.languages import LANGUAGES

LANGS = tuple(LANGUAGES)
TARGETS = {"urdu": 94.0, "shahmukhi": 76.0, "sindhi": 80.0, "pashto": 62.0}
PAPER = {"shahmukhi": 88.06, "pashto": 88.29}  # Ehsan & Solorio (2025), best settings, GPU models
BASELINES = {"shahmukhi": "75.55 (BiLSTM-ELMo, 2021, same test)"}
RELEASE = "pakner-e5-small"
RECIPE_FILE = Path(__file__).resolve().parents[2] / "configs" / "flagship.yaml"
SEARCH = f"{RELEASE}-search-"  # candidate recipes: <models>/pakner-e5-small-search-<name>-seed<N>
RECIPE_KEYS = ("base_model", "dataset", "further_train_configs", "policy", "sampling_temperature",
               "keep_sentences_without_entities", "learning_rate", "num_train_epochs", "max_steps",
               "per_device_train_batch_size", "warmup_ratio", "freeze_word_embeddings", "calibrate_outside_bias",
               "mixed_precision")


def seed_folders(models: Path) -> list[Path]:
    return sorted(p for p in models.glob(f"{RELEASE}-seed*") if (p / "results.json").is_file())


def extra_results(folder: Path, dataset: str) -> dict:
    """test_reviewed (Pashto), argmax scores and where the test errors are (sentence_breakdown) of
    one seed folder, each computed once (the argmax and the breakdown from one pass over test)."""
    from hubkit.evaluation.predict import evaluate_model

    cache = folder / "extra_results.json"
    extra = json.loads(cache.read_text()) if cache.is_file() else {}
    if (extra.get("outside_bias", 0.0), extra.get("gazetteer")) != (folder_outside_bias(folder), gazetteer_of(folder)):
        extra = {}  # calibrated, or a gazetteer chosen, since it was scored: all of it again
    if "pashto_test_reviewed" not in extra:  # with the folder's gazetteer, as it tags
        extra["pashto_test_reviewed"] = evaluate_model(str(folder), dataset, ["pashto"], split="test_reviewed")
    if "test_novelty" not in extra:  # scored before the seen/new split (the newest key) existed: again
        extra.update(_test_pass(folder, dataset))
    cache.write_text(json.dumps(extra, indent=1) + "\n")
    return extra


def _test_pass(folder: Path, dataset: str) -> dict:
    """From one forward pass, decoded with the model's own O bias: Viterbi and argmax scores, the
    per-language sentence_breakdown of the Viterbi tags, and (for a calibrated model) Viterbi
    scores without the bias. A folder calibrated after training (`hubkit calibrate`) has
    results.json's test scored without its bias: test_viterbi is how it tags now."""
    from hubkit.data.labels import LABELS
    from hubkit.data.loading import LANG_COLUMN, concat, load_ner_data
    from hubkit.evaluation.calibration import model_outside_bias
    from hubkit.evaluation.metrics import compute_metrics
    from hubkit.evaluation.gazetteer import load_gazetteers
    from hubkit.evaluation.predict import decode_with_gazetteer, decode_words, word_scores
    from hubkit.models.encoders import load_token_classifier

    model, tokenizer = load_token_classifier(str(folder))
    bias = model_outside_bias(model.config)
    test = concat(load_ner_data(dataset, list(LANGS), splits=["test"])["test"])
    scores = word_scores(model, tokenizer, test, desc="test")
    gold, langs = [[LABELS[t] for t in tags] for tags in test["ner_tags"]], test[LANG_COLUMN]
    plain = decode_words(scores, True, bias)
    gazetteer = load_gazetteers(folder)
    viterbi = decode_with_gazetteer(test, scores, True, bias, gazetteer)
    breakdown = {lang: sentence_breakdown([g for g, l in zip(gold, langs) if l == lang],
                                          [p for p, l in zip(viterbi, langs) if l == lang]) for lang in LANGS}
    return {"test_viterbi": compute_metrics(gold, viterbi, langs), "outside_bias": bias,
            "test_argmax": compute_metrics(gold, decode_words(scores, False, bias), langs), "test_sentences": breakdown,
            "test_novelty": novelty_by_language(dataset, test, gold, viterbi),
            "test_without_bias": compute_metrics(gold, decode_words(scores, True, 0.0), langs) if bias else None,
            "gazetteer": gazetteer_of(folder),
            "test_without_gazetteer": compute_metrics(gold, plain, langs) if gazetteer else None}


def gazetteer_of(folder: Path) -> dict | None:
    """The languages the folder's gazetteer.json (hubkit gazetteer) decodes differently from the model
    alone, with their chosen mode and share (None: its O bias only), O bias, and validation F1 alone
    and as chosen; None when it has no such file."""
    path = folder / GAZETTEER_FILE
    if not path.is_file():
        return None
    choices = json.loads(path.read_text(encoding="utf-8"))["choices"]
    return {lang: {key: c[key] for key in ("mode", "min_share", "outside_bias", "model_f1")} | {"gazetteer_f1": c["f1"]}
            for lang, c in choices.items() if c["f1"] is not None}


def novelty_by_language(dataset: str, test, gold: list[list[str]], pred: list[list[str]]) -> dict:
    """Per language and type: test mentions seen in that language's train split, and recall on the
    seen and on the new ones."""
    from hubkit.data.loading import LANG_COLUMN
    from hubkit.evaluation.novelty import novelty

    tokens, langs, seen = test["tokens"], test[LANG_COLUMN], train_entities(dataset)
    out = {}
    for lang in LANGS:
        rows = [i for i, l in enumerate(langs) if l == lang]
        out[lang] = novelty(seen[lang], [tokens[i] for i in rows], [gold[i] for i in rows], [pred[i] for i in rows])
    return out


@functools.lru_cache(maxsize=None)  # the same train splits for every seed folder of one report
def train_entities(dataset: str) -> dict[str, set]:
    """(type, words) of every entity in each language's train split."""
    from hubkit.data.labels import LABELS
    from hubkit.data.loading import load_ner_data
    from hubkit.evaluation.novelty import seen_entities

    train = load_ner_data(dataset, list(LANGS), splits=["train"])["train"]
    return {lang: seen_entities((t, [LABELS[x] for x in tags]) for t, tags in zip(ds["tokens"], ds["ner_tags"]))
            for lang, ds in train.items()}


def sentence_breakdown(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """Which sentences the errors are in: those without a gold entity (every entity predicted there
    is a false positive) against those with one (F1 on them alone)."""
    from hubkit.data.labels import entity_spans
    from hubkit.evaluation.metrics import score

    empty = [not entity_spans(g) for g in gold]
    n_pred = [len(entity_spans(p)) for p in pred]
    with_entities = [i for i, e in enumerate(empty) if not e]
    f1 = score([gold[i] for i in with_entities], [pred[i] for i in with_entities])["overall"]["f1"]
    return {"sentences": len(gold), "without_entities": sum(empty), "predicted": sum(n_pred),
            "tagged_without_entities": sum(1 for e, n in zip(empty, n_pred) if e and n),
            "predicted_in_sentences_without_entities": sum(n for e, n in zip(empty, n_pred) if e),
            "f1_sentences_with_entities": 100 * f1}


def _f1(res: dict, lang: str | None = None) -> float:
    block = res["per_language"][lang] if lang else res
    return 100 * block["overall"]["f1"]


def seed_numbers(folder: Path, dataset: str) -> dict:
    results = json.loads((folder / "results.json").read_text())
    extra = extra_results(folder, dataset)
    test = extra.get("test_viterbi") or results["test"]
    calibration, setup = calibration_of(folder, results), setup_of(folder, results)
    validation_alone = _validation_f1(results, calibration, setup.get("calibrated_after_training", False))
    out = {"seed": results["setup"]["seed"], "setup": setup, "history": results["history"],
           "test_f1": {lang: _f1(test, lang) for lang in LANGS},
           "validation_f1": {lang: (extra.get("gazetteer") or {}).get(lang, {}).get("gazetteer_f1", f1)
                             for lang, f1 in validation_alone.items()},  # as it tags, like the test column
           "validation_without_gazetteer_f1": validation_alone,
           "test_argmax_f1": {lang: _f1(extra["test_argmax"], lang) for lang in LANGS},
           "pashto_test_reviewed_f1": _f1(extra["pashto_test_reviewed"]),
           "test_sentences": extra.get("test_sentences"), "test_novelty": extra.get("test_novelty"),
           "calibration": calibration,
           "test_without_bias_f1": ({lang: _f1(extra["test_without_bias"], lang) for lang in LANGS}
                                    if extra.get("test_without_bias") else None),
           "gazetteer": extra.get("gazetteer"),
           "test_without_gazetteer_f1": ({lang: _f1(extra["test_without_gazetteer"], lang) for lang in LANGS}
                                         if extra.get("test_without_gazetteer") else None),
           "per_type": {lang: {t: {k: 100 * m[k] for k in ("precision", "recall", "f1")}
                               for t, m in test["per_language"][lang]["per_type"].items()} for lang in LANGS},
           "precision_recall": {lang: {k: 100 * test["per_language"][lang]["overall"][k]
                                       for k in ("precision", "recall")} for lang in LANGS}}
    return out


def setup_of(folder: Path, results: dict) -> dict:
    """results.json's setup; a folder calibrated after training (`hubkit calibrate`, e.g. again on a
    corrected validation split) counts as `calibrate_outside_bias`, marked as done after."""
    setup = dict(results["setup"])
    if (folder / RESULT_FILE).is_file():
        setup.update(calibrate_outside_bias=True, calibrated_after_training=True)
    return setup


def _validation_f1(results: dict, calibration: dict | None, after_training: bool) -> dict:
    """Per language, the model alone as it decodes: results.json's, or for a folder calibrated after
    training the calibration's figures at the chosen bias (results.json's validation predates the choice)."""
    if calibration and after_training:
        return {lang: calibration["f1"][lang] for lang in LANGS}
    return {lang: _f1(results["validation"], lang) for lang in LANGS}


def search_rows(models: Path, seeds: list[dict]) -> list[dict]:
    """Each candidate recipe's validation F1 per language, with what it changed from the released
    recipe's run of the same seed. Only validation: the candidates' test scores are not read."""
    released = {s["seed"]: s for s in seeds}
    rows = []
    for folder in sorted(models.glob(f"{SEARCH}*")):
        if not (folder / "results.json").is_file():
            continue
        results = json.loads((folder / "results.json").read_text())
        setup, ref = setup_of(folder, results), released.get(results["setup"]["seed"])
        rows.append({"name": re.sub(r"-seed\d+$", "", folder.name.removeprefix(SEARCH)), "seed": setup["seed"],
                     "changed": {k: v for k, v in recipe_of(setup).items()
                                 if ref is None or v != recipe_of(ref["setup"])[k]},
                     "validation_f1": {lang: _f1(results["validation"], lang) for lang in LANGS},
                     "curve": validation_curve(results["history"]),
                     "calibration": calibration_of(folder, results)})
    return rows


def calibration_of(folder: Path, results: dict) -> dict | None:
    """The O bias chosen on validation (by training, or later by `hubkit calibrate`) and its F1 per language."""
    choice = results.get("calibration")
    if (folder / RESULT_FILE).is_file():  # written by `hubkit calibrate`, after training: the folder's choice now
        choice = json.loads((folder / RESULT_FILE).read_text())
    if not choice:
        return None
    return {"outside_bias": choice["outside_bias"], "f1": {k: 100 * v for k, v in grid_row(choice)["f1"].items()}}


def render_search(rows: list[dict], seeds: list[dict]) -> list[str]:
    if not rows:
        return []
    lines = ["## Recipe search (validation F1: the recipe is chosen on these columns, never on test)", "",
             "| recipe | seed | changed from configs/flagship.yaml | " + " | ".join(LANGS) + " | mean of 4 | "
             "overall by epoch | O bias chosen on validation: mean of 4 (per language) |",
             "|---|---|---|" + "---|" * (len(LANGS) + 3)]
    lines[1:1] = ["", f"![validation F1 by epoch, and each candidate's mean of 4 against the released seeds]({PLOT_FILE})"]
    candidates = [r for r in released_rows(seeds) if r["seed"] in {row["seed"] for row in rows}] + rows
    for row in candidates:
        val = row["validation_f1"]
        changed = ", ".join(f"{k} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                            for k, v in row["changed"].items()) or "-"
        lines.append(f"| {row['name']} | {row['seed']} | {changed} | " + " | ".join(f"{val[l]:.2f}" for l in LANGS)
                     + f" | {mean_of_4(row):.2f} | {', '.join(f'{c:.2f}' for c in row['curve'])} | "
                     + _calibrated(row.get("calibration")) + " |")
    return lines + [""]


def validation_curve(history: list[dict]) -> list[float]:
    """Pooled validation F1 after each epoch, in points."""
    return [100 * h["validation_f1"] for h in history]


def released_rows(seeds: list[dict]) -> list[dict]:
    """The released seeds as rows of the search: the model alone, like the candidates."""
    return [{"name": RELEASED, "seed": s["seed"], "changed": {}, "validation_f1": s["validation_without_gazetteer_f1"],
             "curve": validation_curve(s["history"]), "calibration": s.get("calibration")}
            for s in seeds]


def _calibrated(calibration: dict | None) -> str:
    if not calibration:
        return "-"
    f1 = calibration["f1"]
    return (f"{calibration['outside_bias']:g}: {statistics.mean(f1.values()):.2f} ("
            + ", ".join(f"{f1[lang]:.2f}" for lang in LANGS if lang in f1) + ")")


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f} (1 seed)"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def cpu_line() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU") \
        if Path("/proc/cpuinfo").is_file() else platform.processor()
    flags = cpu_flags()
    return (f"{model}, AVX512-BF16 {'yes' if 'avx512_bf16' in flags else 'no'}, "
            f"native bf16 {'yes' if cpu_has_native_bf16(flags) else 'no'}")


def render_results(seeds: list[dict], cpu: str, search: list[dict] = ()) -> str:
    n = len(seeds)
    lines = ["# pakner-e5-small: one multilingual e5-small for four languages", "",
             f"Seeds: {', '.join(str(s['seed']) for s in seeds)} ({n}). Test F1 is entity level (seqeval strict "
             "IOB2, word level) with BIO-valid (Viterbi) decoding, on the full test splits; the recipe "
             "(configs/flagship.yaml) was fixed before the test splits were scored.", "",
             "| language | test F1 | target | paper (GPU, Glot500/XLM-R-large) | published baseline | validation F1 |",
             "|---|---|---|---|---|---|"]
    for lang in LANGS:
        test = [s["test_f1"][lang] for s in seeds]
        val = [s["validation_f1"][lang] for s in seeds]
        lines.append(f"| {lang} | {_mean_std(test)} | ≥ {TARGETS[lang]:.0f} | {PAPER.get(lang, '-')} | "
                     f"{BASELINES.get(lang, '-')} | {_mean_std(val)} |")
    reviewed = [s["pashto_test_reviewed_f1"] for s in seeds]
    lines += [f"| pashto (`test_reviewed`, the authors' corrected test) | {_mean_std(reviewed)} | - | - | - | - |", "",
              "## Decoding: per-word argmax against BIO-valid Viterbi (test F1, the model alone)", "",
              "| language | argmax | Viterbi | difference |", "|---|---|---|---|"]
    for lang in LANGS:
        a = [s["test_argmax_f1"][lang] for s in seeds]
        v = [_test_alone(s)[lang] for s in seeds]  # argmax has no gazetteer
        lines.append(f"| {lang} | {_mean_std(a)} | {_mean_std(v)} | {statistics.mean(v) - statistics.mean(a):+.2f} |")
    lines += ["", "## Per type and precision against recall (test, mean over seeds)", "",
              "| language | type | P | R | F1 |", "|---|---|---|---|---|"]
    for lang in LANGS:
        lines.append(f"| {lang} | all | {statistics.mean(s['precision_recall'][lang]['precision'] for s in seeds):.2f} | "
                     f"{statistics.mean(s['precision_recall'][lang]['recall'] for s in seeds):.2f} | "
                     f"{statistics.mean(s['test_f1'][lang] for s in seeds):.2f} |")
        for etype in sorted(seeds[0]["per_type"][lang]):
            vals = {k: statistics.mean(s["per_type"][lang][etype][k] for s in seeds) for k in ("precision", "recall", "f1")}
            lines.append(f"| | {etype} | {vals['precision']:.2f} | {vals['recall']:.2f} | {vals['f1']:.2f} |")
    lines += ["", *render_sentences(seeds), *render_novelty(seeds), *render_bias(seeds), *render_gazetteer(seeds),
              "## Training", ""]
    for s in seeds:
        st = s["setup"]
        curve = ", ".join(f"{c:.2f}" for c in validation_curve(s["history"]))
        lines.append(f"- seed {s['seed']}: {st['train_sentences']:,} training sentences, {st['epochs_run']} epochs, "
                     f"{st['optimizer_steps']:,} steps, {st.get('train_words_per_second', 0):.0f} words/s, "
                     f"mixed precision `{st['mixed_precision']}`, {st.get('cpu_threads') or 'default'} threads, "
                     f"validation F1 by epoch: {curve}; best epoch {st['best_epoch']}")
    lines += [f"- CPU: {cpu}", ""]
    return "\n".join(lines + render_search(list(search), seeds))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        raise SystemExit("usage: python -m hubkit.experiments.flagship_report MODELS_DIR RESULTS_DIR")
    models, out = Path(argv[0]), Path(argv[1])
    dataset = str(models.parent / "pakner")
    committed = json.loads((out / "seeds.json").read_text()) if (out / "seeds.json").is_file() else {}
    folders = seed_folders(models)
    seeds = merge_by_seed(committed.get("seeds", []), [seed_numbers(f, dataset) for f in folders])
    if not seeds:
        raise SystemExit(f"no {RELEASE}-seed*/results.json under {models}: run `make flagship SEED=1` first")
    out.mkdir(parents=True, exist_ok=True)
    cpu = cpu_line() if folders else committed.get("cpu", cpu_line())
    notes = out / "notes.md"  # hand-written reading of the numbers, kept when the table is rewritten
    search = merge_search(committed.get("search", []), search_rows(models, seeds))
    text = render_results(seeds, cpu, search) + ("\n" + notes.read_text(encoding="utf-8") if notes.is_file() else "")
    (out / "RESULTS.md").write_text(text, encoding="utf-8")
    if search:
        plot_search(released_rows(seeds) + search, out / PLOT_FILE)
    public = [{k: v for k, v in s.items() if k != "setup"} | {"setup": _public_setup(s["setup"])} for s in seeds]
    (out / "seeds.json").write_text(json.dumps({"cpu": cpu, "seeds": public, "search": search}, indent=1) + "\n")
    print(f"wrote {out / 'RESULTS.md'} ({len(seeds)} seed(s))")
    release = models / RELEASE
    if (release / "results.json").is_file():
        write_release_card(release, dataset, seeds, cpu)
        print(f"wrote the card of {release}")
    return 0


def recipe_of(setup: dict) -> dict:
    # An empty list is an option left out: runs from before the option existed record nothing.
    return {k: setup.get(k) if setup.get(k) != [] else None for k in RECIPE_KEYS}


def merge_by_seed(committed: list[dict], scored: list[dict]) -> list[dict]:
    """The seeds scored here, with those committed in seeds.json whose folders are gone from this
    machine (weights are never committed); a committed seed of another recipe than the folders' is dropped."""
    recipes = {json.dumps(recipe_of(s["setup"]), sort_keys=True) for s in scored}
    here = {s["seed"] for s in scored}
    kept = [s for s in committed if s["seed"] not in here
            and (not recipes or json.dumps(recipe_of(s["setup"]), sort_keys=True) in recipes)]
    return sorted(kept + scored, key=lambda s: s["seed"])


def merge_search(committed: list[dict], scored: list[dict]) -> list[dict]:
    """Search rows scored here, and the committed ones whose folders are gone (same name and seed: the new one)."""
    here = {(r["name"], r["seed"]) for r in scored}
    return sorted([r for r in committed if (r["name"], r["seed"]) not in here] + scored, key=lambda r: (r["name"], r["seed"]))


def render_bias(seeds: list[dict]) -> list[str]:
    """Test F1 without and with the O bias chosen on validation, for the seeds that have one."""
    seeds = [s for s in seeds if s.get("test_without_bias_f1")]
    if not seeds:
        return []
    lines = ["## O bias chosen on validation (`hubkit calibrate`): test F1 of the model alone without and with it", "",
             "| language | bias 0 | chosen bias | difference |", "|---|---|---|---|"]
    for lang in LANGS:
        a = [s["test_without_bias_f1"][lang] for s in seeds]
        b = [_test_alone(s)[lang] for s in seeds]  # bias 0 has no gazetteer either
        lines.append(f"| {lang} | {_mean_std(a)} | {_mean_std(b)} | {statistics.mean(b) - statistics.mean(a):+.2f} |")
    biases = ", ".join(f"seed {s['seed']}: {s['calibration']['outside_bias']:g}" for s in seeds if s.get("calibration"))
    return lines + ["", f"Bias chosen: {biases}.", ""]


def _test_alone(seed: dict) -> dict:
    """Test F1 per language of the model without its gazetteer (the same as test_f1 when it has none)."""
    return seed.get("test_without_gazetteer_f1") or seed["test_f1"]


def render_gazetteer(seeds: list[dict]) -> list[str]:
    """Test F1 of the model alone and with its gazetteer (hubkit gazetteer), with the validation
    figures the choice was made on, for the seeds that have one."""
    seeds = [s for s in seeds if s.get("test_without_gazetteer_f1")]
    if not seeds:
        return []
    lines = ["## Gazetteer chosen on validation (`hubkit gazetteer`): F1 of the model alone and with it", "",
             "| language | mode, share and O bias chosen (per seed) | validation: alone | validation: with it | test: alone "
             "| test: with it | test difference |", "|---|---|---|---|---|---|---|"]
    for lang in LANGS:
        chosen = [s["gazetteer"].get(lang) for s in seeds]
        shares = "; ".join(describe_choice(c) if c else "none" for c in chosen)
        val_alone = [c["model_f1"] for c in chosen if c]
        val_filled = [c["gazetteer_f1"] for c in chosen if c]
        a = [s["test_without_gazetteer_f1"][lang] for s in seeds]
        b = [s["test_f1"][lang] for s in seeds]
        lines.append(f"| {lang} | {shares} | {_mean_std(val_alone) if val_alone else '-'} | "
                     f"{_mean_std(val_filled) if val_filled else '-'} | {_mean_std(a)} | {_mean_std(b)} | "
                     f"{statistics.mean(b) - statistics.mean(a):+.2f} |")
    return lines + [""]


def render_sentences(seeds: list[dict]) -> list[str]:
    """Where the errors are: sentences without a gold entity against those with one (mean over the
    seeds that have the breakdown)."""
    seeds = [s for s in seeds if s.get("test_sentences")]
    if not seeds:
        return []

    def mean(lang, key):
        return statistics.mean(s["test_sentences"][lang][key] for s in seeds)

    names = ", ".join(str(s["seed"]) for s in seeds)
    lines = [f"## Which sentences (test, Viterbi, seed{'s' * (len(seeds) > 1)} {names})", "",
             "| language | sentences | without a gold entity | of those, tagged with one or more | share of predicted "
             "entities in them (all false positives) | F1 on all | F1 on the sentences with a gold entity |",
             "|---|---|---|---|---|---|---|"]
    for lang in LANGS:
        empty = mean(lang, "without_entities")
        lines.append(f"| {lang} | {mean(lang, 'sentences'):,.0f} | {empty:,.0f} | "
                     f"{100 * mean(lang, 'tagged_without_entities') / max(empty, 1):.1f}% | "
                     f"{100 * mean(lang, 'predicted_in_sentences_without_entities') / max(mean(lang, 'predicted'), 1):.1f}% | "
                     f"{statistics.mean(s['test_f1'][lang] for s in seeds):.2f} | {mean(lang, 'f1_sentences_with_entities'):.2f} |")
    return lines + [""]


def render_novelty(seeds: list[dict]) -> list[str]:
    """Test mentions seen in training against new ones, and recall on each (mean over the seeds that have it)."""
    seeds = [s for s in seeds if s.get("test_novelty")]
    if not seeds:
        return []
    names = ", ".join(str(s["seed"]) for s in seeds)
    lines = [f"## Entities seen in training against new ones (test, Viterbi, seed{'s' * (len(seeds) > 1)} {names})", "",
             "A test mention is seen when the same words with the same type are an entity in the language's train split.", "",
             "| language | type | test mentions | seen in train | recall on seen | recall on new |", "|---|---|---|---|---|---|"]
    for lang in LANGS:
        for etype, c in sorted(seeds[0]["test_novelty"][lang].items()):
            recall = {k: statistics.mean(s["test_novelty"][lang][etype][k] for s in seeds) for k in ("recall_seen", "recall_new")}
            lines.append(f"| {lang} | {etype} | {c['gold']:,} | {100 * c['seen'] / max(c['gold'], 1):.1f}% | "
                         f"{recall['recall_seen']:.2f} | {recall['recall_new']:.2f} |")
    return lines + [""]


def write_release_card(folder: Path, dataset: str, seeds: list[dict], cpu: str) -> None:
    """The released folder's README.md: its own scores (model-index, test_reviewed too) and the seeds' mean."""
    from hubkit.hub.cards import write_model_card

    import yaml

    recipe = yaml.safe_load(RECIPE_FILE.read_text(encoding="utf-8"))
    results = json.loads((folder / "results.json").read_text())
    results["model"] = RELEASE
    results["setup"] = _public_setup(results["setup"])
    extra = extra_results(folder, dataset)
    reviewed = extra["pashto_test_reviewed"]
    if extra.get("test_viterbi"):  # as the folder decodes now (a bias set after training too)
        results["test"] = extra["test_viterbi"]
    bias = folder_outside_bias(folder)
    results["extra_evaluations"] = [{"language": "pashto", "split": "test_reviewed", "overall": reviewed["overall"],
                                     "note": "The paper authors' corrected Pashto test set."}]
    rows = [f"| {lang} | {_mean_std([s['test_f1'][lang] for s in seeds])} | ≥ {TARGETS[lang]:.0f} | "
            f"{PAPER.get(lang, '-')} |" for lang in LANGS]
    hours = results["setup"].get("train_words_per_second")
    results["release_notes"] = [
        "## The release", "",
        "Recipe (`configs/flagship.yaml`, chosen before scoring the test splits): e5-small with its "
        "vocabulary trimmed to the corpora's train and validation text (`hubkit trim-vocab`: 250,002 -> "
        f"{json.loads((folder / 'config.json').read_text())['vocab_size']:,} pieces; word embeddings trained), "
        "the four languages' full training splits together"
        + (f", resampled with temperature {recipe['sampling_temperature']:g}" if recipe.get("sampling_temperature") else "")
        + f", sentences without an entity kept at {recipe.get('keep_sentences_without_entities', 1):.0%}, "
        f"{recipe.get('num_train_epochs')} epochs at learning rate {recipe.get('learning_rate')}, "
        "BIO-valid (Viterbi) decoding"
        + (f" with {bias:g} added to the O label's log-probability (chosen on validation, `hubkit calibrate`; "
           "stored in config.json as `hubkit_outside_bias`, which `transformers.pipeline` does not apply)." if bias
           else "."), *_gazetteer_note(gazetteer_of(folder)), "",
        f"Test F1 over {len(seeds)} seed(s) of the same recipe (this folder is seed {results['setup']['seed']}):", "",
        "| language | test F1 | target | paper (GPU models) |", "|---|---|---|---|", *rows, "",
        f"Trained on {cpu}, {results['setup'].get('cpu_threads') or 'default'} threads, mixed precision "
        f"`{results['setup']['mixed_precision']}`, {hours or 0:.0f} training words/s.",
        "Full figures, per type and decoding: `results/flagship/RESULTS.md` in the hubkit repository."]
    (folder / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    write_model_card(folder, results)


def _gazetteer_note(gazetteer: dict | None) -> list[str]:
    if not gazetteer:
        return []
    kept = ", ".join(f"{lang} ({describe_choice(g)}; validation F1 {g['model_f1']:.2f} -> "
                     f"{g['gazetteer_f1']:.2f})" for lang, g in gazetteer.items())
    return ["", f"The model's tags are combined with `{GAZETTEER_FILE}`: the train split's names, per language, "
            "filling the words the model leaves untagged (fill) or replacing the entities they overlap (override; "
            "override-nested: except where the name lies inside a longer entity of the model), "
            "with an O bias for the language chosen together with them, "
            f"kept where validation F1 rose (`hubkit gazetteer`): {kept}. `hubkit tag`, `hubkit evaluate` "
            "and the Space apply it (`--no-gazetteer` / `--no_gazetteer` to tag with the model alone); "
            "`transformers.pipeline` does not."]


def _public_setup(setup: dict) -> dict:
    """No local absolute paths in what is committed or published."""
    return {k: (Path(v).name if isinstance(v, str) and v.startswith("/") else v) for k, v in setup.items()}


if __name__ == "__main__":
    sys.exit(main())
