"""Cluster-based cross-lingual augmentation on the real corpora: bank, vectors, clusters, candidates, ranking.

Kept fast: Urdu and Shahmukhi are cut to their first 3,000 training sentences and FastText uses
32 dimensions and 3 epochs (~3 s).
"""

import argparse
import json
import logging

import datasets
import numpy as np
import pytest

from hubkit.augment import rank
from hubkit.augment.candidates import (MODES, Pools, add_cli, generate_candidates, load_train_sets, run_augmentation, sentence_candidates)
from hubkit.augment.bank import Bank, build_bank
from hubkit.augment.clusters import (Clustering, align_clusters, cluster_bank, cluster_points, default_sources, parse_sources, write_report)
from hubkit.augment.embeddings import FastTextParams, load_vectors, mention_matrix, mention_vector, train_fasttext
from hubkit.data.labels import LABELS, entity_spans
from hubkit.augment.orthography import FOREIGN_LETTERS, to_orthography

LANGS = ["urdu", "shahmukhi", "sindhi", "pashto"]
SMALL_FT = FastTextParams(vector_size=32, epochs=3, bucket=50_000)
SUBSAMPLE = 3000
# Measured (Urdu, first 3,000 sentences, SMALL_FT): PER+LOC mentions in K=2 clusters have a
# frequency-weighted type purity of 0.724 (K=4: 0.771), against 0.514 for one cluster (the
# majority share). With all 20,000 sentences and the default vectors (100 dims, 5 epochs): 0.777.
# 0.65 sits well clear of chance and fails if vectors stop separating names from places.
PURITY_FLOOR = 0.65


def _tags(ids):
    return [LABELS[i] for i in ids]


def _valid_bio(tags):
    prev = "O"
    for t in tags:
        if t.startswith("I-") and prev[2:] != t[2:]:
            return False
        prev = t
    return True


@pytest.fixture(scope="module")
def train_sets(real_data_dir):
    sets = load_train_sets(LANGS, real_data_dir)
    for lang in ("urdu", "shahmukhi"):
        sets[lang] = sets[lang].select(range(SUBSAMPLE))
    return sets


@pytest.fixture(scope="module")
def pipeline(train_sets, tmp_path_factory):
    bank = build_bank(train_sets)
    kv = train_fasttext([t for ds in train_sets.values() for t in ds["tokens"]], SMALL_FT,
                        cache_dir=tmp_path_factory.mktemp("ft"))
    clustering = cluster_bank(bank, kv, k=4, seed=0, progress=False)
    sources = default_sources(LANGS)
    alignment = align_clusters(clustering, sources, threshold=0.3)
    pools = Pools("cluster", clustering=clustering, alignment=alignment, bank=bank, sources=sources)
    cands = {lang: generate_candidates(ds, lang, pools, n=5, seed=0, progress=False)
             for lang, ds in train_sets.items()}
    return dict(bank=bank, kv=kv, clustering=clustering, alignment=alignment, sources=sources, pools=pools,
                cands=cands)


# ---------------------------------------------------------------- bank

def _sentences(rows, lang="urdu", split=None):
    return datasets.Dataset.from_dict({"id": [f"{lang}/{i}" for i in range(len(rows))],
                                       "tokens": [r[0] for r in rows], "ner_tags": [r[1] for r in rows]}, split=split)


def test_bank_never_sees_validation_or_test():
    train = _sentences([(["احمد", "لاہور", "گیا"], [1, 0, 0]), (["کراچی", "بڑا", "ہے"], [5, 0, 0]),
                        (["بلال", "آیا"], [1, 0])])
    val = _sentences([(["زیدان", "آیا"], [1, 0])], split="validation")
    dd = datasets.DatasetDict({"train": train, "validation": val, "test": val})
    bank = build_bank({"urdu": dd})
    surfaces = {e.surface for g in bank.groups.values() for e in g.values()}
    assert surfaces == {("احمد",), ("کراچی",), ("بلال",)}
    assert bank.entries("urdu", "PER")[0].sentence_ids == ["urdu/0"]
    with pytest.raises(ValueError, match="validation.*training splits only"):
        build_bank({"urdu": val})
    with pytest.raises(ValueError, match="no 'train' split"):
        build_bank({"urdu": datasets.DatasetDict({"validation": val})})
    # and nothing from validation reaches the augmented rows
    out = run_augmentation({"urdu": dd}, mode="random", n_candidates=3, seed=0, policy="all", progress=False)[0]
    assert out["urdu"]["tokens"] == [["بلال", "لاہور", "گیا"], ["احمد", "آیا"]]
    assert not any("زیدان" in toks for toks in out["urdu"]["tokens"])


