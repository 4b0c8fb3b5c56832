"""netviz_core.runtime: the malloc setting that the CLI, the dashboard and the benchmark apply."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys

import pytest

from netviz_core import runtime

PROBE = """
import ctypes, json, resource, torch
from netviz_core.runtime import reuse_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = MallInfo2
applied = reuse_freed_memory()
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
MB = 2 ** 20
xs = [torch.ones(1_000_000) for _ in range(40)]  # 40 blocks of 4 MB, as a forward pass allocates
held = mallinfo2()
del xs
freed = mallinfo2()
before = faults()
for _ in range(10):  # the next steps allocate and free the same again
    xs = [torch.ones(1_000_000) for _ in range(40)]; del xs
print(json.dumps({"applied": applied, "mmapped_while_held_mb": held.hblkhd / MB,
                  "heap_after_free_mb": freed.arena / MB, "faults": faults() - before}))
"""


def _probe(env_value: str) -> dict:
    import os

    env = dict(os.environ, NETVIZ_REUSE_FREED_MEMORY=env_value)
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _glibc() -> bool:
    try:
        ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return sys.platform.startswith("linux")


@pytest.mark.skipif(not _glibc(), reason="the setting exists only in glibc's malloc")
def test_freed_memory_is_kept_for_the_next_step():
    tuned, default = _probe("1"), _probe("0")
    print(f"\ntuned {tuned}\ndefault {default}")
    assert tuned["applied"] is True and default["applied"] is False
    # glibc's default serves a new process's 4 MB blocks with mmap (threshold 128 KiB), and
    # unmaps them on free; tuned, they come from the heap, which keeps them when freed.
    assert default["mmapped_while_held_mb"] >= 150
    assert tuned["mmapped_while_held_mb"] < 10
    assert tuned["heap_after_free_mb"] >= 150
    # The page faults this saves (printed above) are a speed figure: benchmarks/ measures them.


def test_the_first_call_decides_and_later_calls_repeat_it(monkeypatch):
    monkeypatch.setattr(runtime, "_state", {})
    monkeypatch.setenv("NETVIZ_REUSE_FREED_MEMORY", "off")
    assert runtime.reuse_freed_memory() is False
    monkeypatch.setenv("NETVIZ_REUSE_FREED_MEMORY", "1")
    assert runtime.reuse_freed_memory() is False  # idempotent: no second change to the process
