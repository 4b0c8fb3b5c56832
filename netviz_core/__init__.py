"""NetViz core: what a pretrained image classifier sees.

Imports no UI framework; the dashboard and the ``netviz`` CLI are thin layers over
these functions (docs/architecture.md: what may import what).  Heavy modules
(torch, timm) load on first use, so importing the package is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> submodule that defines it; resolved lazily on first access.
_EXPORTS = {
    "load_model": "models",
    "load_model_cached": "models",
    "LoadedModel": "models",
    "DEFAULT_MODEL": "models",
    "BUNDLED_MODELS": "models",
    "preprocess": "images",
    "preprocess_with_geometry": "images",
    "deprocess": "images",
    "deprocess_batch": "images",
    "open_image": "images",
    "ImageGeometry": "images",
    "classify": "classify",
    "Classification": "classify",
    "imagenet_class_names": "classes",
    "resolve_class": "classes",
    "find_classes": "classes",
    "NetVizError": "errors",
    # netviz_core.saliency is the subpackage: from netviz_core.saliency import saliency, localize
    "localize": "saliency",
    "fool": "fooling",
    "fool_batch": "fooling",
    "fooling_frames": "fooling",
    "fooling_results": "fooling",
    "FoolingFrame": "fooling",
    "FoolingResult": "fooling",
    "FoolingSettings": "fooling",
    "class_visualization": "classvis",
    "class_visualization_frames": "classvis",
    "ClassVisRun": "classvis",
    "ClassVisResult": "classvis",
    "ClassVisSettings": "classvis",
    "transfer_scores": "classvis",
    "class_impressions": "impressions",
    "impression_frames": "impressions",
    "negative_image": "impressions",
    "negative_frames": "impressions",
    "ImpressionSettings": "impressions",
    "ImpressionResult": "impressions",
    "NegativeResult": "impressions",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'netviz_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover
    from .classes import find_classes, imagenet_class_names, resolve_class
    from .classify import Classification, classify
    from .classvis import (ClassVisResult, ClassVisRun, ClassVisSettings, class_visualization,
                           class_visualization_frames, transfer_scores)
    from .errors import NetVizError
    from .fooling import (FoolingFrame, FoolingResult, FoolingSettings, fool, fool_batch, fooling_frames,
                          fooling_results)
    from .impressions import (ImpressionResult, ImpressionSettings, NegativeResult, class_impressions,
                              impression_frames, negative_frames, negative_image)
    from .images import ImageGeometry, deprocess, deprocess_batch, open_image, preprocess, preprocess_with_geometry
    from .models import BUNDLED_MODELS, DEFAULT_MODEL, LoadedModel, load_model, load_model_cached
