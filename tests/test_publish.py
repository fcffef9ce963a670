"""End to end over HTTP: hubkit.hub.publish -> local Hub-compatible server -> datasets/transformers.

No mocks: the real huggingface_hub client uploads (preupload, LFS batch + PUT + verify, ndjson
commit), and fresh interpreters load with the real `datasets` / `transformers` from the server.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import pytest

from hubkit.data.labels import LABELS
from hubkit.hub.publish import PublishAuthError, PublishError, add_cli, publish
from tests.hub_fixtures import hub_server  # noqa: F401  (the fixture)

# Perso-Arabic script sentences with BIO tags (ids in the LABELS order).
SHAHMUKHI = [
    (["علامہ", "اقبال", "سیالکوٹ", "وچ", "جمے"], [1, 2, 5, 0, 0]),
    (["لہور", "پنجاب", "دا", "راجگڑھ", "اے"], [5, 5, 0, 0, 0]),
    (["پنجاب", "یونیورسٹی", "لہور", "وچ", "اے"], [3, 4, 5, 0, 0]),
    (["وارث", "شاہ", "نے", "ہیر", "لکھی"], [1, 2, 0, 0, 0]),
    (["بلھے", "شاہ", "قصور", "وچ", "رہندے", "سن"], [1, 2, 5, 0, 0, 0]),
    (["اج", "مینہ", "پیا"], [0, 0, 0]),
]
PASHTO = [
    (["حامد", "کرزی", "د", "افغانستان", "ولسمشر", "و"], [1, 2, 0, 5, 0, 0]),
    (["کابل", "پوهنتون", "په", "کابل", "کې", "دی"], [3, 4, 0, 5, 0, 0]),
    (["خوشحال", "خان", "خټک", "شاعر", "و"], [1, 2, 2, 0, 0]),
    (["پېښور", "ښار", "دی"], [5, 0, 0]),
]
SPLITS = ("train", "validation", "test")
# huggingface_hub's own LFS PUT passes a file object as `data=`: httpx2 warns, not our code
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def card(configs: list[str]) -> str:
    lines = ["---", "license: cc-by-4.0", "language: [pnb, ps]", "task_categories: [token-classification]",
             "configs:"]
    for i, config in enumerate(configs):
        lines += [f"- config_name: {config}"] + (["  default: true"] if i == 0 else []) + ["  data_files:"]
        lines += [f"  - split: {s}\n    path: {config}/{s}-*.parquet" for s in SPLITS]
    return "\n".join(lines + ["---", "", "# test corpus", "", "NER rows in Shahmukhi and Pashto.", ""])


def rows_for(lang: str, split: str, version: int) -> list[dict]:
    base = SHAHMUKHI if lang == "shahmukhi" else PASHTO
    n = {"train": len(base), "validation": 2, "test": 3}[split]
    out = []
    for i in range(n):
        tokens, tags = base[(i + SPLITS.index(split)) % len(base)]
        tokens = list(tokens) + (["نواں"] * (version - 1))  # a later version changes the content
        tags = list(tags) + [0] * (version - 1)
        out.append({"id": f"{lang}-{split}-{i}", "tokens": tokens, "ner_tags": tags, "lang": lang,
                    "source": "hubkit-test"})
    return out


def as_dataset(rows: list[dict]):
    import datasets

    datasets.disable_progress_bars()
    return datasets.Dataset.from_list(rows, features=datasets.Features({
        "id": datasets.Value("string"),
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=LABELS)),
        "lang": datasets.Value("string"),
        "source": datasets.Value("string"),
    }))


def write_dataset_repo(folder: Path, version: int = 1, train_shards: int = 3) -> Path:
    """A folder laid out as the Hub dataset repo: README.md (YAML configs) + parquet shards."""
    for lang in ("shahmukhi", "pashto"):
        shutil.rmtree(folder / lang, ignore_errors=True)
        (folder / lang).mkdir(parents=True)
        for split in SPLITS:
            ds = as_dataset(rows_for(lang, split, version))
            n = train_shards if split == "train" else 1
            for i in range(n):
                shard = ds.shard(num_shards=n, index=i, contiguous=True)
                shard.to_parquet(str(folder / lang / f"{split}-{i:05d}-of-{n:05d}.parquet"))
    (folder / "README.md").write_text(card(["shahmukhi", "pashto"]), encoding="utf-8")
    return folder


def remote_paths(hub, repo_id: str, repo_type: str = "dataset", revision: str = "main") -> set[str]:
    return set(hub.server.files(repo_id, repo_type, revision))


def local_paths(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


LOAD_PREAMBLE = """
import json, datasets
datasets.config.USE_PARQUET_EXPORT = False   # no dataset-viewer host behind a self-hosted endpoint
datasets.disable_progress_bars()
def rows(dd):
    return {split: dd[split].to_list() for split in sorted(dd)}
