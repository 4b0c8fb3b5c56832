"""The live view in a real browser: the class-visualization page in headless Chromium against the same run headless.

    python -m benchmarks.bench.live_browser [--iterations 100] [--rounds 3] [--preset lucid]

starts ``streamlit run app.py``, opens ``/class_visualization`` with a fixed number
of steps, target, preset and seed in the URL, presses **Start** and watches the page
from inside the browser: every time the live picture's ``<img>`` finishes loading a
new source (a frame *drawn*) and every update of the progress bar's step count.  In
alternation (headless, browser, headless, browser, ...) the benchmark process runs
the same ``ClassVisRun`` (same model, settings and seed) without drawing anything,
so that a busy machine slows both sides of a ratio alike.  The server, Chromium and
the benchmark process share the machine's cores: the situation of a live demo on a
laptop.

Per round:

* steps/s in the browser: the steps between the first and the last progress update
  the browser saw, over the browser's time between them (what a viewer sees);
* steps/s headless: the steps between the first and the last frame over the time
  between them (the same span);
* frames/s drawn: distinct pictures loaded by the ``<img>`` over the same span;
* the server's own figure: the page's "finished after N steps in T s".

The figures are the medians over rounds; ``speed_vs_headless`` is the median of the
per-round ratios.  Goals (issue 14): ≥ 80 % of headless speed with ≥ 5 frames/s
drawn (or every step, when a step takes longer than 200 ms).  Writes
``live_browser.json`` and ``live_browser.md`` to ``--out`` (benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import time
from pathlib import Path

import torch

from .common import ROOT, TARGETS, loadavg, machine_info, median
from .external import launch_chromium, serve_app

#: Issue 14's goals for the live view in a browser.
GOALS = {"speed_vs_headless": 0.80, "frames_per_s": TARGETS["live_fps"]}

#: Installed in the page before Start: records every new picture loaded by the main area's first
#: <img> and every change of the progress bar's step, with the browser's clock (ms).
WATCH = """() => {
  const w = window.__netvizLive = {frames: [], steps: [], srcs: new Set()};
  const main = document.querySelector('[data-testid="stMain"]');
  main.addEventListener('load', e => {
    const img = e.target;
    if (img.tagName !== 'IMG' || !img.closest('[data-testid="stImage"]')) return;
    const first = main.querySelector('[data-testid="stImage"] img');
    if (img !== first || w.srcs.has(img.src)) return;
    w.srcs.add(img.src);
    w.frames.push(performance.now());
  }, true);
  const readStep = () => {
    const bar = main.querySelector('[data-testid="stProgress"]');
    const m = bar && bar.textContent.match(/step (\\d+)\\/(\\d+)/);
    if (m) {
      const step = +m[1];
      if (!w.steps.length || w.steps[w.steps.length - 1][1] !== step) w.steps.push([performance.now(), step]);
    }
    if (bar && /^(done|stopped|failed):/.test(bar.textContent.trim())) w.over = true;
  };
  new MutationObserver(readStep).observe(main, {subtree: true, childList: true, characterData: true});
}"""

SUMMARY = re.compile(r"finished after (\d+) steps in ([\d.]+) s")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[tuple[int, str]]:
    """(pid, command name) of every process under ``root``."""
    children: dict[int, list[tuple[int, str]]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append((int(stat.parent.name), name))
    out, todo = [], [root]
    while todo:
        for pid, name in children.get(todo.pop(), []):
            out.append((pid, name))
            todo.append(pid)
    return out


def cpu_by_side() -> dict[str, float]:
    """CPU seconds so far of the server (streamlit's Python) and of Chromium (all its processes)."""
    procs = _descendants(os.getpid())
    return {"server": sum(_cpu_seconds(p) for p, n in procs if n.startswith("python")),
            "chromium": sum(_cpu_seconds(p) for p, n in procs if "chrom" in n.lower())}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def page_url(base: str, *, target: int, preset: str, iterations: int, seed: int) -> str:
    return f"{base}/class_visualization?target={target}&preset={preset}&iterations={iterations}&seed={seed}"


def headless_round(net, target: int, settings) -> dict:
    """The same run in this process, nothing drawn: steps/s between the first and the last frame."""
    from netviz_core.classvis import ClassVisRun

    stamps = []
    for frame in ClassVisRun(net, [target], settings).frames():
        stamps.append((time.perf_counter(), frame.step))
    (t0, s0), (t1, s1) = stamps[0], stamps[-1]
    return {"steps_per_s": (s1 - s0) / (t1 - t0), "steps": s1}


def browser_round(page, url: str, timeout_s: float, measure: bool = True) -> dict | None:
    """One run on the page: press Start, wait for the summary, read what the browser recorded.

    ``measure=False``: only the run (a warm-up).
    """
    page.goto(url)
    start = page.get_by_role("button", name="Start", exact=True)
    start.wait_for(timeout=timeout_s * 1e3)
    page.wait_for_timeout(500)
    page.evaluate(WATCH)
    cpu0, t_wall = cpu_by_side(), time.perf_counter()
    start.click()
    # Polled twice a second (Playwright's own text waits re-query the page at every change, which costs
    # the browser more than the measurement should).
    page.wait_for_function("() => window.__netvizLive.over === true", polling=500, timeout=timeout_s * 1e3)
    cpu1, wall = cpu_by_side(), time.perf_counter() - t_wall
    summary = page.get_by_text(SUMMARY).first
    summary.wait_for(timeout=timeout_s * 1e3)
    if not measure:
        return None
    seen = page.evaluate("() => ({frames: window.__netvizLive.frames, steps: window.__netvizLive.steps})")
    steps, frames = seen["steps"], seen["frames"]
    if len(steps) < 2:
        raise RuntimeError(f"the browser saw {len(steps)} progress updates")
    (t0, s0), (t1, s1) = steps[0], steps[-1]
    span_s = (t1 - t0) / 1e3
    in_span = [t for t in frames if t0 - 1 <= t <= t1 + 1e3]  # the final picture may load after the final bar
    m = SUMMARY.search(summary.inner_text())
    return {"steps_per_s": (s1 - s0) / span_s, "frames_per_s": len(in_span) / span_s, "frames": len(frames),
            "progress_updates": len(steps), "span_s": span_s, "steps": s1,
            # cores busy while the run was going (Start to the summary): 1.0 = one core all the time
            "server_cores": (cpu1["server"] - cpu0["server"]) / wall,
            "chromium_cores": (cpu1["chromium"] - cpu0["chromium"]) / wall,
            "server_steps_per_s": int(m.group(1)) / float(m.group(2)) if m and float(m.group(2)) > 0 else None}


def bench_live_browser(*, model: str = "tf_efficientnet_lite0", target: int = 76, preset: str = "lucid",
                       iterations: int = 100, rounds: int = 3, seed: int = 0, width: int = 1400, height: int = 1000,
                       timeout_s: float = 600.0, log=print) -> dict:
    """Every round's numbers and their medians, as a JSON-able dict."""
    from playwright.sync_api import sync_playwright

    from netviz_core.classvis import settings_for
    from netviz_core.models import load_model_cached

    net = load_model_cached(model, device="cpu")
    settings = settings_for(preset, iterations=iterations, seed=seed)
    from netviz_app.models import _usable_cores

    # Headless: torch's default threads in this process, as the CLI runs.  The dashboard (same environment)
    # leaves a core to the browser (netviz_app.models.leave_a_core_for_the_browser).
    server_threads = max(1, min(torch.get_num_threads(), _usable_cores() - 1))
    result: dict = {"machine": machine_info(torch.device("cpu")), "loadavg_start": loadavg(), "model": model,
                    "server_threads": server_threads,
                    "target": target, "preset": preset, "iterations": iterations, "rounds": rounds,
                    "viewport": [width, height], "goals": GOALS, "per_round": []}
    started = time.perf_counter()
    with serve_app(_free_port()) as (base, _), sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            log("  warm-up (model load in the server, a short run on each side) ...")
            headless_round(net, target, settings_for(preset, iterations=5, seed=seed))
            browser_round(page, page_url(base, target=target, preset=preset, iterations=5, seed=seed), timeout_s,
                          measure=False)
            url = page_url(base, target=target, preset=preset, iterations=iterations, seed=seed)
            for r in range(rounds):
                h = headless_round(net, target, settings)
                b = browser_round(page, url, timeout_s)
                row = {"headless": h, "browser": b, "speed_vs_headless": b["steps_per_s"] / h["steps_per_s"]}
                result["per_round"].append(row)
                log(f"  round {r + 1}/{rounds}: browser {b['steps_per_s']:.2f} steps/s, {b['frames_per_s']:.1f} "
                    f"frames/s drawn; headless {h['steps_per_s']:.2f} steps/s; ratio {row['speed_vs_headless']:.2f}; "
                    f"cores busy: server {b['server_cores']:.2f}, Chromium {b['chromium_cores']:.2f}")
        finally:
            browser.close()
    rows = result["per_round"]
    result.update(
        steps_per_s_browser=median([r["browser"]["steps_per_s"] for r in rows]),
        steps_per_s_headless=median([r["headless"]["steps_per_s"] for r in rows]),
        steps_per_s_server=median([r["browser"]["server_steps_per_s"] or float("nan") for r in rows]),
        frames_per_s=median([r["browser"]["frames_per_s"] for r in rows]),
        server_cores=median([r["browser"]["server_cores"] for r in rows]),
        chromium_cores=median([r["browser"]["chromium_cores"] for r in rows]),
        speed_vs_headless=median([r["speed_vs_headless"] for r in rows]),
        loadavg_end=loadavg(), total_s=time.perf_counter() - started,
    )
    # >= 5 frames/s, or every step when the optimiser makes fewer than 5 steps/s.
    result["fps_goal"] = min(GOALS["frames_per_s"], result["steps_per_s_browser"])
    return result


def markdown(r: dict) -> str:
    m = r["machine"]
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    lines = [
        "# The live view in headless Chromium (`python -m benchmarks.bench.live_browser`)",
        "",
        f"{m['date']}; {m['cpu']}, {m['cores']} cores; torch {m['torch']}; headless (this process) on torch's "
        f"{m['threads']} threads, the dashboard on {r['server_threads']} (it leaves a core to the browser); 1-min load average {r['loadavg_start']} at the start, {r['loadavg_end']} at the "
        f"end. {r['model']}, class {r['target']}, preset {r['preset']}, {r['iterations']} steps, viewport "
        f"{r['viewport'][0]}x{r['viewport'][1]}, {r['rounds']} rounds (headless and browser in alternation).",
        "",
        "| | median | per round | goal |",
        "|---|---|---|---|",
        f"| steps/s in the browser | {r['steps_per_s_browser']:.2f} | "
        + ", ".join(f"{x['browser']['steps_per_s']:.2f}" for x in r["per_round"]) + " | |",
        f"| steps/s headless (same settings, this process) | {r['steps_per_s_headless']:.2f} | "
        + ", ".join(f"{x['headless']['steps_per_s']:.2f}" for x in r["per_round"]) + " | |",
        f"| **browser / headless** | **{r['speed_vs_headless']:.1%}** | "
        + ", ".join(f"{x['speed_vs_headless']:.1%}" for x in r["per_round"])
        + f" | ≥ {GOALS['speed_vs_headless']:.0%} ({met(r['speed_vs_headless'] >= GOALS['speed_vs_headless'])}) |",
        f"| **frames/s drawn in the browser** | **{r['frames_per_s']:.1f}** | "
        + ", ".join(f"{x['browser']['frames_per_s']:.1f}" for x in r["per_round"])
        + f" | ≥ {r['fps_goal']:.1f} ({met(r['frames_per_s'] >= r['fps_goal'] - 1e-9)}) |",
        f"| steps/s by the server's own clock | {r['steps_per_s_server']:.2f} | | |",
        f"| cores busy during a browser run: server / Chromium | {r['server_cores']:.2f} / {r['chromium_cores']:.2f} "
        "| " + ", ".join(f"{x['browser']['server_cores']:.2f} / {x['browser']['chromium_cores']:.2f}"
                         for x in r["per_round"]) + " | |",
        "",
        f"Run time {r['total_s']:.0f} s (server start, warm-up and {r['rounds']} rounds).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench.live_browser", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="tf_efficientnet_lite0")
    p.add_argument("--target", type=int, default=76)
    p.add_argument("--preset", default="lucid")
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="folder for live_browser.json/.md")
    args = p.parse_args(argv)
    from netviz_core.runtime import reuse_freed_memory

    reuse_freed_memory()  # as the dashboard does
    result = bench_live_browser(model=args.model, target=args.target, preset=args.preset,
                                iterations=args.iterations, rounds=args.rounds, seed=args.seed,
                                log=lambda s: print(s, file=sys.stderr, flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "live_browser.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (out / "live_browser.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
