"""Every dashboard parameter's name, label, unit and tooltip: one table for every page.

The key is the canonical name (library argument = settings field = URL parameter = CLI
flag with dashes).  A technique's settings carry their own words in their declarations
(``netviz_core.settings``; ``DECLARED`` lists those classes); this table holds the rest:
the sidebar, the pages' own controls.  ``UrlState``'s widgets take their label, help and
choice labels from here, so a parameter reads the same on every page
(``tests/app/test_params_table.py`` walks every page's widgets against both).  Labels give
the paper's symbol with plain words; the unit follows in brackets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache


@dataclass(frozen=True)
class Spec:
    """How one parameter is shown: label (symbol + words), unit, tooltip, labels of its choices."""

    label: str
    help: str
    unit: str = ""
    choices: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The widget label: the label, then the unit in brackets."""
        return f"{self.label} [{self.unit}]" if self.unit else self.label

    def format(self, value) -> str:
        """A choice's label (the value itself when the table has none)."""
        return str(self.choices.get(value, value))


CLASS_HELP = "An ImageNet class; type part of its name or its index to search."

PARAMS: dict[str, Spec] = {
    # -- sidebar ------------------------------------------------------------------------------
    "src": Spec("Weights", "Where the model's weights come from. The hub needs internet access; "
                "the bundled backbones work offline.",
                choices={"bundled": "Bundled (offline)", "hub": "Any timm name (hub)",
                         "file": "Uploaded weights file", "random": "Random weights (untrained)"}),
    "model": Spec("Backbone", "A bundled ImageNet classifier (offline weights)."),
    "arch": Spec("Architecture (timm name)", "Any timm architecture name, e.g. resnet50 or vit_small_patch16_224; "
                 "for an uploaded weights file, the architecture the file was saved from."),
    "image": Spec("Image", "A sample photo, or (upload) to use your own."),
    "theme": Spec("Theme", "Light or dark colours for the whole page, plots included (a projector often needs "
                  "light); auto follows the operating system's setting. Changing it reloads the page with every "
                  "setting kept; a link with theme=light or theme=dark opens the page that way.",
                  choices={"auto": "auto", "light": "light", "dark": "dark"}),
    "present": Spec("Presentation mode", "For a projector: a large picture and class name, the settings folded "
                    "away; a link with present=1 opens the page this way, with the sidebar closed."),
    # -- shared by several pages ----------------------------------------------------------------
    "target": Spec("Class c", CLASS_HELP),
    "live": Spec("Live", "On: changing a setting restarts the run at once. Off: changes wait for Start."),
    "held_out": Spec("Held-out ranks", "On: every few steps the 8-bit picture is shown to the other bundled "
                     "backbones, which did not make it, and their rank of the class is shown: the moment it stops "
                     "being noise to other networks. Costs one forward pass per backbone per check; read at Start."),
    # -- classify & saliency --------------------------------------------------------------------
    "methods": Spec("Methods", "Saliency methods to show side by side.",
                    choices={"vanilla": "Vanilla gradient", "smoothgrad": "SmoothGrad", "guided": "Guided backprop",
                             "deconvnet": "DeconvNet", "cam": "CAM", "gradcam": "Grad-CAM",
                             "gradcampp": "Grad-CAM++", "layercam": "Layer-CAM", "scorecam": "Score-CAM",
                             "integrated_gradients": "Integrated Gradients", "occlusion": "Occlusion"}),
    "opacity": Spec("Overlay opacity", "How strongly the map covers the photo where it is strongest; weaker "
                    "pixels cover it proportionally less, and where the map is 0 the photo is untouched "
                    "(0: photo only).", "0-1"),
    "clip_percentile": Spec("Colour scale percentile", "The map is scaled so that this percentile of its "
                            "values gets the brightest colour (higher values are clipped): a few extreme "
                            "gradient pixels no longer leave the rest dark. 100: scaled by the maximum.", "%"),
    "smooth": Spec("Display smoothing σ", "Gaussian blur of the map before it is drawn, σ in the model "
                   "input's pixels (the NPY download stays raw): merges the pixel speckle of gradient maps into "
                   "visible regions. 0: none.", "px"),
    "raw_map": Spec("Raw map beside", "Show the map alone, in the same colours, beside each overlay."),
    "box": Spec("Localisation box", "The bounding box of the salient region (the map thresholded at the box "
                "threshold). Auto: only on region maps (CAM family, Score-CAM, occlusion); a pixel-gradient "
                "map's box is usually the whole crop.",
                choices={"auto": "auto (region maps)", "all": "every map", "off": "off"}),
    "box_threshold": Spec("Box threshold", "Fraction of the map's maximum above which a pixel counts as salient "
                          "for the box.", "× max"),
    "smoothgrad_samples": Spec("SmoothGrad samples n", "How many noisy copies SmoothGrad averages: more is "
                               "smoother and slower.", "images"),
    # -- fooling ------------------------------------------------------------------------------------
    "mode": Spec("Method", "Normalised step: unbounded steps of length lr until the model is fooled. "
                 "L∞-bounded: signed steps that never change a pixel by more than ε.",
                 choices={"normalized": "normalised step (lr)", "linf": "L∞-bounded (ε)"}),
    "magnify": Spec("Magnify the difference", "The difference picture is the change times this factor, around "
                    "grey.", "×"),
    # -- class impressions ------------------------------------------------------------------------------
    "make": Spec("What to make", "A class impression (SCI beside the plain baseline), or a negative image: "
                 "two classes grown from the two halves of one image.",
                 choices={"sci": "Class impression (SCI vs baseline)", "negative": "Negative image (two classes fused)"}),
    "baseline": Spec("Plain baseline beside it", "Also run the plain class impression (no TV, uniform learning "
                     "rate, no object selection) with the same seed."),
    "first": Spec("First class (grown left)", CLASS_HELP),
    "second": Spec("Second class (grown right)", CLASS_HELP),
    # -- layer explorer -------------------------------------------------------------------------------------
    "layer": Spec("Layer", "A stage or block of the model, with its output: channels × height × width "
                  "(netviz features --list-layers lists the same)."),
    "show": Spec("Channels shown", "The first channels from a start, or those most active on the sidebar's photo.",
                 choices={"first": "from a start channel", "active": "most active on the photo"}),
    "first_channel": Spec("Start channel", "The grid shows the channels from this one on."),
    "count": Spec("Channels in the grid", "How many channels are rendered together, in one batch.", "channels"),
    "channel": Spec("Channel", "The channel shown in detail: facets, neuron, examples, accentuation."),
    # -- compare backbones ---------------------------------------------------------------------------------
    "models": Spec("Models (2-3)", "Bundled offline backbones, or the model chosen in the sidebar."),
    # -- atlas ----------------------------------------------------------------------------------------------
    "atlas_dir": Spec("Atlas or sweep directory", "A directory made by `netviz atlas` or `netviz sweep` (on this "
                      "server's disk); the page reads its index and images and runs no model."),
    "search": Spec("Search classes", "Part of a class name, or a class index."),
    "page": Spec("Page", "Which page of the matching classes is shown."),
}


