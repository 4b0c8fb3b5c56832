"""Reading a weights file safely: a state dict out, and never a line of the file's code run.

* ``read_weights_file``: a ``.safetensors`` file, or a ``.pth``/``.pt``/``.bin`` read with
  ``torch.load(weights_only=True)``; a pickle that would construct anything but tensors
  and plain containers is refused before any of it runs, and the message names the
  globals it wanted (``pickle_imports`` finds them by parsing opcodes only).
* ``match_state_dict_by_order``: another naming scheme's tensors renamed to a module's
  keys by position, after checking the count and every shape (the bundled backbones).
* ``_load_into``: load a state dict by name, or by order when no name matches, with a
  message that lists missing, unexpected and mis-shaped tensors.

Every problem is a ``WeightsFileError``.  ``models.load_model`` uses these.
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path
from typing import Any, Mapping

import torch

from .errors import WeightsFileError
from .files import existing_file_size

#: Weights files larger than this are refused before reading (override: NETVIZ_MAX_WEIGHTS_MB).
MAX_WEIGHTS_BYTES = int(float(os.environ.get("NETVIZ_MAX_WEIGHTS_MB", "2048")) * 2**20)
WEIGHT_FILE_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


def _extract_state_dict(obj: Any, label: str) -> dict[str, torch.Tensor]:
    """The tensor state dict inside a checkpoint (plain, or under 'state_dict'/'model'/...)."""
    for key in ("state_dict", "model_state_dict", "model", "state_dict_ema", "model_ema"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not obj:
        raise WeightsFileError(f"{label} holds no state dict (a mapping of parameter names to tensors).")
    tensors = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            continue  # e.g. an 'epoch' counter saved beside the weights
        key = str(key)
        for prefix in ("module.", "_orig_mod.", "model."):
            if key.startswith(prefix):
                key = key[len(prefix):]
        tensors[key] = value
    if not tensors:
        raise WeightsFileError(f"{label} holds no tensors.")
    return tensors


def pickle_imports(path: Path) -> list[str]:
    """The 'module.name' globals a pickle (or torch zip checkpoint) would import, found without running it.

    Uses ``pickletools.genops``, which only parses opcodes: nothing in the file is executed.
    """
    import pickletools
    import zipfile

    raw = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            pkl = [n for n in archive.namelist() if n.endswith(".pkl")]
            raw = archive.read(pkl[0]) if pkl else b""
    found: list[str] = []
    strings: list[str] = []
    try:
        for opcode, arg, _pos in pickletools.genops(raw):
            if opcode.name in ("GLOBAL", "INST") and isinstance(arg, str):
                found.append(arg.replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
            if isinstance(arg, str) and ("UNICODE" in opcode.name or opcode.name.endswith("STRING")):
                strings.append(str(arg))
    except Exception:  # a malformed stream: report what was found before the break
        pass
    return list(dict.fromkeys(found))


def _is_tensor_machinery(global_name: str) -> bool:
    """Globals that plain tensor checkpoints legitimately use."""
    return global_name.startswith(("torch.", "collections.OrderedDict", "_codecs.encode", "builtins.set"))


def read_weights_file(path: str | os.PathLike, max_bytes: int = MAX_WEIGHTS_BYTES) -> dict[str, torch.Tensor]:
    """Read a state dict safely: safetensors, or ``torch.load(weights_only=True)``.

    Never unpickles arbitrary objects: a pickle that would construct anything but
    tensors and plain containers is refused before any of its code runs.
    """
    p = Path(path)
    label = p.name
    size = existing_file_size(p, "Weights", WeightsFileError)
    if size > max_bytes:
        raise WeightsFileError(
            f"{label} is {size / 2**20:.0f} MB, over the {max_bytes / 2**20:.0f} MB limit for weights files "
            "(raise it with NETVIZ_MAX_WEIGHTS_MB)."
        )
    if size == 0:
        raise WeightsFileError(f"{label} is empty (0 bytes).")
    suffix = p.suffix.lower()
    if suffix not in WEIGHT_FILE_SUFFIXES:
        raise WeightsFileError(
            f"{label}: unsupported weights format {suffix or '(no extension)'!r}; use .safetensors, .pth, .pt or .bin."
        )
    if suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return _extract_state_dict(load_file(str(p), device="cpu"), label)
        except WeightsFileError:
            raise
        except Exception as exc:
            raise WeightsFileError(f"{label} is not a valid safetensors file ({exc}).") from None
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it then refuses anyway
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(str(p), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        imports = [g for g in pickle_imports(p) if not _is_tensor_machinery(g)]
        if imports:
            raise WeightsFileError(
                f"{label} was refused: loading it would unpickle arbitrary Python objects "
                f"({', '.join(imports[:5])}). NetViz never runs code from a weights file. Re-save it as a plain "
                "state dict (torch.save(model.state_dict(), path)) or as .safetensors."
            ) from None
        lines = [line.strip() for line in str(exc).splitlines() if line.strip() and "WeightsUnpickler" not in line]
        detail = next((line for line in lines if line.startswith("Unsupported")), "not a weights-only pickle")
        raise WeightsFileError(f"{label} could not be read as a PyTorch checkpoint ({detail}).") from None
    except Exception as exc:
        raise WeightsFileError(f"{label} could not be read as a PyTorch checkpoint ({type(exc).__name__}: {exc}).") from None
    return _extract_state_dict(obj, label)


def _classifier_num_classes(module: torch.nn.Module, state: Mapping[str, torch.Tensor]) -> int | None:
    """The number of classes that ``state`` was trained for, read from the classifier weight."""
    head = module.pretrained_cfg.get("classifier", "") if hasattr(module, "pretrained_cfg") else ""
    heads = head if isinstance(head, (tuple, list)) else [head]
    for h in heads:
        weight = state.get(f"{h}.weight")
        if weight is not None and weight.dim() >= 1:
            return int(weight.shape[0])
    return None


def match_state_dict_by_order(
    module: torch.nn.Module, state: Mapping[str, torch.Tensor], label: str
) -> dict[str, torch.Tensor]:
    """Rename ``state``'s tensors to ``module``'s keys by position, after checking count and shapes."""
    target = module.state_dict()
    if len(state) != len(target):
        raise WeightsFileError(
            f"{label}: {len(state)} tensors, but the architecture has {len(target)}; they cannot be matched by order."
        )
    mismatches = [
        f"#{i} {src_key} {tuple(src.shape)} vs {dst_key} {tuple(dst.shape)}"
        for i, ((src_key, src), (dst_key, dst)) in enumerate(zip(state.items(), target.items()))
        if tuple(src.shape) != tuple(dst.shape)
    ]
    if mismatches:
        listed = "; ".join(mismatches[:8]) + (f"; and {len(mismatches) - 8} more" if len(mismatches) > 8 else "")
        raise WeightsFileError(f"{label}: {len(mismatches)} tensor shapes do not match the architecture: {listed}")
    return {dst_key: src for dst_key, src in zip(target.keys(), state.values())}


def _load_into(module: torch.nn.Module, state: Mapping[str, torch.Tensor], label: str, arch: str) -> list[str]:
    """Load ``state`` by name; if no name matches, by order.  Returns notes about how it was matched."""
    target = module.state_dict()
    common = set(state) & set(target)
    if not common:
        module.load_state_dict(match_state_dict_by_order(module, state, label))
        return [f"{label}: keys matched to {arch} by order ({len(state)} tensors, all shapes equal)"]
    missing = [k for k in target if k not in state]
    unexpected = [k for k in state if k not in target]
    wrong = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(target[k].shape)}"
        for k in common
        if tuple(state[k].shape) != tuple(target[k].shape)
    ]
    problems = []
    if wrong:
        problems.append(f"{len(wrong)} shape mismatches ({'; '.join(wrong[:5])}{' ...' if len(wrong) > 5 else ''})")
    if missing:
        problems.append(f"{len(missing)} missing ({', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''})")
    if unexpected:
        problems.append(
            f"{len(unexpected)} unexpected ({', '.join(unexpected[:5])}{' ...' if len(unexpected) > 5 else ''})"
        )
    if problems:
        raise WeightsFileError(
            f"{label} does not fit the architecture {arch}: " + "; ".join(problems)
            + ". Check that the architecture name is the one the file was trained with."
        )
    module.load_state_dict(state)
    return []
