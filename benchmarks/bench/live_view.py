"""The live view: the class-visualization page's view, drawn in Streamlit's AppTest while the optimiser runs.

The script draws with ``netviz_app.classvis_view`` (the view pages 3 and 5 draw)
through ``netviz_app.live.drive``, so what is timed is the page's drawing code.
"""

from __future__ import annotations

import torch

from netviz_core.models import load_model_cached

from .common import TARGETS, median
from .measure import classvis_run


def _live_view_script(model: str, device: str, iterations: int, max_fps: float, rounds: int) -> None:  # pragma: no cover
    """Run inside Streamlit's AppTest: the class-visualization page's live loop, against the same loop not drawing.

    Each round runs the optimiser once headless (the frames only) and once live (the
    page's record + draw through ``netviz_app.live.drive``), in this same script
    thread, so that the ratio compares like with like on a busy machine.  AppTest runs
    the function's source as a script: everything it uses is imported here.
    """
    import time

    import streamlit as st

    from netviz_app import classvis_view, live
    from netviz_core.classvis import ClassVisRun
    from netviz_core.models import load_model_cached

    net = load_model_cached(model, device=device)
    out = []
    for r in range(rounds):
        t = time.perf_counter()
        for _ in ClassVisRun(net, [76], preset="cs231n", iterations=iterations).frames():
            pass
        headless_s = time.perf_counter() - t

        job = ClassVisRun(net, [76], preset="cs231n", iterations=iterations)
        run = live.begin("bench", ("bench", r), job, total=iterations)
        view = classvis_view.LiveView(st.empty(), st.empty(), st.empty(), iterations, key=f"bench_{r}",
                                      progress_slot=st.empty())
        spent = {"draw": 0.0}

        def draw(run) -> None:
            t = time.perf_counter()
            view.draw(run)
            spent["draw"] += time.perf_counter() - t

        t = time.perf_counter()
        live.drive(run, job.frames(), classvis_view.recorder(net, iterations), draw, max_fps=max_fps)
        live_s = time.perf_counter() - t
        out.append({"seen": run.seen, "drawn": run.drawn, "elapsed_s": live_s, "headless_s": headless_s,
                    "draw_s": spent["draw"]})
    st.session_state["bench_live"] = out


def bench_live_view(name: str, device: torch.device, *, quick: bool) -> dict:
    """Frames drawn per second and the optimiser's speed while drawing, relative to the same loop headless."""
    try:
        from streamlit.testing.v1 import AppTest
    except ImportError as exc:  # pragma: no cover - streamlit is a dashboard dependency
        return {"error": f"streamlit is not installed: {exc}"}

    iterations, rounds = (25, 1) if quick else (60, 5)
    max_fps = 8.0
    net = load_model_cached(name, device=str(device))
    classvis_run(net, 1, 2)  # warm-up
    at = AppTest.from_function(_live_view_script, default_timeout=1200,
                               kwargs=dict(model=name, device=str(device), iterations=iterations, max_fps=max_fps,
                                           rounds=rounds))
    at.run()
    if at.exception:
        return {"error": "; ".join(str(e.message) for e in at.exception)}
    runs = [dict(r) for r in at.session_state["bench_live"]]
    headless_rate = median([iterations / r["headless_s"] for r in runs])
    # Per round, live over headless (neighbours in time); the figure is their median.
    per_round = [(r["seen"] / r["elapsed_s"]) / (iterations / r["headless_s"]) for r in runs]
    return {
        "model": name,
        "iterations": iterations,
        "rounds": rounds,
        "max_fps": max_fps,
        "frames_per_s": median([r["drawn"] / r["elapsed_s"] for r in runs]),
        "steps_per_s_live": median([r["seen"] / r["elapsed_s"] for r in runs]),
        "steps_per_s_headless": headless_rate,
        "speed_vs_headless": median(per_round),
        "per_round_speed": per_round,
        "draw_ms": 1e3 * median([r["draw_s"] / max(r["drawn"], 1) for r in runs]),
        "draw_share": median([r["draw_s"] / r["elapsed_s"] for r in runs]),
        "step_s": 1 / headless_rate,
        # The goal: >= 5 drawn frames/s, or every step when a step takes longer than 200 ms.
        "fps_goal": min(TARGETS["live_fps"], headless_rate),
    }
