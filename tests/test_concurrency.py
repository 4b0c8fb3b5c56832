"""Many dashboard sessions on one cached model at once.

The dashboard shares one ``LoadedModel`` between all sessions (``st.cache_resource``),
and Streamlit runs each session's script in its own thread.  So 8 threads run
saliency maps, fooling images and class visualizations at the same time on one
model; each result must equal the same job run alone, and the model must be left
as it was: eval mode, frozen, no hooks, no ``.grad``.

The memory test (slow) runs 100 jobs and checks that the process does not grow:
resident memory after 100 runs within 10 % of that after 10.
"""

from __future__ import annotations

import gc
import os
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
            r = fool(net, x, target, max_iter=3)
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


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads resident memory from /proc")
def test_memory_after_100_runs_is_within_10_percent_of_after_10(shared, chelsea, coffee):
    jobs = _jobs(shared, chelsea, coffee)

    def settle() -> int:
        gc.collect()
        return _rss_bytes()

    done = 0
    # 10 runs (8 jobs at once, then 2), to warm every allocator and cache.
    _, errors = _run_threads(jobs, rounds=1)
    _, more = _run_threads(jobs[:2], rounds=1)
    done += len(jobs) + 2
    after_10 = settle()
    while done < 100:
        batch = jobs[: min(len(jobs), 100 - done)]
        _, e = _run_threads(batch, rounds=1)
        more += e
        done += len(batch)
    after_100 = settle()
    assert errors == [] and more == []
    growth = (after_100 - after_10) / after_10
    print(f"RSS after 10 runs: {after_10 / 2**20:.0f} MiB, after 100: {after_100 / 2**20:.0f} MiB ({growth:+.1%})")
    assert abs(growth) <= 0.10, f"memory grew {growth:+.1%} from run 10 to run 100"
    assert_model_clean(shared)
