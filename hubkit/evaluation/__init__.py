"""A model and word-level data -> predicted tags per word -> entity-level scores.

In: a token classifier (PyTorch or ONNX) and a dataset split. Out: BIO-valid tags per word
(decoding, predict), seqeval scores overall, per language and per type with span confusion
matrices (metrics), the `hubkit evaluate` verb, and the O-label bias chosen on validation
(calibration, `hubkit calibrate`), and per language the train-split
gazetteer with its own O bias (gazetteer, gazetteer_fill: `hubkit gazetteer`). Augmentation's ranker and the trainers
both predict through here.
"""
