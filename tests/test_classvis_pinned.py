"""A fixed-seed class-visualization run gives the same 8-bit image, bit for bit, as before the renovation.

The hashes were taken on 31027a7 (before netviz_core was reorganised) with the
``cs231n`` preset named explicitly (the default preset may change) and its values
written out as overrides, so that a change of the preset's numbers does not move the
pin either; settings added later keep the preset's values.  Float arithmetic on a CPU depends on the thread count and on the
kernels oneDNN picks for the instruction set, so the run uses one thread and the pin
applies where the torch version and CPU capability are those it was taken with.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from netviz_core.classvis import class_visualization, settings_for

#: (torch version, torch.backends.cpu.get_cpu_capability()) the hashes were taken with.
PINNED_ON = ("2.14.1+cu130", "AVX512")

#: SHA-256 of the final 8-bit image's RGB pixels (what its PNG decodes to), per number of steps.
PINNED = {
    3: "0a937122d2a9e97625007bfc77f67a0fad31d638f7ea7128260562c35ba46090",
    11: "d9113467756a3624030abd04c968dd56a9bc5374598db451e956309d3be7ea11",  # includes the blur at step 10
}

CS231N = dict(objective="logit", init="noise", l2_weight=1e-3, lr=25.0, blur_every=10, blur_sigma=0.5, jitter=16,
              noise_std=1.0, clamp=True, seed=0)
#: The pin is of the arithmetic on the network as loaded; the BatchNorm-folded copy that class
#: visualization uses by default computes the same function with other float rounding.
UNFOLDED = dict(fold_batchnorm=False)


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def pixel_hash(image) -> str:
    return hashlib.sha256(np.asarray(image, dtype=np.uint8).tobytes()).hexdigest()


@pytest.mark.parametrize("iterations", sorted(PINNED))
def test_fixed_seed_run_is_bit_identical_to_the_pinned_image(lite0, one_thread, iterations):
    if (torch.__version__, torch.backends.cpu.get_cpu_capability()) != PINNED_ON:
        pytest.skip(f"pinned on torch {PINNED_ON[0]} with {PINNED_ON[1]} kernels")
    settings = settings_for("cs231n", targets=(76,), iterations=iterations, **CS231N, **UNFOLDED)
    assert settings.preset == "cs231n"
    result = class_visualization(lite0, settings=settings)
    assert result.steps == iterations and result.images[0].size == (224, 224)
    assert pixel_hash(result.images[0]) == PINNED[iterations]
