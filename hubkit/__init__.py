"""hubkit: named-entity recognition for Urdu, Shahmukhi Punjabi, Sindhi and Pashto on the Hub.

The sub-packages follow the data flow, each importing only from those before it:

    data         upstream corpora -> ORG/pakner (and word-level data read back from any such repo)
    models       names -> model folders (tiny, e5-small, trimmed vocabularies, causal LMs, ONNX)
    evaluation   predictions per word -> entity-level scores per language and type
    augment      training splits -> cluster-based candidates, ranked -> ORG/pakner-aug
    hub          dataset/model folders -> a Hub endpoint; model cards; a local Hub server
    training     dataset + base model -> fine-tuned model, results.json, card
    serve        raw text -> entities with character offsets; ONNX export
    experiments  grid configs -> runs -> RESULTS.md

The names below are the public API; each is imported on first use, so `import hubkit` stays
light (no torch until a model is touched).
"""

import importlib

_PUBLIC = {
    "LANGUAGES": "hubkit.languages", "LANGUAGE_NAMES": "hubkit.languages",
    "HubkitError": "hubkit.errors", "DataError": "hubkit.errors", "ModelError": "hubkit.errors",
    "LABELS": "hubkit.data.labels",
    "build_pakner": "hubkit.data.build", "load_ner_data": "hubkit.data.loading",
    "resolve_model": "hubkit.models.encoders", "load_token_classifier": "hubkit.models.encoders",
    "trim_vocabulary": "hubkit.models.trim_vocab",
    "evaluate_model": "hubkit.evaluation.predict", "predict_words": "hubkit.evaluation.predict",
    "run_augmentation": "hubkit.augment.candidates", "build_pakner_aug": "hubkit.augment.build_aug",
    "publish": "hubkit.hub.publish", "HubServer": "hubkit.hub.server",
    "Tagger": "hubkit.serve.tagger", "export_onnx": "hubkit.serve.export_onnx",
}

__version__ = "0.1.0"
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'hubkit' has no attribute {name!r}")