"""


# -- (1) dataset repo: publish, load by config, stream, old revision ---------------------------------
def test_dataset_publish_load_stream_and_old_revision(hub_server, tmp_path):
    hub = hub_server
    repo_id = "pakner-test/ner-small"
    folder = write_dataset_repo(tmp_path / "repo", version=1)
    first = publish(folder, repo_id, progress=False)
    assert first.created_repo and first.committed
    assert sorted(first.added) == sorted(local_paths(folder)) and not first.changed and not first.removed
    assert first.commit_url.endswith(first.commit_oid)
    # parquet went through LFS, the card as a regular file (as on huggingface.co)
    files = hub.server.files(repo_id)
    assert files["shahmukhi/train-00000-of-00003.parquet"].lfs and not files["README.md"].lfs
    assert any(m == "PUT" and p.startswith("/lfs-storage/") for m, p in hub.server.requests)
    v1 = shutil.copytree(folder, tmp_path / "v1")

    write_dataset_repo(folder, version=2)
    second = publish(folder, repo_id, progress=False)
    assert second.committed and second.parent_oid == first.commit_oid
    assert not second.added and not second.removed
    assert sorted(second.changed) == sorted(p for p in local_paths(folder) if p.endswith(".parquet"))

    out = hub.run_python(LOAD_PREAMBLE + f"""
hub = datasets.load_dataset({repo_id!r}, "shahmukhi")
local = datasets.load_dataset({str(folder)!r}, "shahmukhi")
old = datasets.load_dataset({repo_id!r}, "shahmukhi", revision={first.commit_oid!r})
old_local = datasets.load_dataset({str(v1)!r}, "shahmukhi")
pashto = datasets.load_dataset({repo_id!r}, "pashto", split="test")
stream = datasets.load_dataset({repo_id!r}, "shahmukhi", split="train", streaming=True)
print(json.dumps({{
    "hub": rows(hub), "local": rows(local), "old": rows(old), "old_local": rows(old_local),
    "features_equal": hub["train"].features == local["train"].features,
    "label_names": hub["train"].features["ner_tags"].feature.names,
    "stream": list(stream), "pashto": pashto.to_list(),
}}, ensure_ascii=False))
""")
    assert out["hub"] == out["local"] and out["hub"]["train"]
    assert out["features_equal"] and out["label_names"] == LABELS
    assert out["old"] == out["old_local"] and out["old"] != out["hub"]  # the first commit, not main
    assert out["stream"] == out["hub"]["train"]
    assert out["pashto"] == rows_for("pashto", "test", 2)
    assert out["hub"]["train"][0]["tokens"][0] == "علامہ"


# -- (2) model repo: tokenizer + safetensors weights, loaded by transformers over HTTP -----------------
def _tiny_token_classifier(folder: Path) -> None:
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForTokenClassification, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    corpus = [" ".join(t) for t, _ in SHAHMUKHI + PASHTO] * 3
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64,
                        id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    BertForTokenClassification(config).save_pretrained(folder)  # safetensors
    fast.save_pretrained(folder)


def test_model_publish_and_load_with_transformers(hub_server, tmp_path):
    pytest.importorskip("transformers")  # the `train` extra
    hub = hub_server
    repo_id = "pakner-test/tiny-ner"
    folder = tmp_path / "model"
    _tiny_token_classifier(folder)
    assert (folder / "model.safetensors").is_file()
    result = publish(folder, repo_id, repo_type="model", tag="v0.1", progress=False)
    assert result.committed and "model.safetensors" in result.added and result.tag == "v0.1"
    assert hub.server.files(repo_id, "model")["model.safetensors"].lfs

    out = hub.run_python(f"""
