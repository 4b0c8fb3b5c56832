"""The class-visualization view: what the dashboard draws of a run, one implementation.

The Class Visualization page draws its live run with ``LiveView`` (the picture, the
score curve and a status line) and records frames with ``recorder``; the Compare
Backbones page draws each model's picture with ``show``; the benchmark
(``benchmarks/bench/live_view.py``) times exactly this view, so its figures are
the page's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from netviz_core.classvis import DISPLAY_SIZE, upscale
from netviz_core.images import to_uint8

from .charts import score_curve
from . import live
from .live import LiveRun, keep_every
from .media import as_pil, jpeg_bytes


def show(slot, picture, *, size: int = DISPLAY_SIZE, caption: str | None = None, live: bool = False) -> None:
    """One generated picture (uint8 array or PIL image) in ``slot``, nearest-neighbour upscaled to ``size``
    and shown at the column's width.

    ``live``: as a JPEG, a few kB per frame while the optimiser runs; otherwise the
    lossless picture.
    """
    image = upscale(as_pil(picture), size)
    slot.image(jpeg_bytes(image) if live else image, caption=caption, width="stretch")  # follows the column


def recorder(net, iterations: int) -> Callable[[LiveRun, Any], None]:
    """``record(run, frame)`` for ``live.drive``: (S_c, P_c) of every step, the picture of every k-th.

    k is ``live.keep_every(iterations)``; the final frame is always kept.
    """
    keep = keep_every(iterations)

    def record(run: LiveRun, frame) -> None:
        run.history.append((float(frame.scores[0]), float(frame.probabilities[0])))
        if frame.step % keep == 0 or frame.final:
            run.steps.append(frame.step)
            run.pictures.append(to_uint8(net, frame.images[:1])[0])

    return record


#: Steps between two held-out checks: each costs one forward pass per held-out backbone (three, about one
#: optimiser step of lite0), so checking every 8th step slows the run by roughly a tenth.
HELD_OUT_EVERY = 8


def held_out_recorder(record: Callable[[LiveRun, Any], None], net, target: int, judges: dict,
                      every: int = HELD_OUT_EVERY) -> Callable[[LiveRun, Any], None]:
    """``record`` plus, every ``every`` steps and at the last, each judge's rank of ``target`` for the 8-bit
    picture (``run.notes["held_out"]``: a list of (step, {judge: rank}))."""
    from netviz_core.classvis import transfer_ranks
    from netviz_core.images import deprocess_batch

    def record_with_ranks(run: LiveRun, frame) -> None:
        record(run, frame)
        if frame.step % every == 0 or frame.final:
            ranks = transfer_ranks(deprocess_batch(net, frame.images[:1]), [target], judges)
            run.notes.setdefault("held_out", []).append((frame.step, {name: r[0] for name, r in ranks.items()}))

    return record_with_ranks


def held_out_caption(run: LiveRun) -> str | None:
    """The judges' latest ranks and the first step at which every one of them ranked the class first."""
    checks = run.notes.get("held_out")
    if not checks:
        return None
    step, ranks = checks[-1]
    first = next((s for s, r in checks if all(v == 1 for v in r.values())), None)
    since = (f"top-1 on all of them first at step {first}" if first is not None
             else "not yet top-1 on all of them")
    return (f"Held-out backbones (the 8-bit picture at step {step}): "
            + ", ".join(f"{name} #{rank}" for name, rank in ranks.items()) + f"; {since}.")


@dataclass
class LiveView:
    """The picture, the score curve and the status line of one run, drawn into three Streamlit slots."""

    image_slot: Any
    chart_slot: Any
    status_slot: Any
    iterations: int
    key: str  # prefix of the chart's element keys (unique per page)
    progress_slot: Any = None  # the progress bar, with S_c and P in its text (else the status line says them)
    size: int = DISPLAY_SIZE
    headline: str | None = None  # presentation mode: the class name in large type instead of the status line
    #: The score curve is redrawn at most this often (seconds) while the run goes: each redraw makes the
    #: browser build a new Plotly chart, which costs it far more than a new picture.  The finished run's
    #: curve is the page's to draw (with the scrubber's marker).
    chart_every_s: float = 2.0
    _chart_at: float | None = None  # when the curve was last drawn (time.monotonic)

    def draw(self, run: LiveRun) -> None:
        """The ``draw`` of ``live.drive``: the latest kept picture, the curve so far, step, scores and speed."""
        step = run.steps[-1] if run.steps else 0
        show(self.image_slot, run.pictures[-1], size=self.size, caption=f"step {step}", live=True)
        now = time.monotonic()
        if self._chart_at is None or now - self._chart_at >= self.chart_every_s:
            self._chart_at = now
            self.chart_slot.plotly_chart(score_curve({"S_c": [h[0] for h in run.history]}),
                                         key=f"{self.key}_chart_live_{run.drawn}")
        s, p = run.history[-1]
        if self.headline is not None:
            self.status_slot.markdown(f"## {self.headline}  \nP = {p:.1%}")
        if self.progress_slot is not None:  # one element for the step, the scores and the speed
            live.progress(run, self.progress_slot, detail=f"S_c {s:.2f}, P {p:.1%}")
        elif self.headline is None:
            rate = run.seen / max(run.elapsed, 1e-6)
            self.status_slot.caption(f"running: step {len(run.history) - 1}/{self.iterations}, S_c {s:.2f}, "
                                     f"P {p:.1%}, {rate:.1f} steps/s")
