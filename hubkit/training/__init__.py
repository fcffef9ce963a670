"""A dataset repo and a base model -> a fine-tuned model folder with results and a card.

In: the argument dataclasses (from the command line or a YAML file) naming a dataset, languages
and a model. Out: `output_dir` with safetensors weights, tokenizer, results.json (validation
and test, per language and type), a model card, and optionally a push to the Hub. The encoder
loop (encoder) and the causal LM's LoRA or few-shot loop (lora) share their arguments and
outputs.
"""