def test_bank_of_built_pashto_excludes_heldout_entities(real_data_dir, tmp_path):
    from hubkit.data.build import build_pakner

    build_pakner(real_data_dir, tmp_path / "pakner", progress=False, corpus_names=["pashto-wikiann"])
    dd = datasets.load_dataset(str(tmp_path / "pakner"), "pashto")
    bank = build_bank({"pashto": dd})

    def surfaces(ds):
        return {tuple(toks[s:e]) for toks, tags in zip(ds["tokens"], ds["ner_tags"])
                for _, s, e in entity_spans(_tags(tags))}

    held_out = (surfaces(dd["validation"]) | surfaces(dd["test"])) - surfaces(dd["train"])
    in_bank = {e.surface for g in bank.groups.values() for e in g.values()}
    assert len(held_out) > 50  # the check below means something
    assert not held_out & in_bank
    assert in_bank == surfaces(dd["train"])
    with pytest.raises(ValueError, match="training splits only"):
        build_bank({"pashto": dd["test"]})


def test_bank_rejects_bad_rows():
    bad = _sentences([(["احمد", "گیا"], [1])])
    with pytest.raises(ValueError, match="urdu sentence urdu/0: 2 tokens but 1 tags"):
        build_bank({"urdu": bad})
    bad = _sentences([(["احمد"], [9])])
    with pytest.raises(ValueError, match="urdu sentence urdu/0: tag id outside"):
        build_bank({"urdu": bad})


def test_bank_save_load(pipeline, tmp_path):
    bank = pipeline["bank"]
    loaded = Bank.load(bank.save(tmp_path / "bank.json"))
    assert loaded.summary() == bank.summary()
    assert bank.summary()["pashto"]["PER"]["mentions"] == 32  # the corpus README's B-PER count


# ---------------------------------------------------------------- vectors and clusters

def test_fasttext_is_deterministic_and_cached(train_sets, tmp_path, caplog):
    sents = list(train_sets["pashto"]["tokens"]) + list(train_sets["sindhi"]["tokens"])[:500]
    with caplog.at_level(logging.INFO, logger="gensim"):  # a caller who asks for gensim's INFO lines
        a = train_fasttext(sents, SMALL_FT)
        assert logging.getLogger("gensim").level == logging.INFO  # quieted while training only
    assert not [r for r in caplog.records if r.name.startswith("gensim")]  # the epoch bar speaks instead
    b = train_fasttext(sents, SMALL_FT, cache_dir=tmp_path)
    assert np.array_equal(a.vectors, b.vectors) and np.array_equal(a.vectors_ngrams, b.vectors_ngrams)
    assert len(list(tmp_path.glob("fasttext-*.kv"))) == 1
    c = train_fasttext(sents, SMALL_FT, cache_dir=tmp_path)  # loaded from the cache
    assert np.array_equal(c["نامعلومنوم"], a["نامعلومنوم"])  # OOV word: vector from n-grams
    d = train_fasttext(sents, FastTextParams(vector_size=32, epochs=3, bucket=50_000, seed=1))
    assert not np.array_equal(a.vectors, d.vectors)


def test_user_vectors(pipeline, tmp_path):
    kv = pipeline["kv"]
    path = tmp_path / "vectors.vec"
    kv.save_word2vec_format(str(path))
    user = load_vectors(path)
    words = ["کابل", "پاکستان"]
    assert np.allclose(mention_vector(user, words), mention_vector(kv, words), atol=1e-5)
    assert mention_vector(user, ["zzzz-not-a-word"]) is None
    with pytest.raises(ValueError, match="unknown vectors format"):
        load_vectors(tmp_path / "x.csv") if (tmp_path / "x.csv").write_text("a") else None
    with pytest.raises(FileNotFoundError):
        load_vectors(tmp_path / "missing.bin")


