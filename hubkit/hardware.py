"""What this machine runs well: the precision to train in and how many threads to use.

- Precision. On a CPU, bf16 autocast is fast only where the CPU has native bf16 instructions
  (AVX512-BF16 or AMX); elsewhere PyTorch emulates it and a bf16 step is several times slower
  than fp32 (BENCHMARKS.md). `auto` therefore means bf16 on such CPUs and fp32 on the others,
  and on GPUs bf16 where the GPU supports it (as accelerate's own choice), else fp32.
  An explicit `bf16` on a CPU without it is turned into fp32 with one warning.
- Threads. PyTorch starts one thread per core in every process; two processes side by side on
  2 cores then fight for them (OpenMP threads spin while they wait). The default is the usable
  cores divided by the processes sharing them: torchrun's LOCAL_WORLD_SIZE, or the grid's jobs
  (`HUBKIT_CPU_THREADS`, set for its workers).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger("hubkit.hardware")

PRECISIONS = ("auto", "no", "fp16", "bf16")
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
THREADS_ENV = "HUBKIT_CPU_THREADS"
SLOW_BF16 = ("this CPU has no native bf16 (no AVX512-BF16 or AMX in its flags), so PyTorch emulates bf16 "
             "and a bf16 training step is several times slower than fp32 (7.4x measured on an AVX2 AMD EPYC); "
             "training in fp32 instead. Use --mixed_precision auto to choose by the hardware without this warning")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags (Linux); empty where /proc/cpuinfo cannot be read."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.lower().startswith(("flags", "features")) and ":" in line:
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_has_native_bf16(flags: frozenset[str] | None = None) -> bool:
    """True where bf16 matmuls run in hardware: AVX512-BF16 or AMX flags, or PyTorch reporting AMX."""
    flags = cpu_flags() if flags is None else flags
    if flags & NATIVE_BF16_FLAGS:
        return True
    try:
        import torch

        return "AMX" in torch.backends.cpu.get_cpu_capability()
    except (ImportError, AttributeError):
        return False


def choose_precision(requested: str | None, device_type: str, native_bf16: bool,
                     gpu_bf16: bool = False) -> tuple[str, str | None]:
    """(precision for accelerate: no/fp16/bf16, a warning or None) from the request and the hardware."""
    requested = (requested or "auto").lower()
    if requested not in PRECISIONS:
        raise ValueError(f"--mixed_precision must be one of {', '.join(PRECISIONS)}, not {requested!r}")
    if device_type == "cpu":
        if requested == "auto":
            return ("bf16" if native_bf16 else "no"), None
        if requested == "bf16" and not native_bf16:
            return "no", SLOW_BF16
        if requested == "fp16":
            return "no", "fp16 autocast is not used on a CPU; training in fp32"
        return requested, None
    if requested == "auto":
        return ("bf16" if gpu_bf16 else "no"), None
    return requested, None


def resolve_precision(requested: str | None) -> str:
    """The precision for this process's device; logs the fallback warning once."""
    import torch

    env = os.environ.get("ACCELERATE_MIXED_PRECISION")  # `accelerate launch --mixed_precision` sets it
    if (requested or "auto") == "auto" and env:
        requested = env
    on_gpu = torch.cuda.is_available() and os.environ.get("ACCELERATE_USE_CPU", "").lower() not in ("1", "true")
    gpu_bf16 = on_gpu and torch.cuda.is_bf16_supported()
    precision, warning = choose_precision(requested, "cuda" if on_gpu else "cpu",
                                          native_bf16=not on_gpu and cpu_has_native_bf16(), gpu_bf16=gpu_bf16)
    if warning:
        logger.warning(warning)
    return precision


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Threads for this process: $HUBKIT_CPU_THREADS, else the usable cores / processes on this node."""
    env = os.environ.get(THREADS_ENV, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    return max(1, usable_cores() // max(1, local_processes))


def apply_threads(threads: int | None = None) -> int:
    """Set PyTorch's intra-op threads (given, else `default_threads()`); returns the number set."""
    import torch

    n = threads or default_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


DDP_CPU_COMMAND = "ACCELERATE_USE_CPU=true torchrun --nproc_per_node {n} hubkit/train.py ..."


def requested_processes(pid: int | None = None) -> int | None:
    """The process count asked of `accelerate launch` (read from the parent's command line, Linux),
    or None when this process was not started by it with --num_processes."""
    try:
        argv = Path(f"/proc/{pid or os.getppid()}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    launcher = any(a.endswith("accelerate-launch") for a in argv) or (
        any(a.endswith("accelerate") for a in argv) and "launch" in argv)
    if not launcher:
        return None
    for i, arg in enumerate(argv):
        for flag in ("--num_processes", "--num-processes"):
            if arg == flag and i + 1 < len(argv) and argv[i + 1].isdigit():
                return int(argv[i + 1])
            if arg.startswith(flag + "="):
                value = arg.split("=", 1)[1]
                return int(value) if value.isdigit() else None
    return None


def check_process_group(num_processes: int, device_type: str) -> None:
    """Stop a launch whose processes are not the one group they were meant to be."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world > 1 and num_processes != world:
        raise ValueError(
            f"{world} processes were started (WORLD_SIZE={world}) but they are not one training group: each would "
            "train alone and all would write the same --output_dir. On CPUs run "
            f"`{DDP_CPU_COMMAND.format(n=world)}` (gloo DDP); on GPUs `accelerate launch --num_processes {world} "
            "hubkit/train.py ...`")
    asked = requested_processes()
    if asked and asked > 1 and num_processes == 1 and device_type == "cpu":
        raise ValueError(
            f"accelerate launch asked for {asked} processes, but only this one started: on a CPU accelerate needs "
            f"MPI for more. Run `{DDP_CPU_COMMAND.format(n=asked)}` instead (gloo DDP, no MPI).")
