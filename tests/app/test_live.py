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
