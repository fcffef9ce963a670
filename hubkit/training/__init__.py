"""A dataset repo and a base model -> a fine-tuned model folder with results and a card.

In: the argument dataclasses (from the command line or a YAML file) naming a dataset, languages
and a model. Out: `output_dir` with safetensors weights, tokenizer, results.json (validation
and test, per language and type), a model card, and optionally a push to the Hub.

The two trainers, masked encoder (encoder) and causal LM with LoRA or few shots (lora), share:
arguments (the option dataclasses and their parsing), loop (the training loop, with one gradient
accumulation and clipping path, and its plugin hooks), best_model and checkpoints (plugins: the
best weights by validation F1, early stopping, saving and resuming state) and outputs
(results.json, all_results.json, publishing).
"""
