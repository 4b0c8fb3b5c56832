"""The sidebar: which model, which image.  Drawn once per run by ``app.py``.

Model: a bundled offline backbone, any timm name (weights from the hub), an
uploaded weights file with its architecture name, or random weights (UNTRAINED).
Image: a sample from ``assets/`` or an upload.  Every bad input is shown with
``st.error`` (the core's message) and the pages get ``net``/``image`` of None.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from netviz_core.errors import HubUnreachableError, NetVizError
from netviz_core.models import BUNDLED_MODELS, DEFAULT_MODEL

from . import models
from .media import digest
from .params import spec
from .state import Param, UrlState

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SAMPLES = tuple(sorted(p.name for p in ASSETS.glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg")))
UPLOAD = "(upload)"
DEFAULT_SAMPLE = "chelsea.png" if "chelsea.png" in SAMPLES else (SAMPLES[0] if SAMPLES else UPLOAD)

#: Weights sources (their labels: ``params.PARAMS["src"]``).
SOURCES = ("bundled", "hub", "file", "random")
#: The theme switch: auto follows the operating system's light/dark setting (as the browser reports it).
THEMES = ("auto", "light", "dark")

#: Makes the page show the chosen theme.  The theme is the browser's to pick, once, when the page loads:
#: Streamlit's frontend takes it from ``embed_options=light_theme|dark_theme`` in the URL, else from the
#: colour-scheme preference.  So a change reloads the page with that option (and ``theme=`` for the
#: settings); every setting comes back from the URL.  A page already showing the wanted theme is left alone.
_THEME_SCRIPT = """<script>
(() => {
  const theme = %s, option = {light: "light_theme", dark: "dark_theme"}[theme] || null;
  const url = new URL(window.location.href);
  const options = url.searchParams.getAll("embed_options");
  const shown = options.find(o => o === "light_theme" || o === "dark_theme") || null;
  if (shown === option) return;
  url.searchParams.delete("embed_options");
  for (const o of options) if (o !== "light_theme" && o !== "dark_theme") url.searchParams.append("embed_options", o);
  if (option) url.searchParams.append("embed_options", option);
  url.searchParams.set("theme", theme);
  window.location.replace(url.toString());
})();
</script>"""


@dataclass
class Context:
    """What the pages get: the model (or None), the image (or None), and cache keys."""

    net: Any = None
    model_key: str = ""
    image: Any = None
    image_name: str = ""
    image_key: str = ""
    model_error: str | None = None
    image_error: str | None = None


def model_state() -> UrlState:
    return UrlState("sidebar").declare(
        Param("src", "choice", "bundled", choices=tuple(SOURCES)),
        Param("model", "choice", DEFAULT_MODEL, choices=BUNDLED_MODELS),
        Param("arch", "text", "resnet18", max_len=80),
        Param("image", "choice", DEFAULT_SAMPLE, choices=(*SAMPLES, UPLOAD)),
        Param("present", "bool", False),
        Param("theme", "choice", "auto", choices=THEMES),
    )


def _load(name: str, weights: str | None):
    """cached_model with hub failures remembered per session (a retry button clears them)."""
    failures = st.session_state.setdefault("_netviz_model_failures", {})
    key = f"{name}|{weights}"
    if key in failures:
        raise NetVizError(failures[key])
    try:
        return models.cached_model(name, weights), key
    except HubUnreachableError:
        # The core's message names the CLI's flags; here the way out is in the sidebar.
        src = spec("src").choices
        failures[key] = (f"Cannot get pretrained weights for {name!r}: the Hugging Face hub is not reachable "
                         f"from this machine and the weights are not in its cache. Under **Weights**, choose "
                         f"**{src['bundled']}**, **{src['file']}** (a local .safetensors file) or "
                         f"**{src['random']}**.")
        raise NetVizError(failures[key]) from None
    except NetVizError as exc:
        failures[key] = str(exc)
        raise


def draw() -> Context:
    """Draw the sidebar; returns the Context that pages read with ``context()``."""
    state = model_state()
    st.session_state["_netviz_sidebar_state"] = state
    ctx = Context()
    sb = st.sidebar
    state.toggle("present", container=sb)
    theme = state.radio("theme", container=sb, horizontal=True)
    sb.html(_THEME_SCRIPT % json.dumps(theme), unsafe_allow_javascript=True)
    sb.header("Model")
    src = state.radio("src", container=sb)
    try:
        if src == "bundled":
            name = state.selectbox("model", container=sb)
            ctx.net, ctx.model_key = _load(name, None)
        elif src in ("hub", "random"):
            name = state.text("arch", container=sb)
            ctx.net, ctx.model_key = _load(name, "hub" if src == "hub" else "random")
        else:
            name = state.text("arch", container=sb)
            up = sb.file_uploader("Weights file (.safetensors, .pth, .pt, .bin)", key="sidebar.weights_file",
                                  help="Loaded safely: safetensors, or torch.load(weights_only=True).")
            if up is None:
                ctx.model_error = "Upload a weights file, or choose another weights source."
                sb.info(ctx.model_error)
            else:
                ctx.net = models.model_from_upload(name, up.name, up.getvalue())
                ctx.model_key = f"{name}|sha256:{digest(up.getvalue())}"
    except NetVizError as exc:
        ctx.net, ctx.model_error = None, str(exc)
        sb.error(str(exc))
        failures = st.session_state.get("_netviz_model_failures", {})
        if failures and sb.button("Retry loading", key="sidebar.retry"):
            failures.clear()
            st.rerun()
    if ctx.net is not None:
        if ctx.net.trained:
            sb.caption(ctx.net.label)
        else:
            sb.warning(f"**UNTRAINED** - {ctx.net.label}")

    sb.header("Image")
    choice = state.selectbox("image", container=sb)
    up = None
    if choice == UPLOAD:
        up = sb.file_uploader("Image file", key="sidebar.image_file", help="PNG, JPEG, GIF, BMP, TIFF, WebP; 20 MB at most.")
        if up is None:
            ctx.image_error = "Upload an image, or pick a sample."
            sb.info(ctx.image_error)
        else:
            ctx.image, ctx.image_name, ctx.image_error = _open(up.getvalue(), up.name)
    else:
        ctx.image, ctx.image_name, ctx.image_error = _open((ASSETS / choice).read_bytes(), choice)
    if ctx.image is not None:
        ctx.image_key = digest(ctx.image)
        sb.image(ctx.image, caption=f"{ctx.image_name} ({ctx.image.width}x{ctx.image.height})", width="stretch")
    elif ctx.image_error and not (choice == UPLOAD and up is None):
        sb.error(ctx.image_error)
    st.session_state["_netviz_context"] = ctx
    return ctx


@st.cache_data(max_entries=16, show_spinner=False)
def _decode(data: bytes, name: str):
    from netviz_core.images import open_image

    return open_image(data, name=name)


def _open(data: bytes, name: str):
    try:
        return _decode(data, name), name, None
    except NetVizError as exc:
        return None, name, str(exc)


def context() -> Context:
    """The Context of this run (a page run without app.py gets an empty one)."""
    return st.session_state.get("_netviz_context") or Context()


def require(image: bool = False) -> Context:
    """The Context of this run; without a model (or, with ``image``, an image) a hint, and the page stops."""
    ctx = context()
    if ctx.net is None or (image and ctx.image is None):
        st.info("Pick a model and an image in the sidebar." if image else "Pick a model in the sidebar.")
        st.stop()
    return ctx


def page_header(title: str, caption: str | None = None, *, image: bool = False) -> Context:
    """A page's title and one-line description, then ``require(image)``: the Context the page draws from."""
    st.title(title)
    if caption:
        st.caption(caption)
    return require(image=image)


def presenting() -> bool:
    """Whether the dashboard is in presentation mode (the sidebar's toggle, or ``present=1`` in the URL)."""
    state = st.session_state.get("_netviz_sidebar_state")
    return bool(state.get("present")) if state is not None else False


def model_label(ctx: Context) -> str:
    """The model's label for captions; untrained models say UNTRAINED in capitals."""
    return ctx.net.label if ctx.net is not None else "no model"
