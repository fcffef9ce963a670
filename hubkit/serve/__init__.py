"""A model folder and raw text -> entities with exact character offsets.

In: text (one per line, or a file) and a model (PyTorch or ONNX). Out: words, tags and entity
spans in text, jsonl, CoNLL or CSV (tagger, `hubkit tag`), the language guessed from the
letters (langid), and an ONNX int8 export for fast CPU tagging (export_onnx). The Gradio Space
uses the tagger as it is.
"""
