"""Many dashboard sessions on one cached model at once.

The dashboard shares one ``LoadedModel`` between all sessions (``st.cache_resource``),
and Streamlit runs each session's script in its own thread.  So 8 threads run
saliency maps, fooling images and class visualizations at the same time on one
model; each result must equal the same job run alone, and the model must be left
as it was: eval mode, frozen, no hooks, no ``.grad``.

The memory test (slow) runs 240 jobs, 8 sessions at a time, in a fresh process configured
as the product is, and checks that memory levels off: resident memory after 240 runs
within 10 % of that after 120.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch

from conftest import assert_model_clean

THREADS = 8


@pytest.fixture(scope="module")
def shared():
    """The one cached model every session gets (the process-wide cache, as the CLI and app use)."""
    from netviz_core.models import load_model_cached

    net = load_model_cached("tf_efficientnet_lite0", device="cpu")
    assert load_model_cached("tf_efficientnet_lite0", device="cpu") is net
    return net


def _jobs(net, chelsea, coffee):
    """(name, job) pairs; each job returns tensors that must not depend on what runs beside it."""
    from netviz_core.classvis import class_visualization
    from netviz_core.fooling import fool
    from netviz_core.images import preprocess
    from netviz_core.saliency import saliency

    cat, cup = preprocess(net, chelsea), preprocess(net, coffee)

    def sal(method, x, **options):
        return lambda: {"map": saliency(net, x, method=method, **options)}

    def fooling(x, target):
        def run():
            r = fool(net, x, target, iterations=3)
            return {"image": r.fooling_image, "iterations": torch.tensor(r.iterations)}
        return run

    def classvis(target, seed):
        def run():
            r = class_visualization(net, [target], iterations=3, seed=seed)
            return {"image": r.tensors, "scores": torch.tensor(r.scores)}
        return run

    return [
        ("vanilla-cat", sal("vanilla", cat)),
        ("smoothgrad-cup", sal("smoothgrad", cup, n=4, seed=1)),
        ("guided-cat", sal("guided", cat)),
        ("gradcam-cup", sal("gradcam", cup)),
        ("fool-cat-to-goldfish", fooling(cat, 1)),
        ("fool-cup-to-tarantula", fooling(cup, 76)),
        ("classvis-tarantula", classvis(76, 0)),
        ("classvis-goldfish", classvis(1, 3)),
    ]


def _run_threads(jobs, rounds: int = 1) -> tuple[dict, list[str]]:
    """Run every job ``rounds`` times across THREADS threads, all started together."""
    results: dict[tuple[str, int], dict] = {}
    errors: list[str] = []
    start = threading.Barrier(THREADS)
    work = [(name, job, r) for r in range(rounds) for name, job in jobs]

    def worker(i: int) -> None:
        start.wait()
        for name, job, r in work[i::THREADS]:
            try:
                results[(name, r)] = job()
            except Exception as exc:  # reported by the test
                errors.append(f"{name}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,), name=f"session-{i}") for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_eight_sessions_at_once_equal_their_serial_results(shared, chelsea, coffee):
    jobs = _jobs(shared, chelsea, coffee)
    assert len(jobs) == THREADS
    serial = {name: job() for name, job in jobs}
    assert_model_clean(shared)

    parallel, errors = _run_threads(jobs, rounds=1)
    assert errors == []
    assert len(parallel) == len(jobs)
    for (name, _r), got in parallel.items():
        for key, value in serial[name].items():
            assert torch.equal(got[key], value), f"{name}: {key} differs from the serial run"
    assert_model_clean(shared)


#: Run in a fresh interpreter: its own model and malloc state, whatever ran before in the test process.
MEMORY_PROBE = textwrap.dedent(
    """
    import gc, json, os, sys
    sys.path.insert(0, {tests!r})
    from netviz_core.runtime import reuse_freed_memory
    applied = reuse_freed_memory()  # at start-up, as the CLI, the dashboard and the benchmark do
    from conftest import assert_model_clean
    from test_concurrency import _jobs, _run_threads
    from netviz_core.images import open_image
    from netviz_core.models import load_model_cached
    net = load_model_cached("tf_efficientnet_lite0", device="cpu")
    jobs = _jobs(net, open_image({chelsea!r}), open_image({coffee!r}))
    page = os.sysconf("SC_PAGE_SIZE")
    errors, samples = [], {{}}
    for done in range(len(jobs), {runs} + 1, len(jobs)):
        errors += _run_threads(jobs, rounds=1)[1]
        gc.collect()  # Python garbage is not what is measured; glibc keeps what it keeps (no malloc_trim)
        with open("/proc/self/statm") as f:
            samples[done] = int(f.read().split()[1]) * page
    assert_model_clean(net)
    print(json.dumps({{"applied": applied, "errors": errors, "samples": samples}}))
    """
)


@pytest.mark.long
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads resident memory from /proc")
def test_memory_levels_off_after_the_first_runs(assets):
    """Runs on one shared model do not make the process grow.

    Measured as the product runs: in a fresh process with ``reuse_freed_memory`` applied at
    start-up and nothing trimmed, 8 sessions at a time on one cached model.  The process
    first grows to its working set in steps: glibc keeps the freed activations in each malloc
    arena for the next step, and new arenas (up to 8 per core) are made as session threads
    contend, at moments that vary from run to run.  So the reference is taken halfway, once
    that is done, and each level is the median of three samples (what a round leaves in flight
    varies).
    """
    import os
    import statistics

    runs = 240
    tests = Path(__file__).resolve().parent
    code = MEMORY_PROBE.format(tests=str(tests), chelsea=str(assets / "chelsea.png"),
                               coffee=str(assets / "coffee.png"), runs=runs)
    env = dict(os.environ, NETVIZ_REUSE_FREED_MEMORY="1")
    done = subprocess.run([sys.executable, "-c", code], cwd=tests.parent, env=env, capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    samples = {int(k): v for k, v in report["samples"].items()}
    assert report["errors"] == []
    if platform.libc_ver()[0] == "glibc":
        assert report["applied"] is True  # the product's malloc setting took effect
    assert sorted(samples) == list(range(THREADS, runs + 1, THREADS))
    settled = statistics.median(samples[k] for k in (112, 120, 128))
    last = statistics.median(samples[k] for k in (runs - 16, runs - 8, runs))
    growth = (last - settled) / settled
    print(f"resident after 120 runs: {settled / 2**20:.0f} MiB, after {runs}: {last / 2**20:.0f} MiB ({growth:+.1%}); "
          f"samples {[round(v / 2**20) for v in samples.values()]} MiB")
    assert abs(growth) <= 0.10, f"memory grew {growth:+.1%} from run 120 to run {runs}"
