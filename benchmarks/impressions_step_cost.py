"""Class impressions: CPU time per step on the network as loaded and with its BatchNorms folded.

One process, one torch thread, the same SCI run (default settings, a batch of ``--batch``
classes, ``--steps`` steps after a pre-CI of one step) with ``fold_batchnorm`` off and on,
alternating ``--rounds`` times so that a change in the machine's load hits both alike.
Prints the median CPU seconds per step of each and their ratio; writes
benchmarks/results/impressions_step_cost.md.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/impressions_step_cost.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "impressions_step_cost.md"))
    args = ap.parse_args(argv)

    import torch

    from netviz_core.impressions import ImpressionSettings, impression_frames
    from netviz_core.models import load_model_cached
    from netviz_core.optimize.folding import input_gradient_model

    torch.set_num_threads(1)
    net = load_model_cached("tf_efficientnet_lite0", device="cpu")
    input_gradient_model(net)  # the folded copy is made once per model: not part of a step
    classes = [1, 130, 409, 779, 9, 323, 340, 980][: args.batch]
    per_step: dict[bool, list[float]] = {False: [], True: []}
    load_start = os.getloadavg()[0]
    for _ in range(args.rounds):
        for fold in (False, True):
            s = ImpressionSettings(iterations=args.steps, preci_iterations=1, fold_batchnorm=fold)
            times = []
            last = time.process_time()
            for frame in impression_frames(net, classes, s, centres=torch.full((len(classes), 2), 112.0)):
                now = time.process_time()
                if frame.step > 0:  # step 0 is the first forward pass only
                    times.append(now - last)
                last = now
            per_step[fold].append(statistics.median(times))
    unfolded, folded = (statistics.median(per_step[f]) for f in (False, True))
    text = (
        "# Class impressions: CPU time per step, BatchNorm folded or not\n\n"
        f"SCI, default settings (fourier, Lucid's transforms, Adam), lite0, a batch of {len(classes)}, "
        f"{args.steps} steps, median over steps and {args.rounds} alternating rounds, one torch thread "
        f"(CPU time of the process; 1-min load average {load_start:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end).\n\n"
        "| network | CPU s / step | ratio |\n|---|---:|---:|\n"
        f"| as loaded | {unfolded:.3f} | 1.00 |\n| BatchNorm folded | {folded:.3f} | {folded / unfolded:.2f} |\n"
    )
    print(text)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
