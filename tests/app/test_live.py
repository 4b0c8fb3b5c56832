"""netviz_app.live: a newer script run stops the loop that an older one is still driving, and waits for it."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _supersede_script() -> None:  # runs inside AppTest's script thread (its body only: no module names)
    import threading
    import time
    from types import SimpleNamespace

    import streamlit as st

    from netviz_app import live

    LONG_RUN = 100_000  # frames: far more than the old loop produces before the newer run stops it

    def slow_frames():
        for k in range(LONG_RUN):
            time.sleep(0.002)  # one optimiser step
            yield SimpleNamespace(step=k, final=k == LONG_RUN - 1)

    recorded: list[int] = []
    five_recorded = threading.Event()

    def record(run, frame):
        recorded.append(frame.step)
        if len(recorded) == 5:
            five_recorded.set()

    run = live.begin("t", "old config")
    # The older script run's loop, still going when the newer run starts (as Streamlit does on a click).
    old = threading.Thread(target=live.drive, args=(run, slow_frames(), record, lambda r: None))
    old.start()
    five_recorded.wait(60)
    starts_new = live.decide("t", "new config", start=True, stop=False)
    seen_when_decided, idle_when_decided = run.seen, run.idle.is_set()
    old.join()  # the thread itself ends just after the loop has marked the run idle
    st.session_state["out"] = dict(starts_new=starts_new, seen=seen_when_decided, later=run.seen,
                                   idle=idle_when_decided, status=run.status, recorded=list(recorded),
                                   last=run.last.step, length=LONG_RUN)


def test_a_newer_script_run_stops_the_older_loop_and_waits_for_it():
    at = AppTest.from_function(_supersede_script, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    out = at.session_state["out"]
    assert out["starts_new"] is True
    assert out["idle"] is True  # the old loop had ended when decide returned
    assert 5 <= out["seen"] < out["length"] and out["later"] == out["seen"]  # ... and nothing moved after
    assert out["status"] == "stopped"
    assert out["recorded"] == list(range(out["seen"]))  # every frame seen was recorded, the last included
    assert out["last"] == out["seen"] - 1


def _stuck_loop_script() -> None:
    """A loop that never looks at its stop request: the newer run waits SUPERSEDE_TIMEOUT_S once, then goes on."""
    import streamlit as st

    from netviz_app import live

    class NeverIdle:
        def __init__(self):
            self.waits = []

        def is_set(self):
            return False

        def wait(self, timeout=None):
            self.waits.append(timeout)
            return False  # timed out

    run = live.begin("t", "old config")
    run.idle = NeverIdle()
    starts_new = live.decide("t", "new config", start=True, stop=False)
    st.session_state["out"] = dict(starts_new=starts_new, waits=run.idle.waits,
                                   asked_to_stop=run.stop_requested.is_set(), timeout=live.SUPERSEDE_TIMEOUT_S)


def test_the_wait_for_an_older_loop_is_bounded():
    at = AppTest.from_function(_stuck_loop_script, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    out = at.session_state["out"]
    assert out["asked_to_stop"] is True and out["starts_new"] is True
    assert 0 < out["timeout"] < float("inf")
    assert out["waits"] == [out["timeout"]]  # one wait, with the timeout


def test_a_loop_that_nobody_supersedes_runs_to_the_end():
    from types import SimpleNamespace

    from netviz_app import live

    run = live.LiveRun(config=None)
    frames = (SimpleNamespace(step=k, final=k == 4) for k in range(5))
    draws: list[int] = []
    live.drive(run, frames, lambda r, f: None, lambda r: draws.append(r.seen), max_fps=0.001)
    assert run.status == live.DONE and run.seen == 5 and run.idle.is_set()
    assert draws == [1, 5]  # at most one draw per 1000 s: the first frame and the final one
    assert live.LiveRun(config=None).serial != run.serial


class FakeClock:
    """``time.monotonic`` for netviz_app: advanced by hand (a step, a draw), so no test depends on real time."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _draws_with_draw_cost(monkeypatch, draw_s: float, steps: int = 200, step_s: float = 0.01) -> list[int]:
    """The frames drawn by ``drive`` at 100 steps/s when one draw takes ``draw_s`` seconds (fake clock)."""
    from types import SimpleNamespace

    from netviz_app import live

    clock = FakeClock()
    monkeypatch.setattr(live.time, "monotonic", clock)

    def frames():
        for k in range(steps):
            clock.now += step_s
            yield SimpleNamespace(step=k, final=k == steps - 1)

    drawn: list[int] = []

    def draw(run) -> None:
        drawn.append(run.seen)
        clock.now += draw_s

    run = live.LiveRun(config=None)
    live.drive(run, frames(), lambda r, f: None, draw, max_fps=8)
    assert run.drawn == len(drawn)
    assert abs(run.draw_s - draw_s * len(drawn)) < 1e-6
    return drawn


