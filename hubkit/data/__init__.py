"""Upstream corpora -> one BIO scheme over PER/LOC/ORG -> the ORG/pakner dataset repo, and back.

In: the upstream files (by path, `--data-dir`, or downloaded once and checked by sha256).
Out: `Sentence` lists (readers), per-language `datasets.DatasetDict`s (corpora), a folder laid
out as the Hub dataset repo (build, dataset_repo); and for the later stages, the word-level data
read back from any such repo (loading) and cut into sub-word windows (windows).
"""
