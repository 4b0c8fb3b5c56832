"""The NetViz benchmark, ``python -m benchmarks.bench``: how fast NetViz is, next to the raw network step.

Every NetViz figure is divided by the *raw step* measured in the same process,
alternating (raw, NetViz, raw, NetViz, ...; step by step for class visualization),
so that a busy machine slows both sides of a ratio alike.  The raw step is what no
library can avoid: one forward pass of the frozen module and one backward pass to
the input,

    x.requires_grad_(); g = autograd.grad(module(x)[target].sum(), x)

with the input in the layout NetViz feeds the module (``LoadedModel.memory_format``).

What it measures, per model (tf_efficientnet_lite0/1/2 by default):

* class visualization (``ClassVisRun``, the CS231n preset: jitter, L2, normalised
  step, clamp, blur every 10) at batch 1 and batch 8: time per step, alternating
  step by step with the raw step (``interleaved_steps``), and end to end;
* the batching gain: image-iterations per second at batch 8 over batch 1;
* saliency latency (vanilla gradient and Grad-CAM, predicted class, one image);
* fooling (``fool``, CS231n settings) time to success and time per iteration;
* the live view (lite0): the class-visualization page's drawing code (JPEG of the
  upscaled picture, the score chart, the caption) driven by ``netviz_app.live.drive``
  inside Streamlit's ``AppTest`` (every element is marshalled and queued as for a
  browser; no browser), frames drawn per second and the optimiser's speed relative
  to the same run headless;
* layout and thread choices (lite0, batch 1): channels_last versus contiguous
  weights, 1 thread versus the default, the cost of the engine's per-step checks
  and of the torch blur;
* optionally the cold start of the dashboard (``--cold-start``) and Lucent
  (``--lucent-python``, run by ``benchmarks/lucent_compare.py`` in its own venv).

``run_benchmark`` returns a JSON-able dict; ``markdown`` turns it into the table in
benchmarks/results/bench.md.  ``--quick`` (lite0 only, short runs) takes well under
a minute on a quiet 2-core CPU.

It lives in the repository, not in the installed package: it reads ``assets/``,
starts ``app.py`` and draws with the dashboard's own view (``netviz_app``).
Modules: ``common`` (models, targets, timing, the machine), ``measure`` (the raw step,
class visualization, saliency, fooling, choices), ``live_view``, ``external`` (cold
start, Lucent), ``report`` (the Markdown table), ``__main__`` (the command line).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import torch

from netviz_core.models import default_device

from .common import BENCH_MODELS, TARGETS, loadavg, machine_info
from .external import cold_start, lucent
from .live_view import bench_live_view
from .measure import bench_choices, bench_model
from .report import markdown, write_outputs

__all__ = ["run_benchmark", "markdown", "write_outputs"]


def run_benchmark(*, quick: bool = False, models: tuple[str, ...] | None = None, device: str | None = None,
                  live_view: bool = True, choices: bool = True, cold: bool = False,
                  lucent_python: str | None = None, log: Callable[[str], None] = print) -> dict:
    """Every measurement, as a JSON-able dict (``markdown`` renders it)."""
    dev = torch.device(device) if device else default_device()
    models = tuple(models) if models else ((BENCH_MODELS[0],) if quick else BENCH_MODELS)
    started = time.perf_counter()
    result: dict[str, Any] = {"machine": machine_info(dev), "quick": quick, "loadavg_start": loadavg(),
                              "targets": TARGETS, "models": []}
    log(f"NetViz benchmark on {result['machine']['cpu']} ({result['machine']['cores']} cores), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {dev}; load {result['loadavg_start']}")
    for name in models:
        result["models"].append(bench_model(name, dev, quick=quick, log=log))
    if choices:
        log("  layout / threads / per-step extras ...")
        result["choices"] = bench_choices(models[0], dev, quick=quick)
    if live_view:
        log("  live view ...")
        result["live_view"] = bench_live_view(models[0], dev, quick=quick)
    if lucent_python:
        log("  Lucent ...")
        result["lucent"] = lucent(lucent_python, models[0], 10 if quick else 50, 1 if quick else 3)
    if cold:
        log("  cold start ...")
        result["cold_start"] = cold_start()
    result["loadavg_end"] = loadavg()
    result["total_s"] = time.perf_counter() - started
    return result