def test_the_draw_rate_follows_max_fps_when_a_draw_is_cheap(monkeypatch):
    drawn = _draws_with_draw_cost(monkeypatch, draw_s=0.001)
    gaps = [b - a for a, b in zip(drawn, drawn[1:-1])]
    assert drawn[0] == 1 and drawn[-1] == 200
    assert all(g >= 12 for g in gaps), gaps  # 1/8 s apart at 100 steps/s (and 1 ms of drawing)


def test_an_expensive_draw_is_made_less_often(monkeypatch):
    """A draw of 50 ms waits 50 / DRAW_SHARE ms before the next: drawing stays within its share of the run."""
    from netviz_app import live

    drawn = _draws_with_draw_cost(monkeypatch, draw_s=0.05)
    gaps = [b - a for a, b in zip(drawn, drawn[1:-1])]
    wait_steps = 0.05 / live.DRAW_SHARE / 0.01
    assert all(g >= wait_steps - 1 for g in gaps), gaps
    assert len(drawn) < len(_draws_with_draw_cost(monkeypatch, draw_s=0.001))
    assert drawn[-1] == 200  # the final frame is always drawn


class RecordingSlot:
    """A stand-in for an ``st.empty()``: remembers which elements were drawn into it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name):
        return lambda *a, **k: self.calls.append(name)


def test_the_live_view_redraws_the_chart_at_most_every_chart_every_s(monkeypatch):
    """The picture and the progress bar at every draw; the Plotly chart (costly in the browser) every 2 s."""
    from types import SimpleNamespace

    import numpy as np

    from netviz_app import classvis_view, live

    clock = FakeClock()
    monkeypatch.setattr(classvis_view.time, "monotonic", clock)
    monkeypatch.setattr(live.time, "monotonic", clock)
    slots = {name: RecordingSlot() for name in ("image", "chart", "status", "progress")}
    view = classvis_view.LiveView(slots["image"], slots["chart"], slots["status"], 40, key="t",
                                  progress_slot=slots["progress"])
    run = live.LiveRun(config=None, total=40)
    for k in range(40):  # 40 draws, 0.25 s apart: 10 s
        run.seen, run.last = k + 1, SimpleNamespace(final=False)
        run.history.append((float(k), 0.5))
        run.steps.append(k)
        run.pictures.append(np.zeros((8, 8, 3), np.uint8))
        view.draw(run)
        clock.now += 0.25
    assert slots["image"].calls.count("image") == 40
    assert slots["progress"].calls.count("progress") == 40
    assert slots["status"].calls == []  # the progress bar says the step, the scores and the speed
    charts = slots["chart"].calls.count("plotly_chart")
    assert charts == 5, charts  # at 0, 2, 4, 6 and 8 s


def test_one_expensive_draw_does_not_hold_up_the_next_pictures(monkeypatch):
    """The wait follows a running mean of the draw cost: one slow draw (the chart's) among cheap ones
    delays the next picture far less than d / DRAW_SHARE."""
    from types import SimpleNamespace

    from netviz_app import live

    clock = FakeClock()
    monkeypatch.setattr(live.time, "monotonic", clock)

    def frames():
        for k in range(200):
            clock.now += 0.01
            yield SimpleNamespace(step=k, final=k == 199)

    drawn: list[int] = []

    def draw(run) -> None:
        drawn.append(run.seen)
        clock.now += 0.05 if len(drawn) == 3 else 0.001  # the third draw is slow

    live.drive(live.LiveRun(config=None), frames(), lambda r, f: None, draw, max_fps=8)
    gap_after_slow = drawn[3] - drawn[2]  # in steps of 10 ms
    assert gap_after_slow < 0.05 / live.DRAW_SHARE / 0.01 / 2, drawn[:6]
