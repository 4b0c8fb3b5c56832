"""One task of a batch job: a batch of classes on one backbone with one settings variant -> PNG bytes and rows.

``render_batch`` is the only code that makes images, whichever executor runs it
(this process, or a Ray worker): so the same task gives the same image everywhere,
as long as the torch thread count is the same (CPU kernels split their sums by
thread, so another count rounds differently, and a class visualization amplifies
that).  The task therefore sets the thread count itself, for its own duration, and
records it.

The task writes nothing: it returns the encoded files and their rows, and the
driver writes them (one writer per directory and run; see ``store``).  Each PNG
carries its own row (its deterministic part, in a ``netviz-atlas`` text chunk), so
that the index can be rebuilt from the PNGs alone.  That part holds no timings and
no host name: the same image gives the same bytes, hence the same checksum.
"""

from __future__ import annotations

import io
import json
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from PIL import Image, PngImagePlugin

from .. import __version__

#: Name of the PNG text chunk that holds an image's row.
PNG_KEY = "netviz-atlas"


@dataclass(frozen=True)
class Task:
    """What one task makes: ``targets`` on ``backbone`` with ``settings`` (a ClassVisSettings dict, no targets).

    ``scorers`` rank every image (the generating backbone among them); ``threads`` is
    the torch thread count the task runs with; ``paths`` the PNG path (relative to
    the job directory) of each target, ``gif_paths`` its GIF path or None.
    """

    kind: str
    backbone: str
    variant: str
    variant_values: dict
    settings: dict
    targets: tuple[int, ...]
    scorers: tuple[str, ...]
    threads: int
    paths: tuple[str, ...]
    gif_paths: tuple[str | None, ...]
    device: str | None = None


@dataclass
class Rendered:
    """One image a task made: its files and its row (``meta`` is also inside the PNG; ``extra`` only in the index)."""

    target: int
    png: bytes
    gif: bytes | None
    meta: dict
    extra: dict


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch threads, then restore the caller's count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def ranks_and_probabilities(model, images: Sequence[Image.Image], targets: Sequence[int]) -> tuple[list[int], list[float]]:
    """Each picture fed to ``model`` as a user's picture would be: the target's rank (1 = top) and probability."""
    from ..images import preprocess

    x = torch.cat([preprocess(model, im) for im in images])
    t = torch.as_tensor(list(targets), dtype=torch.long, device=model.device)
    with torch.no_grad():
        logits = model(x).float()
    target_logit = logits.gather(1, t[:, None])
    ranks = (logits > target_logit).sum(1).add(1).tolist()  # ties count in the target's favour
    probabilities = logits.softmax(1).gather(1, t[:, None])[:, 0].tolist()
    return [int(r) for r in ranks], [float(p) for p in probabilities]


def encode_png(image: Image.Image, meta: dict) -> bytes:
    """The PNG file of ``image`` with ``meta`` as JSON in its text chunk (deterministic bytes)."""
    info = PngImagePlugin.PngInfo()
    info.add_text(PNG_KEY, json.dumps(meta, sort_keys=True))
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def read_png_meta(data: bytes) -> dict | None:
    """The row stored in a PNG written by ``encode_png``; None when the file is not one (or is damaged)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # decodes every chunk: a truncated or corrupted file fails here
            text = im.text.get(PNG_KEY)  # type: ignore[attr-defined]
        return json.loads(text) if text else None
    except Exception:  # any decoding failure means "not a valid atlas PNG"; the caller redoes it
        return None


def render_batch(task: Task) -> list[Rendered]:
    """Make the task's images with ``task.threads`` torch threads; models come from the process's cache."""
    from ..classes import short_name
    from ..classvis import ClassVisRun, ClassVisSettings
    from ..models import load_model_cached

    from ..models import _load_model_cached

    started = time.perf_counter()
    loads_before = _load_model_cached.cache_info().misses
    with torch_threads(task.threads):
        net = load_model_cached(task.backbone, device=task.device)  # loaded once per process, kept
        loaded = time.perf_counter()
        settings = ClassVisSettings.from_dict(dict(task.settings, targets=list(task.targets), model=net.name))
        run = ClassVisRun(net, settings=settings)
        frames = run.frames()
        try:
            for _ in frames:
                pass
        finally:
            frames.close()
        result = run.result()
        optimized = time.perf_counter()
        ranks: dict[str, list[int]] = {}
        probabilities: dict[str, list[float]] = {}
        for name in task.scorers:
            scorer = net if name == task.backbone else load_model_cached(name, device=task.device)
            ranks[name], probabilities[name] = ranks_and_probabilities(scorer, result.images, task.targets)
        scored = time.perf_counter()
        gifs = [result.gif_bytes(i, size=None) if path else None for i, path in enumerate(task.gif_paths)]
    worker = f"{socket.gethostname()}:{os.getpid()}"
    out = []
    n = len(task.targets)
    for i, target in enumerate(task.targets):
        meta = {
            "kind": task.kind,
            "backbone": task.backbone,
            "variant": task.variant,
            "variant_values": task.variant_values,
            "class": int(target),
            "name": short_name(int(target), net.class_names),
            "png": task.paths[i],
            "gif": task.gif_paths[i],
            "settings": json.loads(settings.with_overrides(targets=(int(target),), seed=settings.seeds()[i]).to_json()),
            "seed": settings.seeds()[i],
            "torch_threads": int(task.threads),
            "batch": [int(t) for t in task.targets],
            "probability": probabilities[task.backbone][i],
            "rank": ranks[task.backbone][i],
            "ranks": {m: r[i] for m, r in ranks.items()},
            "probabilities": {m: p[i] for m, p in probabilities.items()},
            "netviz": __version__,
            "torch": torch.__version__,
        }
        extra = {
            "timings": {
                "load_s": loaded - started,
                "optimize_s": (optimized - loaded) / n,
                "score_s": (scored - optimized) / n,
                "batch_s": time.perf_counter() - started,
                "batch_size": n,
            },
            "worker": worker,
            "models_loaded_by_task": _load_model_cached.cache_info().misses - loads_before,
        }
        out.append(Rendered(int(target), encode_png(result.images[i], meta), gifs[i], meta, extra))
    return out
