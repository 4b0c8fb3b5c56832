"""What every part of the benchmark shares: the models and targets it uses, timing, the machine."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch

#: The repository (the benchmark reads assets/ and runs app.py; it is not part of the installed package).
ROOT = Path(__file__).resolve().parents[2]
BENCH_MODELS = ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")
SAMPLE_IMAGE = ROOT / "assets" / "chelsea.png"
#: CS231n's fooling target (stingray) and a class to visualise (tarantula).
FOOL_TARGET = 6
CLASSVIS_TARGETS = (76, 1, 130, 207, 281, 340, 417, 948)

#: Targets the acceptance criteria set (compared in the Markdown and the report).
TARGETS = {
    "classvis_overhead_b1": 1.05,
    "classvis_overhead_b8": 1.05,
    "batch_gain": 1.5,
    "live_fps": 5.0,
    "live_speed": 0.90,
}


# --------------------------------------------------------------------------- timing helpers


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median(xs: list[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def times(fn: Callable[[], Any], reps: int, device: torch.device) -> list[float]:
    out = []
    for _ in range(reps):
        sync(device)
        t = time.perf_counter()
        fn()
        sync(device)
        out.append(time.perf_counter() - t)
    return out


def machine_info(device: torch.device) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    from netviz_core.runtime import reuse_freed_memory

    info = {
        "reuse_freed_memory": reuse_freed_memory(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "python": platform.python_version(),
    }
    return info


def loadavg() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):  # pragma: no cover
        return None

