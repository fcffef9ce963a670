"""The errors hubkit raises for a user's input: each message says where (file, line, option) and why.

`hubkit <verb>` prints any HubkitError as one line, without a traceback. Catch `DataError` for
datasets and corpus files, `ModelError` for model names and folders.
"""


class HubkitError(ValueError):
    """An input hubkit cannot use."""


class DataError(HubkitError):
    """A corpus file or dataset that cannot be read, built or trained on."""


class ModelError(HubkitError):
    """A model name or folder that cannot be used for the task asked."""
