"""The four languages, the one table every stage reads.

Dataset config name -> ISO 639 code (model cards, Hub metadata) and the name people read.
"""

LANGUAGES: dict[str, str] = {"urdu": "ur", "shahmukhi": "pnb", "sindhi": "sd", "pashto": "ps"}
LANGUAGE_NAMES: dict[str, str] = {"urdu": "Urdu", "shahmukhi": "Shahmukhi Punjabi", "sindhi": "Sindhi",
                                  "pashto": "Pashto"}
CODE_TO_LANGUAGE: dict[str, str] = {code: name for name, code in LANGUAGES.items()}