import json, torch
from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
text = "علامہ اقبال سیالکوٹ وچ جمے"
def logits(src, **kw):
    tok = AutoTokenizer.from_pretrained(src, **kw)
    model = AutoModelForTokenClassification.from_pretrained(src, **kw).eval()
    with torch.no_grad():
        return tok, model, model(**tok(text, return_tensors="pt")).logits
tok, model, hub_logits = logits({repo_id!r})
_, _, local_logits = logits({str(folder)!r})
_, _, tag_logits = logits({repo_id!r}, revision="v0.1")
ner = pipeline("token-classification", model={repo_id!r})
print(json.dumps({{
    "max_diff": (hub_logits - local_logits).abs().max().item(),
    "tag_diff": (tag_logits - local_logits).abs().max().item(),
    "shape": list(hub_logits.shape), "labels": [model.config.id2label[i] for i in range(len(model.config.id2label))],
    "tokens": tok.tokenize(text), "pipeline": [{{"entity": e["entity"], "word": e["word"]}} for e in ner(text)],
}}, ensure_ascii=False))
""")
    assert out["max_diff"] == 0.0 and out["tag_diff"] == 0.0
    assert out["labels"] == LABELS and out["shape"][-1] == len(LABELS)
    assert "[UNK]" not in out["tokens"] and out["tokens"][0] == "علامہ"
    assert all(e["entity"] in LABELS for e in out["pipeline"])
    # the weights were downloaded from this server, not found in some cache
    assert any(m == "GET" and p.startswith(f"/{repo_id}/resolve/") and p.endswith("/model.safetensors")
               for m, p in hub.server.requests)


# -- (3) no-op publish, stale shards, auth, interruption -----------------------------------------------
def test_unchanged_publish_makes_no_commit(hub_server, tmp_path):
    hub = hub_server
    repo_id = "pakner-test/noop"
    folder = write_dataset_repo(tmp_path / "repo")
    first = publish(folder, repo_id, progress=False)
    commits, n_requests = hub.server.commit_count(repo_id), len(hub.server.requests)
    again = publish(folder, repo_id, progress=False)
    assert not again.committed and again.commit_oid == first.commit_oid
    assert again.unchanged == len(local_paths(folder)) and not (again.added or again.changed or again.removed)
    assert hub.server.commit_count(repo_id) == commits
    later = hub.server.requests[n_requests:]
    assert not [r for r in later if r[0] in ("PUT",) or "/commit/" in r[1] or "/preupload/" in r[1]]
    assert "no changes, no commit" in again.summary()


def test_shard_shrink_leaves_no_stale_files(hub_server, tmp_path):
    hub = hub_server
    repo_id = "pakner-test/shrink"
    folder = write_dataset_repo(tmp_path / "repo", train_shards=3)
    publish(folder, repo_id, progress=False)
    commits = hub.server.commit_count(repo_id)
    hub.server.tree_page_size = 4  # the remote listing now takes several pages (Link: rel="next")
    n_requests = len(hub.server.requests)
    write_dataset_repo(folder, train_shards=2)
    result = publish(folder, repo_id, progress=False)
    assert hub.server.commit_count(repo_id) == commits + 1  # one atomic commit
    assert "shahmukhi/train-00002-of-00003.parquet" in result.removed
    assert "shahmukhi/train-00000-of-00002.parquet" in result.added
    hub.server.tree_page_size = 1000
    assert any("/tree/" in p and "cursor=" in p for _, p in hub.server.requests[n_requests:])
    assert remote_paths(hub, repo_id) == local_paths(folder) | {".gitattributes"}
    assert "removed" in hub.server.state.get_repo("dataset", repo_id).commits[result.commit_oid].title


def test_gitignore_and_branch(hub_server, tmp_path):
    hub = hub_server
    repo_id = "pakner-test/branchy"
    folder = write_dataset_repo(tmp_path / "repo")
    (folder / ".gitignore").write_text("*.log\nscratch/\n")
    (folder / "notes.log").write_text("local notes")
    (folder / "scratch").mkdir()
    (folder / "scratch" / "tmp.parquet").write_bytes(b"\0junk")
    result = publish(folder, repo_id, revision="dev", tag="dev-1", progress=False)
    assert result.revision == "dev" and result.committed
    on_dev = remote_paths(hub, repo_id, revision="dev")
    assert ".gitignore" in on_dev and "notes.log" not in on_dev and not any(p.startswith("scratch/") for p in on_dev)
    assert remote_paths(hub, repo_id, revision="main") == {".gitattributes"}  # main untouched
    assert hub.server.state.get_repo("dataset", repo_id).tags["dev-1"] == hub.server.head(repo_id, branch="dev")
    again = publish(folder, repo_id, revision="dev", tag="dev-1", progress=False)  # same tag, same commit: fine
    assert not again.committed
    (folder / "README.md").write_text(card(["shahmukhi"]), encoding="utf-8")
    with pytest.raises(PublishError, match="tag 'dev-1' already exists"):
        publish(folder, repo_id, revision="dev", tag="dev-1", progress=False)
    assert hub.server.head(repo_id, branch="dev") == result.commit_oid  # refused before committing
    with pytest.raises(PublishError, match="is a tag or a commit"):
        publish(folder, repo_id, revision="dev-1", progress=False)


def test_server_speaks_the_hub_protocol(hub_server, tmp_path):
    """What the clients rely on: error codes, parentCommit checks, HEAD/Range on resolve, private reads."""
    import httpx2
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    hub = hub_server
    api = HfApi(endpoint=hub.url, token=hub.token)
    repo_id = "pakner-test/protocol"
    api.create_repo(repo_id, repo_type="model", private=True)
    blob = bytes(range(256)) * 20
    first = api.create_commit(repo_id, [CommitOperationAdd("w.bin", blob)], commit_message="one",
                              repo_type="model")
    api.create_commit(repo_id, [CommitOperationAdd("a.txt", b"hello")], commit_message="two", repo_type="model")
    with pytest.raises(HfHubHTTPError) as info:  # stale parent: 412, nothing committed
        api.create_commit(repo_id, [CommitOperationAdd("b.txt", b"x")], commit_message="three",
                          repo_type="model", parent_commit=first.oid)
    assert info.value.response.status_code == 412 and len(api.list_repo_commits(repo_id)) == 3

    auth = {"Authorization": f"Bearer {hub.token}"}
    url = f"{hub.url}/{repo_id}/resolve/main/w.bin"
    head = httpx2.head(url, headers=auth)
    assert head.status_code == 200 and head.headers["X-Linked-Size"] == str(len(blob))
    assert head.headers["X-Linked-Etag"].strip('"') == hashlib.sha256(blob).hexdigest()
    assert head.headers["X-Repo-Commit"] == api.model_info(repo_id).sha
    part = httpx2.get(url, headers={**auth, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == blob[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(blob)}"
    assert httpx2.get(url, headers={**auth, "Range": f"bytes={len(blob)}-"}).status_code == 416
    old = httpx2.get(f"{hub.url}/{repo_id}/resolve/{first.oid}/a.txt", headers=auth)
    assert old.status_code == 404 and old.headers["X-Error-Code"] == "EntryNotFound"
    assert httpx2.get(f"{hub.url}/{repo_id}/resolve/nope/w.bin", headers=auth).headers["X-Error-Code"] \
        == "RevisionNotFound"
    anonymous = httpx2.get(url)  # private repo, no token
    assert anonymous.status_code == 401 and anonymous.headers["X-Error-Code"] == "RepoNotFound"
    missing = httpx2.get(f"{hub.url}/api/datasets/pakner-test/none", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"] and missing.headers["X-Error-Code"] == "RepoNotFound"
    info = api.get_paths_info(repo_id, ["w.bin", "a.txt", "gone"], repo_type="model")
    assert {i.path: bool(i.lfs) for i in info} == {"w.bin": True, "a.txt": False}


def test_wrong_token_is_refused_without_echoing_it(hub_server, tmp_path):
    hub = hub_server
    folder = write_dataset_repo(tmp_path / "repo")
    bad = "hf_wrongTOKEN1234567890"
    with pytest.raises(PublishAuthError) as info:
        publish(folder, "pakner-test/denied", token=bad, progress=False)
    assert "authentication failed" in str(info.value) and bad not in str(info.value)
    assert ("dataset", "pakner-test/denied") not in hub.server.state.repos
    # an existing public repo: reading works anonymously, the write is still refused
    publish(folder, "pakner-test/public", progress=False)
    write_dataset_repo(folder, version=2)
    head = hub.server.head("pakner-test/public")
    with pytest.raises(PublishAuthError, match="authentication failed") as info:
        publish(folder, "pakner-test/public", token=bad, progress=False)
    assert bad not in str(info.value) and hub.server.head("pakner-test/public") == head


def test_interrupted_publish_leaves_previous_revision_loadable(hub_server, tmp_path):
    hub = hub_server
    repo_id = "pakner-test/interrupted"
    folder = write_dataset_repo(tmp_path / "repo")
    first = publish(folder, repo_id, progress=False)
    before = hub.server.files(repo_id)
    v1 = shutil.copytree(folder, tmp_path / "v1")

    write_dataset_repo(folder, version=2, train_shards=2)
    hub.server.fail_next_lfs_upload = True  # the connection drops mid-upload and the upload session is lost
    with pytest.raises(PublishError) as info:
        publish(folder, repo_id, progress=False)
    message = str(info.value)
    assert "Error while uploading" in message and ".parquet" in message and "nothing was committed" in message
    assert hub.server.dropped_uploads >= 1
    assert hub.server.head(repo_id) == first.commit_oid and hub.server.files(repo_id) == before

    out = hub.run_python(LOAD_PREAMBLE + f"""
