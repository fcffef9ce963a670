"""Every numeric option of every verb is checked when the command line is parsed, naming the option."""

import subprocess
import sys
from pathlib import Path

import pytest

from hubkit import cli
from hubkit.options import COUNT, POSITIVE, SHARE, Range, check_values

REPO_ROOT = Path(__file__).resolve().parent.parent
TRAIN = ["--model_name_or_path", "tiny", "--dataset", "nowhere", "--output_dir", "nowhere-out"]

# (argv, the option the message must name); argparse verbs exit 2, the dataclass trainers with a message.
BAD = [
    (["tag", "--batch-size", "0"], "--batch-size"),  # was `range() arg 3 must not be zero`
    (["tag", "--threads", "-2"], "--threads"),
    (["evaluate", "m", "d", "--batch_size", "0"], "--batch_size"),
    (["evaluate", "m", "d", "--max_length", "3"], "--max_length"),
    (["evaluate", "m", "d", "--threads", "0"], "--threads"),
    (["augment", "--n-candidates", "0"], "--n-candidates"),
    (["augment", "--k", "1"], "--k"),
    (["augment", "--align-threshold", "1.5"], "--align-threshold"),
    (["augment", "--batch-size", "x"], "--batch-size"),
    (["build-aug", "--n-candidates", "-1"], "--n-candidates"),
    (["build-aug", "--seed", "-1"], "--seed"),
    (["reproduce", "grid.yaml", "--jobs", "0"], "--jobs"),
    (["hub-server", "--port", "65536"], "--port"),
    (["demo", "--epochs", "0"], "--epochs"),
    (["demo", "--max-steps", "-5"], "--max-steps"),
    (["train", *TRAIN, "--per_device_train_batch_size", "0"], "--per_device_train_batch_size"),
    (["train", *TRAIN, "--num_train_epochs", "0"], "--num_train_epochs"),
    (["train", *TRAIN, "--max_steps", "0"], "--max_steps"),
    (["train", *TRAIN, "--learning_rate", "-1"], "--learning_rate"),
    (["train", *TRAIN, "--warmup_ratio", "2"], "--warmup_ratio"),
    (["train", *TRAIN, "--gradient_accumulation_steps", "0"], "--gradient_accumulation_steps"),
    (["train", *TRAIN, "--max_length", "2"], "--max_length"),
    (["train", *TRAIN, "--sampling_temperature", "0"], "--sampling_temperature"),
    (["train", *TRAIN, "--keep_sentences_without_entities", "1.5"], "--keep_sentences_without_entities"),
    (["train", *TRAIN, "--max_train_samples", "0"], "--max_train_samples"),
    (["train", *TRAIN, "--cpu_threads", "0"], "--cpu_threads"),
    (["train", *TRAIN, "--early_stopping_patience", "0"], "--early_stopping_patience"),
    (["train-llm", *TRAIN, "--lora_r", "0"], "--lora_r"),
    (["train-llm", *TRAIN, "--lora_dropout", "1"], "--lora_dropout"),
    (["train-llm", *TRAIN, "--num_shots", "-1"], "--num_shots"),
    (["train-llm", *TRAIN, "--max_new_tokens", "0"], "--max_new_tokens"),
    (["train-llm", *TRAIN, "--max_grad_norm", "0"], "--max_grad_norm"),
    (["train-llm", *TRAIN, "--logging_steps", "0"], "--logging_steps"),
]


@pytest.mark.parametrize("argv, option", BAD, ids=[" ".join(a[:1] + a[-2:]) for a, _ in BAD])
def test_a_numeric_option_out_of_range_stops_at_parse_time(argv, option, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    message = stop.value.code if isinstance(stop.value.code, str) else capsys.readouterr().err
    assert stop.value.code != 0
    assert option in message and "must be" in message and argv[-1] in message


def test_through_the_command_line_the_message_is_one_line_without_traceback():
    for argv in (["tag", "--batch-size", "0"], ["train", *TRAIN, "--learning_rate", "-1"]):
        proc = subprocess.run([sys.executable, "-m", "hubkit.cli", *argv], capture_output=True, text=True,
                              cwd=REPO_ROOT, timeout=300)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr
        assert "must be" in proc.stderr.strip().splitlines()[-1]


def test_a_grid_config_with_a_value_out_of_range_is_refused_naming_file_and_key(tmp_path):
    from hubkit.experiments.grid import GridConfig

    grid = tmp_path / "grid.yaml"
    grid.write_text("model: tiny\ntrain:\n  per_device_train_batch_size: 0\n")
    with pytest.raises(ValueError, match=r"grid\.yaml: train: --per_device_train_batch_size must be a whole number"):
        GridConfig.load(grid)
    grid.write_text("model: tiny\njobs: 0\n")
    with pytest.raises(ValueError, match=r"grid\.yaml: --jobs must be"):
        GridConfig.load(grid)


def test_ranges_refuse_nan_bools_fractions_and_the_open_ends():
    assert COUNT.contains(1) and not COUNT.contains(0) and not COUNT.contains(1.5) and not COUNT.contains(True)
    assert not POSITIVE.contains(0.0) and POSITIVE.contains(1e-9) and not POSITIVE.contains(float("nan"))
    assert SHARE.contains(0) and SHARE.contains(1) and not SHARE.contains(1.0001)
    assert not Range(0, 1, high_open=True).contains(1) and not POSITIVE.contains(float("inf"))
    assert COUNT.describe() == "a whole number of at least 1" and SHARE.describe() == "a number from 0 to 1"
    check_values({"x": None}, {"x": COUNT})  # unset options are not checked
    with pytest.raises(ValueError, match="--x must be a number above 0, not -1"):
        check_values({"x": -1}, {"x": POSITIVE})
