"""The benchmark's report: the Markdown table (benchmarks/results/bench.md) and the files written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

def _ms(s: float | None) -> str:
    return "-" if s is None else f"{s * 1e3:.1f}"


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"### NetViz benchmark ({'quick' if result.get('quick') else 'full'})",
        "",
        f"{m['date']}; {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable); torch {m['torch']}, "
        f"{m['threads']} threads; device {m['device']}{' (' + m['gpu'] + ')' if m.get('gpu') else ''}; "
        f"Python {m['python']}; 1-min load average {result.get('loadavg_start')} at the start, "
        f"{result.get('loadavg_end')} at the end; malloc set to reuse freed memory: "
        f"{'yes' if m.get('reuse_freed_memory') else 'no'} (`netviz_core/runtime.py`).",
        "",
        "Every ratio divides a NetViz figure by the raw step (forward + backward to the input of the frozen "
        "module, same input layout) measured in the same process, step by step in alternation; per round the "
        "total times are divided, and the table gives the median over rounds. Class visualization uses the "
        "CS231n preset (jitter 16, L2 1e-3, normalised step 25, clamp, blur every 10).",
        "",
    ]
    models = result["models"]
    head = "| | " + " | ".join(f"{r['model'].replace('tf_efficientnet_', '')} ({r['input_size'][0]} px)"
                               for r in models) + " | target |"
    lines += [head, "|---" * (len(models) + 2) + "|"]

    def row(label: str, fmt: Callable[[dict], str], target: str = "") -> None:
        cells = []
        for r in models:
            try:
                cells.append(fmt(r))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("-")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    row("raw step, batch 1 (ms)", lambda r: _ms(r["raw_step_b1_s"]))
    row("class vis., batch 1 (ms/step)", lambda r: _ms(r["classvis_b1_step_s"]))
    row("**class vis. / raw, batch 1**", lambda r: f"**{r['classvis_b1_over_raw']:.3f}**", "≤ 1.05")
    row("class vis. end to end / raw, batch 1", lambda r: f"{r['classvis_b1_end_to_end_over_raw']:.3f}")
    row("raw step, batch 8 (ms)", lambda r: _ms(r["raw_step_b8_s"]))
    row("class vis., batch 8 (ms/step)", lambda r: _ms(r["classvis_b8_step_s"]))
    row("**class vis. / raw, batch 8**", lambda r: f"**{r['classvis_b8_over_raw']:.3f}**", "≤ 1.05")
    row("class vis. end to end / raw, batch 8", lambda r: f"{r['classvis_b8_end_to_end_over_raw']:.3f}")
    row("**class vis. batch 8 / batch 1, image-iterations/s**", lambda r: f"**{r['batch_gain']:.2f}×**", "≥ 1.5×")
    row("raw step batch 8 / batch 1, images/s", lambda r: f"{r['raw_batch_gain']:.2f}×")
    row("class vis. page faults / system ms per step, batch 1", lambda r: f"{r['classvis_b1_minor_faults_per_step']:.0f}"
        f" / {r['classvis_b1_system_s_per_step'] * 1e3:.1f}")
    row("class vis. page faults / system ms per step, batch 8", lambda r: f"{r['classvis_b8_minor_faults_per_step']:.0f}"
        f" / {r['classvis_b8_system_s_per_step'] * 1e3:.1f}")
    row("saliency, vanilla (ms)", lambda r: _ms(r["saliency_vanilla_s"]))
    row("saliency vanilla / raw", lambda r: f"{r['saliency_vanilla_over_raw']:.2f}")
    row("saliency, Grad-CAM (ms)", lambda r: _ms(r["saliency_gradcam_s"]))
    row("saliency Grad-CAM / raw", lambda r: f"{r['saliency_gradcam_over_raw']:.2f}")
    row("fooling: time to success (ms)", lambda r: f"{_ms(r['fooling']['time_s'])} "
        f"({r['fooling']['iterations']} it.{', fooled' if r['fooling']['success'] else ', NOT fooled'})")
    row("fooling per iteration / raw", lambda r: f"{r['fooling_iteration_over_raw']:.2f}")
    lines.append("")

    def paragraph(key: str, title: str, render: Callable[[dict], str]) -> None:
        """The paragraph of an optional measurement: its text, or why it was not measured."""
        part = result.get(key)
        if part:
            lines.extend([f"{title}: not measured ({part['error']})." if "error" in part else render(part), ""])

    paragraph("live_view", "Live view", lambda live: (
        f"**Live view** ({live['model']}, class visualization, {live['iterations']} steps, drawn at most "
        f"{live['max_fps']:g}/s, in Streamlit's AppTest without a browser): "
        f"**{live['frames_per_s']:.1f} frames/s** drawn (target ≥ 5, or every step when a step > 200 ms), "
        f"optimiser at **{live['speed_vs_headless']:.1%} of its headless speed** (target ≥ 90 %): "
        f"{live['steps_per_s_live']:.1f} vs {live['steps_per_s_headless']:.1f} steps/s; "
        f"one draw {live['draw_ms']:.1f} ms ({live['draw_share']:.1%} of the run)."))
    ch = result.get("choices")
    if ch:
        text = (f"**Choices** ({ch['model']}, raw step, batch 1): channels_last {_ms(ch['raw_step_channels_last_s'])} ms "
                f"vs contiguous {_ms(ch['raw_step_contiguous_s'])} ms (channels_last "
                f"**{ch['channels_last_speedup']:.2f}×** as fast; NetViz's CPU default is channels_last)")
        if "one_thread_speed" in ch:
            text += (f"; 1 thread {_ms(ch['raw_step_1_thread_s'])} ms vs {ch['threads_default']} threads "
                     f"{_ms(ch['raw_step_default_threads_s'])} ms (1 thread runs at **{ch['one_thread_speed']:.2f}×** "
                     f"the speed of torch's default, which the CLI keeps; the dashboard leaves one core to the browser)")
        text += (f"; the engine's per-step finite checks + softmax {ch['checks_per_step_s'] * 1e6:.0f} µs "
                 f"({ch['checks_over_raw']:.2%} of a step); the torch blur {ch['blur_s'] * 1e6:.0f} µs per call "
                 f"({ch['blur_over_raw_every_10']:.2%} of a step at every 10 steps).")
        lines += [text, ""]
    paragraph("lucent", "Lucent", lambda lu: (
        f"**Lucent** (torch-lucent {lu.get('lucent_version')}, {lu['model']}, {lu['size']} px, class logit, "
        f"roll-jitter {lu['jitter']}, {lu['iterations']} iterations, same process): NetViz "
        f"{_ms(lu['netviz_step_s'])} ms/iteration, Lucent `render_vis` {_ms(lu['lucent_step_s'])} ms/iteration, "
        f"hand-written loop {_ms(lu['plain_step_s'])} ms/iteration: **NetViz / Lucent = "
        f"{lu['netviz_over_lucent']:.2f}**, Lucent / hand loop = {lu['lucent_over_plain']:.2f}, "
        f"NetViz / hand loop = {lu['netviz_over_plain']:.2f}."))
    cs = result.get("cold_start")
    if cs:
        if "first_page_s" in cs:
            top5 = f", to the top-5 table of the sample image {cs['top5_s']:.1f} s" if "top5_s" in cs else ""
            lines.append(f"**Cold start**: `streamlit run app.py` to the health check {cs['health_s']:.1f} s{top5}, to the "
                         f"first page drawn with the default model, all six saliency maps included (headless "
                         f"Chromium) **{cs['first_page_s']:.1f} s**.")
        else:
            lines.append(f"Cold start: {cs}.")
        lines.append("")
    lines.append(f"Benchmark run time {result.get('total_s', 0):.0f} s.")
    return "\n".join(lines) + "\n"


def write_outputs(result: dict, out_dir: str | Path) -> tuple[Path, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = "bench-quick" if result.get("quick") else "bench"
    js, md = out / f"{stem}.json", out / f"{stem}.md"
    js.write_text(json.dumps(result, indent=2) + "\n")
    md.write_text(markdown(result))
    return js, md

