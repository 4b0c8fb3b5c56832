"""netviz_app.live: a newer script run stops the loop that an older one is still driving, and waits for it."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _supersede_script() -> None:  # runs inside AppTest's script thread
    import threading
    import time
    from types import SimpleNamespace

    import streamlit as st

    from netviz_app import live

    def slow_frames():
        for k in range(200):
            time.sleep(0.02)  # one optimiser step
            yield SimpleNamespace(step=k, final=k == 199)

    recorded: list[int] = []
    run = live.begin("t", "old config")
    # The older script run's loop, still going when the newer run starts (as Streamlit does on a click).
    old = threading.Thread(target=live.drive, args=(run, slow_frames(), lambda r, f: recorded.append(f.step),
                                                     lambda r: None))
    old.start()
    time.sleep(0.3)
    started = time.monotonic()
    starts_new = live.decide("t", "new config", start=True, stop=False)
    waited = time.monotonic() - started
    seen_when_decided, idle_when_decided = run.seen, run.idle.is_set()
    time.sleep(0.2)  # nothing changes the run any more
    old.join(5)
    st.session_state["out"] = dict(starts_new=starts_new, waited=waited, seen=seen_when_decided, later=run.seen,
                                   idle=idle_when_decided, status=run.status, recorded=list(recorded),
                                   last=run.last.step, alive=old.is_alive())


def test_a_newer_script_run_stops_the_older_loop_and_waits_for_it():
    at = AppTest.from_function(_supersede_script, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    out = at.session_state["out"]
    assert out["starts_new"] is True
    assert out["idle"] is True and not out["alive"]  # the old loop had ended when decide returned
    assert 5 <= out["seen"] < 200 and out["later"] == out["seen"]  # ... and nothing moved after
    assert out["status"] == "stopped"
    assert out["recorded"] == list(range(out["seen"]))  # every frame seen was recorded, the last included
    assert out["last"] == out["seen"] - 1
    assert out["waited"] < 5


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
