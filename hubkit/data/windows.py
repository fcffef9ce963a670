"""Words -> sub-word windows of at most `max_length` tokens.

A sentence too long for one window is cut between words into several windows (never truncated
away); each word's label sits on its first sub-word, -100 elsewhere.
"""

from __future__ import annotations

def model_max_length(model) -> int:
    """How many tokens the model's position embeddings allow (RoBERTa-style offsets counted)."""
    config = model.config
    limit = getattr(config, "max_position_embeddings", None) or 10**9
    if "roberta" in config.model_type or config.model_type in ("camembert", "xmod"):
        limit -= (config.pad_token_id or 0) + 1
    return limit


def _special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """Ids the tokenizer puts before and after the words of one sequence (e.g. <s> ... </s>)."""
    enc = tokenizer(["x"], is_split_into_words=True)
    word_ids = enc.word_ids()
    first = word_ids.index(0)
    last = len(word_ids) - 1 - word_ids[::-1].index(0)
    return enc["input_ids"][:first], enc["input_ids"][last + 1:]


def encode_windows(ds, tokenizer, max_length: int, desc: str = "tokenizing"):
    """Windows of whole words: columns input_ids, attention_mask, labels, sentence_idx, word_start, n_words."""
    prefix, suffix = _special_tokens(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    if budget < 1:
        raise ValueError(f"max_length {max_length} leaves no room for words after special tokens")
    unk = [tokenizer.unk_token_id] if tokenizer.unk_token_id is not None else None

    def encode(batch, indices):
        out = {k: [] for k in ("input_ids", "attention_mask", "labels", "sentence_idx", "word_start", "n_words")}
        flat = [w for words in batch["tokens"] for w in words]
        pieces_flat = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
        pos = 0
        for words, tags, idx in zip(batch["tokens"], batch["ner_tags"], indices):
            pieces = pieces_flat[pos:pos + len(words)]
            pos += len(words)
            # A word with no sub-word (e.g. only a zero-width mark) still gets a position: <unk>.
            pieces = [(p or unk or prefix[:1])[:budget] for p in pieces]
            start = 0
            while start < len(words) or (start == 0 and not words):
                end, used = start, 0
                while end < len(words) and used + len(pieces[end]) <= budget:
                    used += len(pieces[end])
                    end += 1
                ids, labels = list(prefix), [-100] * len(prefix)
                for w in range(start, end):
                    ids += pieces[w]
                    labels += [tags[w]] + [-100] * (len(pieces[w]) - 1)
                ids += suffix
                labels += [-100] * len(suffix)
                for key, val in (("input_ids", ids), ("attention_mask", [1] * len(ids)), ("labels", labels),
                                 ("sentence_idx", idx), ("word_start", start), ("n_words", end - start)):
                    out[key].append(val)
                if not words:
                    break
                start = end
        return out

    return ds.map(encode, batched=True, with_indices=True, remove_columns=ds.column_names, desc=desc,
                  load_from_cache_file=False)


MODEL_COLUMNS = ["input_ids", "attention_mask", "labels"]
