"""Credentials never reach a message: the caller's token, $HF_TOKEN, and anything shaped like one."""

from __future__ import annotations

import os
import re

_CREDENTIALS = re.compile(r"(Bearer\s+|Basic\s+)\S+|hf_[A-Za-z0-9_]{6,}", re.IGNORECASE)


def redact(text: str, *tokens: str | None) -> str:
    """`text` with the given tokens, $HF_TOKEN, anything after Bearer/Basic and any hf_... token
    replaced by *** (a server's reply may echo the Authorization header)."""
    for token in (*tokens, os.environ.get("HF_TOKEN"), os.environ.get("HUGGING_FACE_HUB_TOKEN")):
        if token:
            text = text.replace(token, "***")
    return _CREDENTIALS.sub(lambda m: (m.group(1) or "hf_") + "***", text)
