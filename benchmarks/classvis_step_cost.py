"""Cost of one class-visualization step per preset, against the raw forward + backward step.

The raw step is what no class visualization can avoid: one forward pass of the
batch at the model's input size and the gradient with respect to the input.  A
preset's step adds its parametrization (decode, and the backward through it), its
transforms and its step rule.  Both are timed in alternation in one process
(rounds of ``--steps`` each), because the machine is shared: only the ratio within
a round means something.  Prints the median ratio over the rounds per preset, and
the raw step of the model with its BatchNorms folded into the convolutions
(``netviz_core.optimize.folding``) against the unfolded one; writes
benchmarks/results/classvis_step_cost.json.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/classvis_step_cost.py [--presets lucid cs231n] [--batch 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def raw_steps(net, x, targets, steps: int) -> float:
    import torch

    t0 = time.perf_counter()
    for _ in range(steps):
        xi = x.detach().requires_grad_(True)
        score = net(xi).float().gather(1, targets[:, None]).sum()
        torch.autograd.grad(score, xi)
    return (time.perf_counter() - t0) / steps


def preset_steps(frames, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        next(frames)
    return (time.perf_counter() - t0) / steps


def main(argv=None) -> int:
    from netviz_core.classvis import PRESETS, ClassVisRun

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["lucid", "maco", "cs231n"], choices=list(PRESETS))
    ap.add_argument("--model", default="tf_efficientnet_lite0")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5, help="steps per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "classvis_step_cost.json"))
    args = ap.parse_args(argv)

    import torch

    from netviz_core.models import load_model_cached

    net = load_model_cached(args.model, device="cpu")
    targets = torch.tensor([76, 1, 130, 963, 9, 22, 71, 107][: args.batch])
    x = torch.randn(args.batch, 3, *net.input_size, generator=torch.Generator().manual_seed(0))
    results = {"model": args.model, "batch": args.batch, "steps_per_round": args.steps, "rounds": args.rounds,
               "threads": torch.get_num_threads(), "torch": torch.__version__, "presets": {}}
    from netviz_core.optimize.folding import input_gradient_model

    folded = input_gradient_model(net)
    raw_steps(folded, x, targets, 1)
    ratios = []
    for _ in range(args.rounds):
        r = raw_steps(net, x, targets, args.steps)
        ratios.append(raw_steps(folded, x, targets, args.steps) / r)
    results["folded_raw_over_raw"] = {"ratio_median": statistics.median(ratios), "ratios": ratios}
    print(f"folded BN raw step / raw step: median {statistics.median(ratios):.2f}x "
          f"(rounds {', '.join(f'{v:.2f}' for v in ratios)})", flush=True)
    for preset in args.presets:
        frames = ClassVisRun(net, targets.tolist(), preset=preset, iterations=10**6).frames()
        next(frames)  # the start
        raw_steps(net, x, targets, 1)  # warm-up of both
        preset_steps(frames, 1)
        ratios, folded_ratios, raws, ours = [], [], [], []
        for _ in range(args.rounds):
            r = raw_steps(net, x, targets, args.steps)
            rf = raw_steps(folded, x, targets, args.steps)
            p = preset_steps(frames, args.steps)
            raws.append(r)
            ours.append(p)
            ratios.append(p / r)
            folded_ratios.append(p / rf)
        frames.close()
        results["presets"][preset] = {"ratio_median": statistics.median(ratios), "ratios": ratios,
                                      "ratio_to_folded_raw_median": statistics.median(folded_ratios),
                                      "ratios_to_folded_raw": folded_ratios, "raw_s": raws, "preset_s": ours}
        print(f"{preset:9s} step / raw step: median {statistics.median(ratios):.2f}x "
              f"(rounds {', '.join(f'{v:.2f}' for v in ratios)}; raw median {statistics.median(raws) * 1e3:.0f} ms); "
              f"/ folded raw step (the network it runs on): {statistics.median(folded_ratios):.2f}x", flush=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