def declared_classes() -> tuple:
    """Every technique's settings class: their URL parameters' words are in their declarations."""
    from netviz_core.classvis import ClassVisSettings
    from netviz_core.fooling import FoolingSettings
    from netviz_core.impressions import ImpressionSettings
    from netviz_core.layer_explorer import FeatureVisSettings

    return ClassVisSettings, FoolingSettings, ImpressionSettings, FeatureVisSettings


@cache
def declared() -> dict[str, Spec]:
    """name -> the words of every declared setting that is a URL parameter (the first class's, if several declare it)."""
    from netviz_core.settings import declarations

    out: dict[str, Spec] = {}
    for cls in declared_classes():
        for name, d in declarations(cls).items():
            if d.url and name not in out:
                out[name] = Spec(d.title, d.help, d.unit, dict(d.choice_labels))
        if cls.presets is not None and "preset" not in out:
            from .settings_ui import preset_spec

            out["preset"] = preset_spec(cls)
    return out


def spec(name: str) -> Spec:
    """The words of ``name``: the table's entry or its settings declaration; an unknown name is a programming error."""
    try:
        return PARAMS[name] if name in PARAMS else declared()[name]
    except KeyError:
        raise KeyError(f"parameter {name!r} is neither a declared setting (netviz_core.settings) nor in "
                       f"netviz_app/params.py's table; declare it, or add its label, unit and tooltip there") from None
