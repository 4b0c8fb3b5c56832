"""Errors that NetViz raises for bad input.

Every error a user can cause (a bad image, a hostile weights file, an unknown
model name, an unreachable hub, a diverging optimisation) is a ``NetVizError``
whose message names the problem and says what to do.  The dashboard and the
CLI catch ``NetVizError`` and show the message; anything else is a bug.
"""

from __future__ import annotations


class NetVizError(Exception):
    """Base class: a problem with the user's input, with a message meant for them."""


class ImageInputError(NetVizError, ValueError):
    """An image could not be decoded, or is of a kind NetViz refuses."""


class ModelLoadError(NetVizError, RuntimeError):
    """A model could not be built or its weights could not be loaded."""


class UnknownModelError(ModelLoadError, KeyError):
    """The architecture name is not a timm model."""

    # KeyError's str() wraps the message in quotes; keep it readable.
    def __str__(self) -> str:  # pragma: no cover - trivial
        return str(self.args[0]) if self.args else ""


class HubUnreachableError(ModelLoadError):
    """Pretrained weights had to come from the Hugging Face hub, which cannot be reached."""


class WeightsFileError(ModelLoadError):
    """A user-supplied weights file is missing, too large, unsafe or does not fit the architecture."""


class ClassLookupError(NetVizError, KeyError):
    """A class index or name fragment matches no class (or too many)."""

    def __str__(self) -> str:  # pragma: no cover - trivial
        return str(self.args[0]) if self.args else ""


class OptimizationError(NetVizError, RuntimeError):
    """An image optimisation diverged (NaN/Inf or exploding values) or was misconfigured."""


class UnsupportedModelError(NetVizError, TypeError):
    """The method cannot be applied to this model's architecture (e.g. CAM without a GAP + linear head)."""


class SaliencyError(NetVizError, ValueError):
    """A saliency map was asked for with bad arguments (unknown method, bad option, bad input or map)."""


class ImpressionError(NetVizError, ValueError):
    """Class impressions or negative images were asked for with bad settings (a bad weight, radius, class...)."""


class ClassVisualizationError(NetVizError, ValueError):
    """A class visualization was asked for with bad settings (unknown preset, negative iterations, NaN lr, ...)."""


class FoolingError(NetVizError, ValueError):
    """A fooling image was asked for with bad arguments (iterations, step size, bound, image size)."""


class LayerError(NetVizError, ValueError):
    """A layer was named that the model does not have, or one that is not a feature map, or a channel/position outside it."""


class AtlasError(NetVizError, ValueError):
    """A batch job (class atlas or sweep) was asked for with bad inputs, or cannot write its directory."""
