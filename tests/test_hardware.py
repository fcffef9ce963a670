"""Precision and threads chosen from the hardware: never bf16 on a CPU that only emulates it."""

import logging

import pytest

from hubkit import hardware
from hubkit.hardware import choose_precision, cpu_flags, default_threads, resolve_precision

AVX2_EPYC = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx avx2 fma bmi2\n"
SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"


@pytest.fixture
def cpu(monkeypatch, tmp_path):
    """Pretend to be a CPU with the given /proc/cpuinfo (only the detection's input is replaced)."""
    def use(cpuinfo: str, torch_capability: str = "AVX2"):
        path = tmp_path / "cpuinfo"
        path.write_text(cpuinfo)
        monkeypatch.setattr(hardware, "cpu_flags", lambda cpuinfo=path: cpu_flags(cpuinfo))
        import torch

        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: torch_capability)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        monkeypatch.delenv("ACCELERATE_MIXED_PRECISION", raising=False)
    return use


def test_flags_are_read_from_cpuinfo(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(SAPPHIRE_RAPIDS)
    assert {"avx512_bf16", "amx_tile"} <= cpu_flags(path)
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_auto_on_a_cpu_without_native_bf16_is_fp32(cpu, caplog):
    cpu(AVX2_EPYC)
    with caplog.at_level(logging.WARNING, logger="hubkit.hardware"):
        assert resolve_precision("auto") == "no"
        assert resolve_precision(None) == "no"
    assert not caplog.records


def test_explicit_bf16_without_native_bf16_warns_and_falls_back(cpu, caplog):
    cpu(AVX2_EPYC)
    with caplog.at_level(logging.WARNING, logger="hubkit.hardware"):
        assert resolve_precision("bf16") == "no"
    assert len(caplog.records) == 1 and "no native bf16" in caplog.records[0].message
    assert "--mixed_precision auto" in caplog.records[0].message


def test_accelerate_launch_request_is_checked_too(cpu, monkeypatch):
    cpu(AVX2_EPYC)
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    assert resolve_precision("auto") == "no"


@pytest.mark.parametrize("cpuinfo,capability", [(SAPPHIRE_RAPIDS, "AVX512"), (AVX2_EPYC, "AMX")])
def test_auto_on_a_cpu_with_native_bf16_is_bf16(cpu, cpuinfo, capability):
    cpu(cpuinfo, capability)
    assert resolve_precision("auto") == "bf16"
    assert resolve_precision("bf16") == "bf16"
    assert resolve_precision("no") == "no"


def test_gpu_choice_follows_bf16_support():
    assert choose_precision("auto", "cuda", native_bf16=False, gpu_bf16=True) == ("bf16", None)
    assert choose_precision("auto", "cuda", native_bf16=False, gpu_bf16=False) == ("no", None)
    assert choose_precision("fp16", "cuda", native_bf16=False) == ("fp16", None)
    with pytest.raises(ValueError, match="auto, no, fp16, bf16"):
        choose_precision("fp8", "cpu", native_bf16=True)


def test_threads_share_the_cores(monkeypatch):
    monkeypatch.setattr(hardware, "usable_cores", lambda: 8)
    monkeypatch.delenv("HUBKIT_CPU_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert default_threads() == 8
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # torchrun --nproc_per_node 2
    assert default_threads() == 4
    monkeypatch.setenv("HUBKIT_CPU_THREADS", "1")  # a grid worker with jobs = cores
    assert default_threads() == 1