print(json.dumps({{"hub": rows(datasets.load_dataset({repo_id!r}, "shahmukhi")),
                  "v1": rows(datasets.load_dataset({str(v1)!r}, "shahmukhi"))}}, ensure_ascii=False))
""")
    assert out["hub"] == out["v1"]

    # a transient drop is retried by the client; publishing again completes the change
    hub.server.drop_lfs_uploads = 1
    dropped = hub.server.dropped_uploads
    done = publish(folder, repo_id, progress=False)
    assert done.committed and done.parent_oid == first.commit_oid and hub.server.dropped_uploads == dropped + 1
    assert remote_paths(hub, repo_id) == local_paths(folder) | {".gitattributes"}


@pytest.mark.slow
def test_network_down_during_upload_exhausts_retries(hub_server, tmp_path):
    """Every upload attempt is cut: huggingface_hub retries with backoff (~23 s), then publish fails cleanly."""
    hub = hub_server
    repo_id = "pakner-test/network-down"
    folder = write_dataset_repo(tmp_path / "repo")
    first = publish(folder, repo_id, progress=False)
    # one changed LFS file, so one upload retried (several would retry in parallel threads, batch after batch)
    as_dataset(rows_for("pashto", "test", 3)).to_parquet(str(folder / "pashto/test-00000-of-00001.parquet"))
    hub.server.drop_lfs_uploads = 10_000
    try:
        with pytest.raises(PublishError, match="nothing was committed") as info:
            publish(folder, repo_id, progress=False)
    finally:
        hub.server.drop_lfs_uploads = 0
    assert "Error while uploading" in str(info.value)
    assert hub.server.head(repo_id) == first.commit_oid and hub.server.commit_count(repo_id) == 2


def test_cli_publish_prints_summary(hub_server, tmp_path, capsys):
    folder = write_dataset_repo(tmp_path / "repo")
    parser = argparse.ArgumentParser(prog="hubkit")
    add_cli(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(["publish", str(folder), "pakner-test/cli", "--tag", "v1", "--message", "first cut",
                              "--private"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "commit " in printed and f"{len(local_paths(folder))} added" in printed and "tag v1" in printed
    assert hub_server.token not in printed
    repo = hub_server.server.state.get_repo("dataset", "pakner-test/cli")
    assert repo.private and repo.commits[repo.branches["main"]].title == "first cut"
    assert repo.tags["v1"] == repo.branches["main"]
    with pytest.raises(SystemExit):
        parser.parse_args(["publish", "--help"])
    assert "HF_HUB_DISABLE_XET" in capsys.readouterr().out


# -- the real corpus, when the lead's builder and ../shared/data are there -----------------------------
@pytest.mark.integration
def test_publish_real_pakner(hub_server, real_data_dir, tmp_path):
    build = pytest.importorskip("hubkit.data.build")
    out_dir = tmp_path / "pakner"
    build.build_pakner(real_data_dir, out_dir, org="pakner-test",
                       corpus_names=["shahmukhi-paper", "pashto-wikiann"], progress=False)
    result = publish(out_dir, "pakner-test/pakner", progress=False)
    assert result.committed and not publish(out_dir, "pakner-test/pakner", progress=False).committed
    out = hub_server.run_python(LOAD_PREAMBLE + f"""
