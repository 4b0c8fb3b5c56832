"""Class impressions (Mopuri et al.) and saliency-driven class impressions (Addepalli et al.).

Small parts on the optimisation engine (``netviz_core.optimize``):

* ``schedule``   eqs. 2-4 (the saliency-driven learning-rate map) and the radius schedule;
* ``circles``    eq. 5, the most activated circle (one convolution) and circular masks;
* ``transforms`` Mopuri's random transforms and the separate TV step of eq. 1 (post-steps);
* ``parametrized`` the rate map, circle and TV on a decoded image (fourier / maco parametrizations);
* ``settings``   ``ImpressionSettings``: every component switchable, JSON round trip;
* ``parts``      the compiler: ``engine_parts`` turns settings (and the run's rate map) into the engine's parts;
* ``method``     ``impression_frames`` / ``class_impressions`` and ``negative_frames`` / ``negative_image``;
* ``metrics``    target probability, transfer, single-object score.
"""

from .circles import circle_mask, circle_sums, most_activated_circle
from .method import (
    ImpressionResult,
    NegativeResult,
    class_impressions,
    impression_frames,
    negative_frames,
    negative_image,
)
from .metrics import impression_metrics, single_object_score
from .parts import engine_parts
from .schedule import MapScaledGradient, SaliencyLearningRate, c1_for, current_weight, radius_at, update_grad_cum
from .settings import ImpressionSettings
from .transforms import RandomImpressionTransforms, TVStep

__all__ = [
    "ImpressionSettings", "ImpressionResult", "NegativeResult",
    "class_impressions", "impression_frames", "negative_image", "negative_frames",
    "impression_metrics", "single_object_score", "engine_parts",
    "circle_mask", "circle_sums", "most_activated_circle",
    "SaliencyLearningRate", "MapScaledGradient", "c1_for", "current_weight", "radius_at", "update_grad_cum",
    "RandomImpressionTransforms", "TVStep",
]
