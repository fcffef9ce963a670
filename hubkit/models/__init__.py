"""Model names -> folders that `from_pretrained` loads, offline.

In: a Hub id, a folder, or a built-in name (`tiny`, `e5-small`, `e5-small-pakner-vocab`,
`tiny-llama`, `gemma3-270m`). Out: a model folder in the cache (encoders, e5small, trim_vocab,
causal; written atomically), loaded token classifiers, ONNX folders run behind the same
interface (onnx), and the causal models' prompt and answer format (prompt).
"""
