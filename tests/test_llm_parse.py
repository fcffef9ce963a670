"""The causal-LM answer parser on crafted malformed generations: exact BIO tags and exact counts."""

import pytest

from hubkit.models.prompt import (PARSE_COUNTS, build_messages, build_plain_prompt, format_answer, parse_answer, TASK)

# Pashto: "Imran Khan went to Lahore and stayed in Lahore"
TOKENS = ["عمران", "خان", "لاهور", "ته", "لاړ", "او", "لاهور", "کې", "پاتې", "شو"]
O = "O"


def tags(**spans):
    """tags(PER=[(0, 2)], LOC=[(2, 3)]) -> a BIO list over TOKENS."""
    out = [O] * len(TOKENS)
    for etype, places in spans.items():
        for start, end in places:
            out[start] = f"B-{etype}"
            for i in range(start + 1, end):
                out[i] = f"I-{etype}"
    return out


def nonzero(counts):
    return {k: v for k, v in counts.items() if v}


CASES = [
    # (id, answer, truncated, expected tags, expected non-zero counts besides generations)
    ("perfect", "PER: عمران خان\nLOC: لاهور\nLOC: لاهور", False,
     tags(PER=[(0, 2)], LOC=[(2, 3), (6, 7)]), {"entities_placed": 3}),
    ("unknown types", "DATE: ته\nMISC: او\nPER: عمران خان", False,
     tags(PER=[(0, 2)]), {"unknown_type": 2, "entities_placed": 1}),
    ("long type names", "PERSON: عمران خان\nLocation: لاهور", False,
     tags(PER=[(0, 2)], LOC=[(2, 3)]), {"type_alias": 2, "entities_placed": 2}),
    ("spans not in sentence", "LOC: کابل\nLOC: لاهو\nPER: خان عمران\nLOC: لاهور", False,
     tags(LOC=[(2, 3)]), {"span_not_in_sentence": 3, "entities_placed": 1}),
    ("repeated spans", "LOC: لاهور\nLOC: لاهور\nLOC: لاهور\nPER: عمران خان\nORG: عمران خان", False,
     tags(LOC=[(2, 3), (6, 7)], PER=[(0, 2)]), {"repeated_span": 2, "entities_placed": 3}),
    ("overlapping spans", "PER: عمران خان\nLOC: خان لاهور\nORG: خان\nLOC: لاهور ته", False,
     tags(PER=[(0, 2)], LOC=[(2, 4)]),
     {"overlapping_span": 2, "entities_placed": 2}),
    ("truncated: unfinished last line dropped", "PER: عمران خان\nLOC: لاه", True,
     tags(PER=[(0, 2)]), {"truncated_output": 1, "truncated_line": 1, "entities_placed": 1}),
    ("truncated: a cut span that would match is not trusted", "LOC: لاهور\nPER: عمران", True,
     tags(LOC=[(2, 3)]), {"truncated_output": 1, "truncated_line": 1, "entities_placed": 1}),
    ("truncated after a newline keeps every line", "PER: عمران\n", True,
     tags(PER=[(0, 1)]), {"truncated_output": 1, "entities_placed": 1}),
    ("the same cut line untruncated is used", "PER: عمران", False,
     tags(PER=[(0, 1)]), {"entities_placed": 1}),
    ("empty output", "", False, tags(), {"empty_output": 1}),
    ("whitespace output, truncated", " \n ", True, tags(), {"empty_output": 1, "truncated_output": 1}),
    ("NONE", "NONE", False, tags(), {"none_answer": 1}),
    ("malformed lines", "The entities are:\nPER عمران خان\nLOC:\n* loc: لاهور", False,
     tags(LOC=[(2, 3)]), {"malformed_line": 2, "empty_span": 1, "entities_placed": 1}),
    ("blank line ends the answer", "LOC: لاهور\n\nSentence: عمران خان\nEntities:\nPER: عمران خان", False,
     tags(LOC=[(2, 3)]), {"entities_placed": 1}),
    ("next example without a blank line", "\nLOC: لاهور\nSentence: عمران خان\nPER: عمران خان", False,
     tags(LOC=[(2, 3)]), {"extra_text_ignored": 1, "entities_placed": 1}),
    ("NFKC: presentation forms match", "LOC: \ufefb\u0693", False,  # ﻻړ == لاړ after NFKC
     tags(LOC=[(4, 5)]), {"entities_placed": 1}),
]


@pytest.mark.parametrize("answer,truncated,expected,counts", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_answer_exact_tags_and_counts(answer, truncated, expected, counts):
    result = parse_answer(answer, TOKENS, truncated=truncated)
    assert result.tags == expected
    assert set(result.counts) == set(PARSE_COUNTS)  # every key always present
    assert nonzero(result.counts) == {"generations": 1, **counts}


def test_counts_add_up_over_sentences():
    total = parse_answer("LOC: کابل", TOKENS).counts + parse_answer("", TOKENS).counts
    assert nonzero(total) == {"generations": 2, "span_not_in_sentence": 1, "empty_output": 1}


def test_parser_never_raises_on_junk():
    for junk in [":", "PER:::", "\n\n\n", "PER: " + "عمران " * 50, "ＰＥＲ： عمران", "\x00\x01", "LOC: \u200c", "-"]:
        result = parse_answer(junk, TOKENS, truncated=True)
        assert len(result.tags) == len(TOKENS)
        assert result.counts["generations"] == 1
    assert parse_answer("PER: x", []).tags == []


def test_format_answer_round_trips():
    gold = tags(PER=[(0, 2)], LOC=[(2, 3), (6, 7)])
    answer = format_answer(TOKENS, gold)
    assert answer == "PER: عمران خان\nLOC: لاهور\nLOC: لاهور"
    assert parse_answer(answer, TOKENS).tags == gold
    assert format_answer(TOKENS, tags()) == "NONE"
    assert parse_answer("NONE", TOKENS).tags == tags()


def test_prompts_hold_task_language_words_and_shots():
    shots = [(["کابل", "ښار"], "LOC: کابل")]
    plain = build_plain_prompt(TOKENS, "pashto", shots)
    assert plain.startswith(TASK.format(language="Pashto"))
    assert plain.endswith("Sentence: " + " ".join(TOKENS) + "\nEntities:\n")
    assert "Sentence: کابل ښار\nEntities:\nLOC: کابل\n\n" in plain
    messages = build_messages(TOKENS, "shahmukhi", shots)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert "Shahmukhi Punjabi" in messages[0]["content"] and messages[1]["content"] == "LOC: کابل"
    assert messages[2]["content"] == "Sentence: " + " ".join(TOKENS)  # the task is said once
