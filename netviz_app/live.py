"""The live view of a running optimisation: throttled drawing, Start/Stop, a clean stop.

How it works with Streamlit's execution model:

* The page calls ``decide(...)`` with its current configuration.  A run starts when
  Start is pressed, or, with the page's visible **Live** toggle on, when the
  configuration changed while the page is *armed* (a run was started and not
  stopped): changing a slider reruns the script, which interrupts the loop of the old
  run, and the new configuration starts a new one.  With Live off nothing starts
  without Start: a finished run stays on screen, labelled as made with other
  settings (``stale``) once the configuration changed.
* Stop is an ordinary button: its click reruns the script, which interrupts the loop
  at its next draw; ``decide`` then marks the run stopped and disarms the page.
* A click during a long script run makes Streamlit start the new run at once, in a
  new thread, and stop the old one only at the old one's next Streamlit call: for a
  moment two threads share this session's ``LiveRun`` (observed in Chromium; see
  benchmarks/results/live_view.md).  So ``decide``
  first asks any loop still driving the page's run to stop, and waits until it has
  (``LiveRun.stop_requested`` / ``LiveRun.idle``); the loop looks after every frame.
* ``drive`` iterates the core's frame generator in the script thread and calls the
  page's ``draw`` at most ``max_fps`` times per second, and less often when a draw is
  expensive: drawing may take at most ``DRAW_SHARE`` of the time (frames in between
  are only recorded), so the optimiser is never held up by the browser.  Everything recorded
  lives in a ``LiveRun`` in ``st.session_state``: after a stop (or an interruption)
  the frames produced so far are still there for the scrubber.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import streamlit as st

from .params import spec
from .state import Param

RUNNING, DONE, STOPPED, FAILED = "running", "done", "stopped", "failed"
#: How long a new script run waits for the loop it replaces to stop (it looks after every optimiser step).
SUPERSEDE_TIMEOUT_S = 60.0
#: The largest share of a live run's time spent drawing: when a draw takes d seconds (a running mean)
#: the next waits at least d / DRAW_SHARE (a slow machine draws less often instead of optimising less).
DRAW_SHARE = 0.1

_serials = itertools.count(1)


def _idle_event() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


@dataclass
class LiveRun:
    """One run of a page, kept in session state."""

    config: Any
    status: str = RUNNING
    job: Any = None  # the core's run object (e.g. a ClassVisRun), for its result after a stop
    last: Any = None  # the last frame seen
    steps: list[int] = field(default_factory=list)  # the step of each kept picture
    pictures: list[Any] = field(default_factory=list)  # kept pictures (uint8 arrays), for the scrubber
    history: list[Any] = field(default_factory=list)  # per-step numbers, for the charts
    result: Any = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    drawn: int = 0  # how many times the live view was drawn
    draw_s: float = 0.0  # seconds spent drawing it (this process's side of a draw)
    seen: int = 0  # how many frames the optimiser produced
    serial: int = field(default_factory=lambda: next(_serials))  # tells runs apart (e.g. in widget keys)
    total: int | None = None  # the number of steps the run will take, for the progress bar
    notes: dict = field(default_factory=dict)  # page-specific records of the run (e.g. held-out ranks per step)
    stop_requested: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    idle: threading.Event = field(default_factory=_idle_event, repr=False, compare=False)  # no loop drives it

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _key(prefix: str, what: str) -> str:
    return f"{prefix}.live.{what}"


def current(prefix: str) -> LiveRun | None:
    return st.session_state.get(_key(prefix, "run"))


def buttons(prefix: str, container=st, start_label: str = "Start", disabled: bool = False,
            state=None) -> tuple[bool, bool]:
    """Start and Stop buttons side by side, and the Live toggle under them; returns (start, stop) clicks.

    With ``state`` (the page's ``UrlState``) the toggle is a URL parameter, ``live``, too.
    """
    c1, c2 = container.columns(2)
    start = c1.button(start_label, key=_key(prefix, "start"), type="primary", disabled=disabled, width="stretch")
    stop = c2.button("Stop", key=_key(prefix, "stop"), width="stretch")
    if state is not None:
        if "live" not in state.params:
            state.declare(Param("live", "bool", False))
        state.toggle("live", container=container)
    else:
        container.toggle(spec("live").text, key=f"{prefix}.live", help=spec("live").help, persist_state="session")
    return start, stop


def is_live(prefix: str) -> bool:
    """Whether the page's Live toggle is on (changes restart a run without Start)."""
    return bool(st.session_state.get(f"{prefix}.live", False))


def stale(run: "LiveRun | None", config: Any) -> bool:
    """Whether ``run`` was made with another configuration than the page's current one."""
    return run is not None and run.config != config


def decide(prefix: str, config: Any, start: bool, stop: bool) -> bool:
    """Whether this script run should start a new optimisation for ``config``.

    First, a loop that an earlier script run may still be driving is stopped (see the
    module docstring), so that what follows reads a run no other thread changes.
    """
    run = current(prefix)
    if run is not None and not run.idle.is_set():
        run.stop_requested.set()
        run.idle.wait(SUPERSEDE_TIMEOUT_S)
    armed_key = _key(prefix, "armed")
    if stop:
        st.session_state[armed_key] = False
        if run is not None and run.status == RUNNING:
            run.status = STOPPED
        return False
    if start:
        st.session_state[armed_key] = True
        return True
    if is_live(prefix) and st.session_state.get(armed_key) and (run is None or run.config != config):
        return True
    if run is not None and run.status == RUNNING:  # interrupted by a rerun that changed nothing of ours
        run.status = STOPPED
    return False


def begin(prefix: str, config: Any, job: Any = None, total: int | None = None) -> LiveRun:
    run = LiveRun(config=config, job=job, total=total)
    st.session_state[_key(prefix, "run")] = run
    return run


def shown(prefix: str, slot, hint: str, *, made_for: Callable[[LiveRun], bool] | None = None,
          ready: Callable[[LiveRun], bool] = lambda run: bool(run.pictures)) -> LiveRun:
    """The run whose results the page draws below its controls; otherwise the page stops.

    Without a run (or one ``made_for`` rejects: another mode of the page) ``hint`` says how to
    start one in ``slot``; a failed run's message is shown; a run with nothing ``ready`` to draw
    stops the page quietly.
    """
    run = current(prefix)
    if run is None or (made_for is not None and not made_for(run)):
        slot.info(hint)
        st.stop()
    if run.error:
        st.error(run.error)
    if not ready(run):
        st.stop()
    return run


def status_word(run: LiveRun) -> str:
    """How a run ended (or that it runs), for captions: finished / stopped / failed / running."""
    return {DONE: "finished", STOPPED: "stopped", FAILED: "failed"}.get(run.status, run.status)


def progress(run: LiveRun, slot, detail: str = "") -> None:
    """A progress bar with the step count, ``detail`` (e.g. the scores) and the speed (steps/s) in ``slot``.

    ``slot`` is an ``st.empty()``.  Every optimisation page shows one while it runs: the
    header's running indicator is hidden by ``toolbarMode = "minimal"``.
    """
    rate = run.seen / max(run.elapsed, 1e-6)
    step = max(run.seen - 1, 0)
    detail = f", {detail}" if detail else ""
    if run.total:
        frac = min(1.0, run.seen / (run.total + 1))
        slot.progress(frac, text=f"{run.status}: step {step}/{run.total}{detail}, {rate:.1f} steps/s")
    else:
        slot.progress(0.0, text=f"{run.status}: step {step}{detail}, {rate:.1f} steps/s")


def drive(
    run: LiveRun,
    frames: Iterable,
    record: Callable[[LiveRun, Any], None],
    draw: Callable[[LiveRun], None],
    *,
    max_fps: float = 8.0,
    on_error: type[BaseException] | tuple = (),
    progress_slot=None,
) -> LiveRun:
    """Iterate ``frames``; ``record(run, frame)`` every frame, ``draw(run)`` at most ``max_fps``/s.

    The first and the final frame (``frame.final``) are always drawn; ``run.drawn``
    counts the draws (unique keys for elements redrawn in one script run).  The draw
    rate adapts to the cost of a draw: when draws take d seconds (a running mean) the
    next waits at least d / ``DRAW_SHARE``.

    An exception listed in ``on_error`` (e.g. NetVizError) marks the run failed with
    its message; Streamlit's own rerun/stop exceptions pass through (the loop is
    interrupted and the frames so far stay in ``run``).  When a newer script run of
    the session asks this loop to stop (``decide``), it ends after the frame in hand
    and ends this script run too (``st.stop``): the newer run has taken over.

    ``progress_slot`` (an ``st.empty()``) gets a progress bar with the step count and
    steps/s at every draw.
    """
    interval = 1.0 / max_fps
    wait = interval  # until the next draw: the interval, or longer when draws are expensive
    cost = None  # running mean of a draw's seconds
    last_draw = 0.0
    superseded = False
    run.idle.clear()
    try:
        for frame in frames:
            run.last = frame
            run.seen += 1
            record(run, frame)
            if run.stop_requested.is_set():
                superseded = True
                break
            now = time.monotonic()
            if now - last_draw >= wait or run.seen == 1 or getattr(frame, "final", False):
                run.drawn += 1
                draw(run)
                if progress_slot is not None:
                    progress(run, progress_slot)
                last_draw = time.monotonic()
                run.draw_s += last_draw - now
                # a running mean: one costly draw (e.g. the chart's) does not hold up the next pictures
                cost = last_draw - now if cost is None else 0.7 * cost + 0.3 * (last_draw - now)
                wait = max(interval, cost / DRAW_SHARE)
        else:
            run.status = DONE
    except on_error as exc:  # type: ignore[misc]
        run.status, run.error = FAILED, str(exc)
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
        run.idle.set()
    if superseded:
        run.status = STOPPED
        st.stop()
    return run


def keep_every(iterations: int, budget: int = 150) -> int:
    """Keep every k-th picture so that a run keeps at most ~``budget`` of them (memory per session)."""
    return max(1, -(-int(iterations) // budget))


@dataclass
class Lockstep:
    """One step of several runs advanced together (``lockstep``); ``frames[i]`` is run i's latest frame."""

    frames: tuple
    final: bool


def lockstep(*generators) -> Iterable[Lockstep]:
    """Advance several frame generators one step each, in turn, until all are exhausted.

    A run that has finished keeps its last frame; each yielded ``Lockstep`` holds
    the latest frame of every run.  Closing it closes them all.
    """
    latest: list[Any] = [None] * len(generators)
    alive = [True] * len(generators)
    try:
        while True:
            progressed = False
            for i, gen in enumerate(generators):
                if alive[i]:
                    try:
                        latest[i] = next(gen)
                        progressed = True
                    except StopIteration:
                        alive[i] = False
            if not progressed or any(f is None for f in latest):
                return
            done = all(getattr(f, "final", False) or not a for f, a in zip(latest, alive))
            yield Lockstep(tuple(latest), final=done)
    finally:
        for gen in generators:
            close = getattr(gen, "close", None)
            if close is not None:
                close()
