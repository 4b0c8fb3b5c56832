"""Micro-batches on CPU worker threads (netviz_core.optimize.parallel) and the engine's use of them.

NETVIZ_CPU_WORKERS=2 makes the split happen whatever the machine's core count, so
these tests check the same code path on any CI machine.  Small 64x64 images keep them fast.
"""

from __future__ import annotations

import threading

import pytest
import torch
from conftest import assert_model_clean

from netviz_core.optimize import ClampToPixelRange, ClassLogit, Jitter, L2Norm, Lambda, NormalizedGradient
from netviz_core.optimize import make_generators, optimize, parallel
from netviz_core.optimize.engine import score_images

SIZE = 64
TARGETS = [76, 1, 130, 963, 207]


@pytest.fixture
def two_workers(monkeypatch):
    if parallel._openmp_setter() is None:
        pytest.skip("this torch build has no OpenMP runtime that NetViz can set per thread")
    monkeypatch.setenv("NETVIZ_CPU_WORKERS", "2")


def _run(net, targets, seeds, max_iter, **kw):
    gens = make_generators(seeds, len(seeds))
    x0 = torch.stack([torch.randn(3, SIZE, SIZE, generator=g) for g in gens]).clamp(-1, 1)
    return list(optimize(net, x0, targets, generators=gens, objective=ClassLogit() - 1e-3 * L2Norm(),
                         step_rule=NormalizedGradient(5.0), transforms=[Jitter(4)],
                         post_steps=[ClampToPixelRange()], max_iter=max_iter, **kw))


def test_plan_splits_into_micro_batches_of_two(two_workers):
    cpu = torch.device("cpu")
    assert parallel.plan(1, cpu) is None  # nothing to split
    assert parallel.plan(2, cpu) == [slice(0, 1), slice(1, 2)]  # one image per worker
    assert parallel.plan(8, cpu) == [slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 8)]
    five = parallel.plan(5, cpu)
    assert [s.stop - s.start for s in five] == [2, 1, 2] and five[-1].stop == 5
    assert parallel.plan(8, torch.device("cuda")) is None  # only CPU batches are split


def test_workers_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("NETVIZ_CPU_WORKERS", "0")
    assert parallel.cpu_workers() == 0 and parallel.plan(8, torch.device("cpu")) is None
    monkeypatch.setenv("NETVIZ_CPU_WORKERS", "not a number")
    assert parallel.cpu_workers() == 0


def test_micro_batched_run_is_each_micro_batch_run_on_one_thread(lite0, two_workers):
    seeds = [0, 1, 2, 3, 4]
    micro = _run(lite0, TARGETS, seeds, 3)
    again = _run(lite0, TARGETS, seeds, 3)
    assert all(torch.equal(a.images, b.images) for a, b in zip(micro, again))  # scheduling changes nothing
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        chunks = [_run(lite0, TARGETS[s], seeds[s], 3, parallel=False) for s in parallel.plan(5, lite0.device)]
    finally:
        torch.set_num_threads(threads)
    for k, frame in enumerate(micro):
        assert torch.equal(frame.images, torch.cat([c[k].images for c in chunks])), k
        assert torch.equal(frame.scores, torch.cat([c[k].scores for c in chunks])), k
        assert torch.equal(frame.terms["l2"], torch.cat([c[k].terms["l2"] for c in chunks])), k
    assert_model_clean(lite0)


def test_micro_batched_and_one_pass_agree_on_the_first_frame(lite0, two_workers):
    micro = _run(lite0, TARGETS[:4], [0, 1, 2, 3], 0)[0]
    one_pass = _run(lite0, TARGETS[:4], [0, 1, 2, 3], 0, parallel=False)[0]
    assert torch.equal(micro.images, one_pass.images)
    assert torch.allclose(micro.scores, one_pass.scores, atol=1e-3)


def test_workers_leave_the_thread_settings_of_other_threads_alone(lite0, two_workers):
    before = torch.get_num_threads()
    _run(lite0, TARGETS[:2], [0, 1], 1)
    seen = []
    t = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert torch.get_num_threads() == before  # this thread
    assert seen == [before]  # a thread started later (Streamlit starts one per script run)


def test_an_error_in_a_worker_reaches_the_caller(lite0, two_workers):
    def exploding(ctx):
        raise ValueError("objective failed")

    gens = make_generators([0, 1], 2)
    with pytest.raises(ValueError, match="objective failed"):
        list(optimize(lite0, torch.zeros(2, 3, SIZE, SIZE), [1, 2], generators=gens,
                      objective=Lambda(exploding), max_iter=2))
    assert_model_clean(lite0)


def test_nested_use_from_a_worker_runs_serially(two_workers):
    inner = parallel.map_parallel(lambda i: parallel.map_parallel(lambda j: (i, j, threading.current_thread().name),
                                                                  [0, 1]), [0, 1])
    for i, pairs in enumerate(inner):
        assert [(a, b) for a, b, _ in pairs] == [(i, 0), (i, 1)]
        assert len({name for *_, name in pairs}) == 1  # both on the worker that ran the outer item


def test_score_images_uses_the_runs_passes(lite0, two_workers):
    x = torch.randn(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    micro = score_images(lite0, x)
    one_by_one = score_images(lite0, x, batch_invariant=True)
    assert micro.shape == (4, lite0.num_classes) and not micro.requires_grad
    assert torch.allclose(micro, one_by_one, atol=1e-3)
