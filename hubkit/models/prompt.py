"""Prompts and answers of the causal-LM NER baseline, and the parser that turns answers into BIO tags.

The answer format (the training target, and what the parser reads) lists the sentence's entities
in sentence order, one per line as `TYPE: words`, the words copied from the sentence:

    PER: عمران خان
    LOC: لاهور

and the single line `NONE` for a sentence with no entity. Nothing else: no numbering, no
quotes, no blank line (a blank line ends the answer).

The prompt gives the task, the language and the sentence's words joined by spaces. With a
tokenizer that has a chat template (instruction models), it is a user turn (few-shot examples
are earlier user/assistant turns) and the answer is the assistant turn, ended by the template's
own end-of-turn token. Without one (base models such as Gemma-3-270M), it is plain text:

    <task>

    Sentence: <words>
    Entities:
    <answer></s>

with few-shot examples as earlier `Sentence:/Entities:` blocks separated by blank lines.

`parse_answer` maps an answer back onto the words as BIO tags and never raises: every line it
cannot use is counted (see PARSE_COUNTS), so a score comes with how much of the output was junk.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from hubkit.data.labels import ENTITY_TYPES, TYPE_ALIASES, entity_spans
from hubkit.languages import LANGUAGE_NAMES

NONE_ANSWER = "NONE"
TASK = ("Find the named entities in the {language} sentence below: persons (PER), organizations (ORG) and "
        "locations (LOC). Answer with one entity per line as TYPE: words, copying the words exactly as they "
        "appear in the sentence, in sentence order. Answer NONE if there is no entity.")
SENTENCE_PREFIX = "Sentence: "
ANSWER_HEADER = "Entities:"

# Every count parse_answer keeps, always present (0 when nothing happened), summed over sentences.
PARSE_COUNTS = (
    "generations",          # answers parsed
    "entities_placed",      # entity lines that became BIO spans
    "none_answer",          # answers saying NONE
    "empty_output",         # answers with no text at all (all words tagged O)
    "truncated_output",     # generation stopped by the token budget, not by the end token
    "truncated_line",       # the unfinished last line of a truncated answer, dropped
    "extra_text_ignored",   # a next `Sentence:`/`Entities:` block the model went on to write, ignored
    "malformed_line",       # a line that is not `TYPE: words`
    "type_alias",           # PERSON/LOCATION/ORGANIZATION read as PER/LOC/ORG
    "unknown_type",         # a type outside PER/ORG/LOC (DATE, MISC, ...): line dropped
    "empty_span",           # `PER:` with no words
    "span_not_in_sentence", # the words do not occur (as consecutive words) in the sentence
    "repeated_span",        # the words were already placed at every place they occur: dropped
    "overlapping_span",     # every occurrence overlaps a span placed earlier: dropped (first wins)
)

_LINE = re.compile(r"^\s*(?:[-*•]\s*)?([A-Za-z_]+)\s*[:：]\s*(.*?)\s*$")


def language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang, lang)


def format_answer(tokens: list[str], tags: list[str]) -> str:
    """The target text for gold BIO `tags`: `TYPE: words` lines in sentence order, or NONE."""
    lines = [f"{etype}: {' '.join(tokens[start:end])}" for etype, start, end in entity_spans(list(tags))]
    return "\n".join(lines) if lines else NONE_ANSWER


def _user_text(tokens: list[str], language: str | None, with_task: bool) -> str:
    sentence = SENTENCE_PREFIX + " ".join(tokens)
    return f"{TASK.format(language=language_name(language or 'given'))}\n\n{sentence}" if with_task else sentence


def build_messages(tokens: list[str], language: str, shots: list[tuple[list[str], str]] = ()) -> list[dict]:
    """Chat messages: the task in the first user turn, few-shot (words, answer) pairs as earlier turns."""
    messages: list[dict] = []
    for shot_tokens, shot_answer in shots:
        messages.append({"role": "user", "content": _user_text(shot_tokens, language, not messages)})
        messages.append({"role": "assistant", "content": shot_answer})
    messages.append({"role": "user", "content": _user_text(tokens, language, not messages)})
    return messages


def build_plain_prompt(tokens: list[str], language: str, shots: list[tuple[list[str], str]] = ()) -> str:
    """The plain-text prompt (no chat template), ending with `Entities:` and a newline."""
    blocks = [TASK.format(language=language_name(language))]
    for shot_tokens, shot_answer in shots:
        blocks.append(f"{SENTENCE_PREFIX}{' '.join(shot_tokens)}\n{ANSWER_HEADER}\n{shot_answer}")
    blocks.append(f"{SENTENCE_PREFIX}{' '.join(tokens)}\n{ANSWER_HEADER}\n")
    return "\n\n".join(blocks)


def tokenizer_training_text() -> list[str]:
    """The prompt's fixed text, so a tokenizer trained for tests knows the instruction's words."""
    return [TASK.format(language=name) for name in LANGUAGE_NAMES.values()] + [
        f"{SENTENCE_PREFIX}\n{ANSWER_HEADER}\n{NONE_ANSWER}", "\n".join(f"{t}: " for t in ENTITY_TYPES)]


class PromptFormat:
    """Token ids of prompts and targets for one tokenizer; chat template when it has one.

    `end_ids`: what follows an answer (the chat template's end-of-turn token, or eos), trained as
    part of the target; `stop_ids`: the token ids that end generation.
    """

    def __init__(self, tokenizer, use_chat_template: bool | None = None):
        self.tokenizer = tokenizer
        has_template = bool(getattr(tokenizer, "chat_template", None))
        self.chat = has_template if use_chat_template is None else use_chat_template
        if self.chat and not has_template:
            raise ValueError("use_chat_template is set but the tokenizer has no chat template")
        eos = tokenizer.eos_token_id
        if eos is None:
            raise ValueError("the tokenizer has no eos token: the model could never end an answer")
        self.end_ids = [eos]
        if self.chat:
            self.end_ids = self._chat_end_ids() or [eos]
        self.stop_ids = sorted({eos, self.end_ids[-1]})

    def _chat_end_ids(self) -> list[int]:
        """Tokens the template puts after an assistant answer, up to its first special token."""
        probe = "PER: x"
        msgs = [{"role": "user", "content": "Sentence: x"}]
        prompt = self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        full = self.tokenizer.apply_chat_template(msgs + [{"role": "assistant", "content": probe}], tokenize=False)
        if not full.startswith(prompt + probe):
            raise ValueError("the chat template does not render an assistant answer right after the generation "
                             "prompt; pass --use_chat_template false to use the plain prompt")
        tail_ids = self.tokenizer(full[len(prompt) + len(probe):], add_special_tokens=False).input_ids
        special = set(self.tokenizer.all_special_ids) | {
            i for i, t in getattr(self.tokenizer, "added_tokens_decoder", {}).items() if getattr(t, "special", False)}
        for k, i in enumerate(tail_ids):
            if i in special:
                return tail_ids[: k + 1]
        return []

    def prompt_text(self, tokens: list[str], language: str, shots=()) -> str:
        if self.chat:
            return self.tokenizer.apply_chat_template(build_messages(tokens, language, list(shots)), tokenize=False,
                                                      add_generation_prompt=True)
        return build_plain_prompt(tokens, language, list(shots))

    def prompt_ids(self, tokens: list[str], language: str, shots=()) -> list[int]:
        # A rendered chat template already holds its bos text; a plain prompt gets the tokenizer's own.
        return self.tokenizer(self.prompt_text(tokens, language, shots), add_special_tokens=not self.chat).input_ids

    def target_ids(self, answer: str) -> list[int]:
        return self.tokenizer(answer, add_special_tokens=False).input_ids + self.end_ids

    def answer_budget(self, tokens: list[str], cap: int) -> int:
        """max_new_tokens for one sentence: its own sub-words plus ~4 tokens of `TYPE: ` and newline per word."""
        n = len(self.tokenizer(" ".join(tokens), add_special_tokens=False).input_ids)
        return max(4, min(cap, n + 4 * len(tokens) + len(self.end_ids) + 4))

    def describe(self) -> dict:
        return {"chat_template": self.chat, "answer_format": "one `TYPE: words` line per entity in sentence order, "
                "or NONE", "end_tokens": self.tokenizer.convert_ids_to_tokens(self.end_ids)}


@dataclass
class ParseResult:
    tags: list[str]
    counts: Counter = field(default_factory=Counter)


def new_counts() -> Counter:
    return Counter({k: 0 for k in PARSE_COUNTS})


def _norm(word: str) -> str:
    return unicodedata.normalize("NFKC", word)


def parse_answer(text: str, tokens: list[str], truncated: bool = False) -> ParseResult:
    """BIO tags for `tokens` from a generated answer; never raises, counts every unusable line.

    A listed span goes to the first place in the sentence where its words occur that overlaps no
    span placed before it, so an entity named twice in the sentence can be listed twice. Words are
    compared after NFKC normalisation. `truncated`: the answer was cut by the token budget, so its
    last line, unless it ended with a newline, is unfinished and dropped.
    """
    counts = new_counts()
    counts["generations"] += 1
    counts["truncated_output"] += int(truncated)
    tags = ["O"] * len(tokens)
    if not text.strip():
        counts["empty_output"] += 1
        return ParseResult(tags, counts)
    words = [_norm(t) for t in tokens]
    taken: list[tuple[int, int]] = []
    for line in _answer_lines(text, truncated, counts):
        if line.startswith((SENTENCE_PREFIX.strip(), ANSWER_HEADER)):
            counts["extra_text_ignored"] += 1
            break
        entity = _line_entity(line, counts)
        if entity is not None:
            _place(*entity, words, taken, tags, counts)
    return ParseResult(tags, counts)


def _answer_lines(text: str, truncated: bool, counts: Counter) -> list[str]:
    """The answer's non-blank lines, stripped; an unfinished last line of a truncated answer dropped."""
    text = text.lstrip("\n")
    answer = text.split("\n\n", 1)[0]  # a blank line ends the answer (the next example would follow)
    lines = answer.split("\n")
    if truncated and answer == text and not text.endswith("\n") and lines[-1].strip():
        lines.pop()
        counts["truncated_line"] += 1
    return [line.strip() for line in lines if line.strip()]


def _line_entity(line: str, counts: Counter) -> tuple[str, list[str]] | None:
    """(type, normalised words) of one `TYPE: words` line, or None (counted) when unusable."""
    if line.upper().rstrip(".") == NONE_ANSWER:
        counts["none_answer"] += 1
        return None
    m = _LINE.match(line)
    if not m:
        counts["malformed_line"] += 1
        return None
    raw_type, value = m.group(1).upper(), m.group(2)
    if raw_type not in ENTITY_TYPES:
        if TYPE_ALIASES.get(raw_type) not in ENTITY_TYPES:
            counts["unknown_type"] += 1
            return None
        counts["type_alias"] += 1
        raw_type = TYPE_ALIASES[raw_type]
    span = [_norm(w) for w in value.split()]
    if not span:
        counts["empty_span"] += 1
        return None
    return raw_type, span


def _place(etype: str, span: list[str], words: list[str], taken: list[tuple[int, int]], tags: list[str],
           counts: Counter) -> None:
    """Tag the first occurrence of `span` in `words` that overlaps no span placed before it."""
    n = len(span)
    places = [i for i in range(len(words) - n + 1) if words[i:i + n] == span]
    if not places:
        counts["span_not_in_sentence"] += 1
        return
    free = [i for i in places if all(i + n <= s or e <= i for s, e in taken)]
    if not free:
        same = any((i, i + n) in taken for i in places)
        counts["repeated_span" if same else "overlapping_span"] += 1
        return
    start = free[0]
    taken.append((start, start + n))
    tags[start] = f"B-{etype}"
    for j in range(start + 1, start + n):
        tags[j] = f"I-{etype}"
    counts["entities_placed"] += 1


__all__ = ["PARSE_COUNTS", "NONE_ANSWER", "TASK", "PromptFormat", "ParseResult", "format_answer", "build_messages",
           "build_plain_prompt", "parse_answer", "new_counts", "tokenizer_training_text", "language_name"]