def test_cluster_type_purity_on_urdu(pipeline):
    bank, kv = pipeline["bank"], pipeline["kv"]
    ents = [(e, t) for t in ("PER", "LOC") for e in bank.entries("urdu", t)]
    x, kept = mention_matrix(kv, [e.surface for e, _ in ents])
    y = np.array([0 if ents[i][1] == "PER" else 1 for i in kept])
    w = np.array([ents[i][0].freq for i in kept])
    labels, _ = cluster_points(x, w, k=2, seed=0)
    purity = sum(np.bincount(y[labels == c], weights=w[labels == c], minlength=2).max() for c in set(labels)) / w.sum()
    majority = np.bincount(y, weights=w).max() / w.sum()
    print(f"Urdu PER+LOC, K=2: purity {purity:.3f} (majority share {majority:.3f}, {len(y)} forms)")
    assert purity >= PURITY_FLOOR > majority + 0.1


def test_clusters_and_alignment(pipeline):
    cl, al = pipeline["clustering"], pipeline["alignment"]
    assert set(cl.groups) == {(l, t) for l in LANGS for t in ("PER", "LOC", "ORG")}
    for (lang, etype), g in cl.groups.items():
        assert g.k <= 4 and sum(g.sizes()) == len(g.surfaces) and min(g.sizes()) > 0
        assert np.allclose(np.linalg.norm(g.centroids, axis=1), 1, atol=1e-5)
        for c in range(g.k):
            links = al[(lang, etype, c)]
            assert links[0].source_lang == lang and links[0].cluster == c
            for link in links[1:]:
                assert link.source_lang in pipeline["sources"][lang] and link.cosine >= 0.3
    assert not any(l.source_lang != "urdu" for (lang, _, _), v in al.items() for l in v if l.source_lang != lang)
    assert sum(len(v) - 1 for v in al.values()) > 0  # Urdu feeds someone


