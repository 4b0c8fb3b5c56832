"""Where class impressions' random transforms act: on the stored image (they pile up) or on the network's input.

Mopuri's random transforms (noise ±2, colour shift ±4 levels, pad 16, rescale
0.95-1.05, rotate ±5°) applied with no logit step at all, to the mean image plus
U[0, 255] noise (the impressions' start), 224 px, seed 0:

* ``image``: the post-step version, applied to the stored image after every step;
* ``input``: the engine's transform version, the stored image as the frames show it.

Prints the mean |Δ| between neighbouring pixels (0-255 levels) after 10 steps and
the largest drift of a channel mean after 300 steps; writes
benchmarks/results/impressions_transforms.md.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/impressions_transforms.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    import torch

    from netviz_core.impressions.parts import engine_parts
    from netviz_core.impressions.settings import ImpressionSettings
    from netviz_core.models import load_model_cached
    from netviz_core.optimize import PlainGradient, make_generators, optimize
    from netviz_core.optimize.context import StepContext
    from netviz_core.optimize.init import uniform_noise_on_mean

    net = load_model_cached("tf_efficientnet_lite0", device="cpu")
    gens = make_generators([0], 1)
    x0 = uniform_noise_on_mean(net, 1, gens)

    def levels(x):
        return (x * net.std + net.mean) * 255

    def roughness(x):
        p = levels(x)
        return float(((p[..., 1:, :] - p[..., :-1, :]).abs().mean() + (p[..., 1:] - p[..., :-1]).abs().mean()) / 2)

    def drift(x):
        return float((levels(x).mean((2, 3)) - levels(x0).mean((2, 3))).abs().max())

    # image: the post-steps alone (no network is involved in them)
    s_image = ImpressionSettings.baseline("paper", transforms_on="image")
    ops = engine_parts(s_image, None)["post_steps"]
    ctx = StepContext(net=net, step=0, targets=torch.tensor([1]), generators=make_generators([0], 1), state={})
    x = x0
    image = {}
    for k in range(1, 301):
        ctx.step = k
        for op in ops:
            x = op(x, ctx)
        if k in (10, 300):
            image[k] = (roughness(x), drift(x))
    # input: the engine with a zero step, transforms on the network's input
    s_input = ImpressionSettings.baseline("paper", transforms_on="input")
    parts = dict(engine_parts(s_input, None), step_rule=PlainGradient(0.0), iterations=10)
    frames = list(optimize(net, x0, [1], **parts, generators=make_generators([0], 1)))
    x_in = frames[-1].images
    lines = [
        "# Class impressions: random transforms on the stored image or on the network's input",
        "",
        "Mopuri's random transforms with no logit step, lite0, 224 px, start = mean + U[0, 255] noise, seed 0.",
        "",
        "| transforms act on | mean abs Δ at start | after 10 steps | max channel-mean drift after 10 | after 300 |",
        "|---|---:|---:|---:|---:|",
        f"| the stored image (post-step) | {roughness(x0):.1f} | {image[10][0]:.1f} | {image[10][1]:.1f} "
        f"| {image[300][1]:.1f} |",
        f"| the network's input (engine transform) | {roughness(x0):.1f} | {roughness(x_in):.1f} | {drift(x_in):.1f} "
        "| 0 (the stored image is never written) |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "benchmarks" / "results" / "impressions_transforms.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
