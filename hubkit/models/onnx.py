"""An exported ONNX folder run by ONNX Runtime behind the part of the PyTorch model interface that
hubkit's tagger and evaluation use (`config`, `__call__(...).logits`, `eval`, `to`), so an
exported folder is accepted wherever a model is.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

ONNX_FILE = "model.onnx"
ONNX_INFO = "hubkit_onnx.json"


def is_onnx_folder(path: str | os.PathLike) -> bool:
    return (Path(path) / ONNX_FILE).is_file() and (Path(path) / "config.json").is_file()


class OnnxTokenClassifier:
    """An exported folder run by ONNX Runtime, called like a transformers token classifier."""

    training = False

    def __init__(self, folder: str | os.PathLike, threads: int | None = None):
        import onnxruntime as ort
        import torch
        from transformers import AutoConfig

        self.folder = Path(folder)
        self.config = AutoConfig.from_pretrained(self.folder)  # a JSON file: runs no code
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.folder / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, input_ids, attention_mask=None, **_):
        import numpy as np
        import torch

        feeds = {"input_ids": np.asarray(input_ids.cpu(), dtype=np.int64)}
        if "attention_mask" in self.input_names:
            mask = attention_mask if attention_mask is not None else torch.ones_like(input_ids)
            feeds["attention_mask"] = np.asarray(mask.cpu(), dtype=np.int64)
        logits = self.session.run(["logits"], feeds)[0]
        return SimpleNamespace(logits=torch.from_numpy(logits))

    # the parts of nn.Module that hubkit's callers touch
    def eval(self):
        return self

    def train(self, mode: bool = True):
        return self

    def to(self, *_args, **_kwargs):
        return self

    def parameters(self):
        import torch

        return iter([torch.zeros(0)])