def test_k_by_silhouette():
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3] * 5
    x = np.concatenate([c + rng.normal(0, 0.1, (40, 8)) for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels, sil = cluster_points(x, np.ones(len(x)), k=None, k_range=(2, 3, 4, 6), seed=0)
    assert len(set(labels.tolist())) == 3 and sil > 0.8
    # above the size threshold MiniBatchKMeans takes over and finds the same three groups
    mb, _ = cluster_points(x, np.ones(len(x)), k=3, seed=0, minibatch_threshold=50)
    assert len(set(zip(labels.tolist(), mb.tolist()))) == 3


def test_save_load_and_report(pipeline, tmp_path):
    cl = pipeline["clustering"]
    loaded = Clustering.load(cl.save(tmp_path / "clusters"))
    for key, g in cl.groups.items():
        h = loaded.groups[key]
        assert h.surfaces == g.surfaces and np.array_equal(h.labels, g.labels) and np.allclose(h.centroids, g.centroids)
    paths = write_report(cl, pipeline["alignment"], tmp_path / "report")
    names = {p.name for p in paths}
    assert names == {"clusters.md", "clusters_review.csv", "projection-PER.png", "projection-LOC.png",
                     "projection-ORG.png"}
    assert all(p.stat().st_size > 0 for p in paths)
    csv_lines = (tmp_path / "report" / "clusters_review.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0] == "lang,type,cluster,size,top members,pure (y/n),notes"
    assert len(csv_lines) == 1 + sum(g.k for g in cl.groups.values())
    assert "## urdu PER: K=4" in (tmp_path / "report" / "clusters.md").read_text(encoding="utf-8")


def test_parse_sources():
    assert parse_sources("pashto=urdu,sindhi", LANGS)["pashto"] == ["pashto", "urdu", "sindhi"]
    assert parse_sources("", LANGS) == default_sources(LANGS)
    with pytest.raises(ValueError, match="unknown language 'arabic'"):
        parse_sources("pashto=arabic", LANGS)


# ---------------------------------------------------------------- candidates

def _rebuild(orig_tokens, reps):
    """The original with each replacement applied: must equal the candidate exactly."""
    out, pos = [], 0
    for r in sorted(reps, key=lambda r: r["start"]):
        assert orig_tokens[r["start"]:r["start"] + len(r["old"])] == r["old"]
        out += orig_tokens[pos:r["start"]] + r["new"]
        pos = r["start"] + len(r["old"])
    return out + orig_tokens[pos:]


def test_candidates_change_only_replaced_spans(train_sets, pipeline):
    cl, al, sources = pipeline["clustering"], pipeline["alignment"], pipeline["sources"]
    member_sets = {}

    def members(src_lang, etype, c, lang):
        key = (src_lang, etype, c, lang)
        if key not in member_sets:
            sg = cl.groups[(src_lang, etype)]
            member_sets[key] = {tuple(to_orthography(t, src_lang, lang) for t in sg.surfaces[i]) for i in sg.members(c)}
        return member_sets[key]

    for lang, cands in pipeline["cands"].items():
        ds = train_sets[lang]
        by_id = {sid: (toks, tags) for sid, toks, tags in zip(ds["id"], ds["tokens"], ds["ner_tags"])}
        with_entities = sum(1 for tags in ds["ner_tags"] if any(tags))
        assert len(cands) > 0.5 * with_entities * 5 if lang != "urdu" else len(cands) > 0.9 * with_entities * 5
        seen = set()
        for c in cands:
            toks, tags = by_id[c.orig_id]
            assert c.tokens and all(t for t in c.tokens)
            assert len(c.tokens) == len(c.ner_tags) and _valid_bio(_tags(c.ner_tags))
            assert (c.tokens, c.ner_tags) != (toks, list(tags))
            key = (c.orig_id, tuple(c.tokens), tuple(c.ner_tags))
            assert key not in seen
            seen.add(key)
            assert c.tokens == _rebuild(toks, c.replacements)
            # context words are the original words, letter for letter (no ک -> ڪ slip)
            spans = entity_spans(_tags(tags))
            for r in c.replacements:
                assert r["new"] and r["new"] != r["old"]
                etype = next(t for t, s, e in spans if s == r["start"])
                old_cluster = cl.groups[(lang, etype)].cluster_of(r["old"])
                allowed = {cl.groups[(l.source_lang, etype)].cluster_id(l.cluster) for l in al[(lang, etype, old_cluster)]}
                assert r["cluster"] in allowed
                assert r["source_lang"] in sources[lang]
                src_lang, _, src_c = r["cluster"].split("/")
                assert src_lang == r["source_lang"]
                assert tuple(r["new"]) in members(src_lang, etype, int(src_c), lang)
                if r["source_lang"] != lang:
                    assert not set("".join(r["new"])) & FOREIGN_LETTERS[lang], r
        per_sentence = {}
        for c in cands:
            per_sentence[c.orig_id] = per_sentence.get(c.orig_id, 0) + 1
        assert max(per_sentence.values()) == 5


def test_cross_lingual_replacements_happen(pipeline):
    for lang in ("shahmukhi", "sindhi", "pashto"):
        srcs = {r["source_lang"] for c in pipeline["cands"][lang] for r in c.replacements}
        assert srcs == {lang, "urdu"}, (lang, srcs)
    # Urdu ک inserted into Sindhi comes out as ڪ, and Sindhi's own context ک (kh) stays
    sindhi = [c for c in pipeline["cands"]["sindhi"] if any(r["source_lang"] == "urdu" for r in c.replacements)]
    new_words = "".join(w for c in sindhi for r in c.replacements if r["source_lang"] == "urdu" for w in r["new"])
    assert "\u06aa" in new_words and "\u06cc" not in new_words


def test_same_seed_same_output(train_sets, pipeline):
    ds = train_sets["pashto"]
    again = generate_candidates(ds, "pashto", pipeline["pools"], n=5, seed=0, progress=False)
    assert [(c.tokens, c.ner_tags, c.replacements) for c in again] == \
           [(c.tokens, c.ner_tags, c.replacements) for c in pipeline["cands"]["pashto"]]
    other = generate_candidates(ds, "pashto", pipeline["pools"], n=5, seed=1, progress=False)
    assert [c.tokens for c in other] != [c.tokens for c in again]


def test_augment_corpus_is_deterministic(train_sets):
    sets = {"sindhi": train_sets["sindhi"].select(range(300)), "pashto": train_sets["pashto"]}
    kwargs = dict(mode="cluster", n_candidates=5, seed=3, k=3, align_threshold=0.3, policy="all",
                  fasttext_params=SMALL_FT, progress=False)
    a, b = run_augmentation(sets, **kwargs)[0], run_augmentation(sets, **kwargs)[0]
    assert all(a[lang].to_dict() == b[lang].to_dict() for lang in sets)
    assert len(a["pashto"]) > 0


def test_multi_token_replacement_rebuilds_bio(pipeline):
    multi = [c for cands in pipeline["cands"].values() for c in cands
             for r in c.replacements if len(r["new"]) != len(r["old"])]
    assert multi
    for c in multi:
        spans = entity_spans(_tags(c.ner_tags))
        pos, shift = 0, 0
        for r in sorted(c.replacements, key=lambda r: r["start"]):
            start = r["start"] + shift
            assert any(s == start and e == start + len(r["new"]) for _, s, e in spans)
            shift += len(r["new"]) - len(r["old"])


def test_sentence_without_entities_or_pool():
    pools = Pools("random", bank=build_bank({"urdu": _sentences([(["احمد"], [1])])}), sources={"urdu": ["urdu"]})
    assert sentence_candidates("x", "urdu", ["کچھ", "نہیں"], [0, 0], pools, 5, 0) == []
    # the only PER is the sentence's own name: nothing else to put there
    assert sentence_candidates("y", "urdu", ["احمد"], [1], pools, 5, 0) == []


def test_random_and_none_modes(train_sets):
    sets = {"pashto": train_sets["pashto"], "urdu": train_sets["urdu"].select(range(300))}
    none = run_augmentation(sets, mode="none", n_candidates=5, seed=0)[0]
    assert set(none) == set(sets) and all(len(d) == 0 for d in none.values())
    assert "replacements" in none["pashto"].column_names
    out = run_augmentation(sets, mode="random", n_candidates=5, seed=0, policy="all", progress=False)[0]
    assert len(out["pashto"]) > 400
    for reps in out["pashto"]["replacements"]:
        assert all(r["cluster"] == "" and r["source_lang"] in ("pashto", "urdu") for r in reps)
    with pytest.raises(ValueError, match="mode must be one of"):
        run_augmentation(sets, mode="clusters")[0]
    assert MODES == ("cluster", "random", "none")


# ---------------------------------------------------------------- ranking

@pytest.fixture(scope="module")
def tiny_bert(train_sets, tmp_path_factory):
    """A random BERT-style token classifier (hidden 32, 2 layers) with a WordPiece tokenizer trained here."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForTokenClassification, PreTrainedTokenizerFast

    from hubkit.data.labels import ID2LABEL, LABEL2ID

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([" ".join(t) for ds in train_sets.values() for t in ds["tokens"][:1000]],
                            trainers.WordPieceTrainer(vocab_size=1500, special_tokens=special, show_progress=False))
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=128)
    config = BertConfig(vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=len(LABELS),
                        id2label=dict(ID2LABEL), label2id=dict(LABEL2ID))
    torch.manual_seed(0)
    model = BertForTokenClassification(config)
    folder = tmp_path_factory.mktemp("tiny-bert")
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder, model, fast


def test_sentence_f1_matches_seqeval():
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"], ["B-LOC", "I-LOC"], ["O", "O"], ["B-PER"]]
    pred = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "O"], ["B-LOC", "O"], ["O", "O"], ["O"]]
    got = rank.sentence_f1(gold, pred)
    for g, p, s in zip(gold, pred, got):
        if any(t != "O" for t in g + p):
            assert s == pytest.approx(f1_score([g], [p], mode="strict", scheme=IOB2))
    assert got[3] == 1.0  # no entity on either side: defined as agreement
    assert got == pytest.approx([2 / 3, 1.0, 0.0, 1.0, 0.0])


def test_rank_policies_with_tiny_model(pipeline, tiny_bert):
    folder, model, tok = tiny_bert
    cands = [c for c in pipeline["cands"]["pashto"]]
    for c in cands:
        c.score = None
    scores = rank.score_candidates(cands, str(folder), batch_size=32, progress=False)
    assert len(scores) == len(cands) and all(0.0 <= s <= 1.0 for s in scores)
    # dedupe: the same token list twice is tagged once (the model sees 2 rows, not 3)
    rows = []
    hook = model.register_forward_hook(lambda mod, args, kwargs_out: rows.append(kwargs_out.logits.shape[0]))
    try:
        preds = rank.predict((model, tok), [cands[0].tokens, cands[1].tokens, cands[0].tokens], progress=False)
    finally:
        hook.remove()
    assert sum(rows) == 2
    assert preds[0] == preds[2] and len(preds[1]) == len(cands[1].tokens)
    x1, x2 = rank.select(cands, "x1"), rank.select(cands, "x2")
    assert len(x1) == len({c.orig_id for c in cands}) and len(x2) <= 2 * len(x1)
    for c in x1:
        assert c.score == max(d.score for d in cands if d.orig_id == c.orig_id)
    assert all(c.score == 1.0 for c in rank.select(cands, "all-correct"))


def test_rank_can_reject_everything(pipeline, tiny_bert):
    """A model that tags every word O reads no entity back: every candidate scores 0, all-correct keeps none."""
    import copy

    import torch

    _, model, tok = tiny_bert
    always_o = copy.deepcopy(model)
    with torch.no_grad():
        always_o.classifier.bias.zero_()
        always_o.classifier.bias[0] = 100.0
    cands = copy.deepcopy(pipeline["cands"]["pashto"][:40])
    assert rank.score_candidates(cands, (always_o, tok), progress=False) == [0.0] * 40
    assert rank.select(cands, "all-correct") == []
    assert len(rank.select(cands, "x1")) == len({c.orig_id for c in cands})


def test_augment_corpus_with_model(train_sets, tiny_bert, tmp_path):
    folder, _, _ = tiny_bert
    sets = {"pashto": train_sets["pashto"], "sindhi": train_sets["sindhi"].select(range(200))}
    out, summary = run_augmentation(sets, mode="cluster", n_candidates=3, seed=0, k=3, align_threshold=0.2,
                                    sources={"pashto": ["pashto", "sindhi"], "sindhi": ["sindhi"]},
                                    model=str(folder), policy="x2", cache_dir=tmp_path / "cache",
                                    report_dir=tmp_path / "report", fasttext_params=SMALL_FT, progress=False)
    ps = out["pashto"]
    assert set(ps.column_names) >= {"id", "tokens", "ner_tags", "orig_id", "replacements", "rank_score", "policy"}
    assert ps.features["ner_tags"].feature.names == LABELS
    assert all(s is not None for s in ps["rank_score"]) and set(ps["policy"]) == {"x2"}
    counts = {}
    for o in ps["orig_id"]:
        counts[o] = counts.get(o, 0) + 1
    assert max(counts.values()) == 2
    assert {r["source_lang"] for reps in ps["replacements"] for r in reps} <= {"pashto", "sindhi"}
    assert set(summary["times_s"]) == {"bank", "embeddings", "clusters", "alignment", "candidates", "ranking"}
    assert (tmp_path / "report" / "clusters_review.csv").exists()
    assert (tmp_path / "report" / "clusters" / "clusters.json").exists()
    with pytest.raises(ValueError, match="all-correct.*needs a NER model"):
        run_augmentation(sets, policy="all-correct")


# ---------------------------------------------------------------- CLI

def test_cli_help_and_run(real_data_dir, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="hubkit")
    sub = parser.add_subparsers(dest="verb")
    add_cli(sub)
    with pytest.raises(SystemExit):
        parser.parse_args(["augment", "--help"])
    text = capsys.readouterr().out
    for flag in ("--data-dir", "--dataset", "--languages", "--mode", "--n-candidates", "--policy", "--k", "--seed",
                 "--model", "--out", "--report-dir"):
        assert flag in text
    args = parser.parse_args(["augment", "--data-dir", str(real_data_dir), "--languages", "pashto", "--mode", "random",
                              "--policy", "x1", "--out", str(tmp_path / "out")])
    assert args.func(args) == 0
    ds = datasets.Dataset.from_parquet(str(tmp_path / "out" / "pashto" / "train_aug.parquet"))
    assert len(ds) == 100  # every Pashto training sentence has an entity: one candidate each under x1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["candidates"]["pashto"] == 500