res = {{}}
for config in ("shahmukhi", "pashto"):
    hub = datasets.load_dataset("pakner-test/pakner", config)
    local = datasets.load_dataset({str(out_dir)!r}, config)
    res[config] = {{"sizes": {{s: len(hub[s]) for s in hub}}, "equal": all(hub[s][:] == local[s][:] for s in local),
                   "features": hub["train"].features == local["train"].features,
                   "names": hub["train"].features["ner_tags"].feature.names}}
print(json.dumps(res))
""", timeout=300)
    assert {s: out["pashto"]["sizes"][s] for s in SPLITS} == {"train": 100, "validation": 100, "test": 100}
    assert out["shahmukhi"]["sizes"]["test"] == 5821
    for config in ("shahmukhi", "pashto"):
        assert out[config]["equal"] and out[config]["features"] and out[config]["names"] == LABELS


def test_a_server_echoing_the_token_never_gets_it_printed(hub_server, tmp_path):
    """Some endpoints repeat the Authorization header in a 401 message: the CLI must not print it."""
    import os
    import subprocess
    import sys

    folder = write_dataset_repo(tmp_path / "repo")
    bad = "hf_echoedSECRET1234567890"
    hub_server.server.echo_credentials = True
    try:
        proc = subprocess.run([sys.executable, "-m", "hubkit.cli", "publish", str(folder), "pakner-test/echo"],
                              env={**os.environ, **hub_server.env, "HF_TOKEN": bad}, capture_output=True, text=True)
    finally:
        hub_server.server.echo_credentials = False
    assert proc.returncode == 1 and "authentication failed" in proc.stderr
    assert "Bearer ***" in proc.stderr  # the server did echo it, and it was scrubbed
    assert bad not in proc.stdout + proc.stderr and "echoedSECRET" not in proc.stdout + proc.stderr


def test_hub_server_verb_serves_the_real_clients_and_keeps_the_token_out_of_its_output(tmp_path):
    """`hubkit hub-server`: prints the endpoint, never the token (kept in a 0600 file); SIGTERM stops it."""
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    token_file = tmp_path / "token"
    proc = subprocess.Popen([sys.executable, "-m", "hubkit.cli", "hub-server", "--token-file", str(token_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        url = first.split(" on ")[1].strip()
        token = token_file.read_text().strip()
        assert token and oct(token_file.stat().st_mode & 0o777) == "0o600"
        with urllib.request.urlopen(url + "/api/whoami-v2") as _:
            pass
    except urllib.error.HTTPError as err:
        assert err.code == 401  # anonymous whoami: the server answers
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert token not in first + out + err
    assert os.environ.get("HF_TOKEN", "x") not in first + out + err
