"""A sweep's answer in one picture: a contact sheet per (backbone, class), and a table of held-out ranks.

The sheet's columns are the last grid axis's values and its rows every combination
of the other axes (one row when the grid has one axis), each labelled with its
values, so "which λ works for this backbone" is read off one image.  Under each
picture: its rank on the generating backbone and on each held-out backbone (1 =
the top class).  A grid point whose image is not (yet) made is a grey cell.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path
from statistics import mean

from PIL import Image, ImageDraw, ImageFont

from .spec import AXIS_LABELS, JobSpec, Variant, format_value
from .store import JobDir, write_atomic

CELL = 160
PAD = 6
CAPTION = 34
BACKGROUND, MISSING, INK = (255, 255, 255), (200, 200, 200), (20, 20, 20)


def thumbnail(im: Image.Image) -> Image.Image:
    """A picture as it appears in its cell."""
    return im.convert("RGB").resize((CELL, CELL), Image.Resampling.LANCZOS)


def _font(size: int):
    return ImageFont.load_default(size=size)


def _axes(spec: JobSpec) -> tuple[list[tuple[str, tuple]], tuple[str, tuple] | None]:
    axes = list(spec.grid)
    return axes[:-1], axes[-1] if axes else None


def sheet_layout(spec: JobSpec) -> tuple[list[dict], list]:
    """Row labels (dicts of the row axes' values) and column values of the sheet."""
    row_axes, col_axis = _axes(spec)
    rows = [dict(zip([a for a, _ in row_axes], combo)) for combo in itertools.product(*(v for _, v in row_axes))]
    return rows, list(col_axis[1]) if col_axis else [None]


HEAD = 50  # title line and column labels


def _row_labels(spec: JobSpec) -> list[str]:
    return [", ".join(f"{AXIS_LABELS.get(a, a)}={format_value(v)}" for a, v in r.items()) for r in sheet_layout(spec)[0]]


def _label_width(labels: list[str]) -> int:
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = max([int(measure.textlength(t, font=_font(14))) for t in labels] + [0])
    return width + 2 * PAD if width else 0


def cell_boxes(spec: JobSpec) -> dict[str, tuple[int, int, int, int]]:
    """Grid point id -> the (left, top, right, bottom) box of its picture on the sheet: one cell per point."""
    row_values, col_values = sheet_layout(spec)
    _, col_axis = _axes(spec)
    label_w = _label_width(_row_labels(spec))
    boxes = {}
    for i, rv in enumerate(row_values):
        y = HEAD + i * (CELL + CAPTION + PAD)
        for j, cv in enumerate(col_values):
            x = label_w + PAD + j * (CELL + PAD)
            values = dict(rv, **({col_axis[0]: cv} if col_axis else {}))
            boxes[Variant(tuple((a, values[a]) for a, _ in spec.grid)).id] = (x, y, x + CELL, y + CELL)
    return boxes


def contact_sheet(spec: JobSpec, directory: str | Path, backbone: str, target: int) -> Image.Image:
    """The contact sheet of one class on one backbone, from the images and rows on disk."""
    root = Path(directory)
    rows_by_key = {(r["backbone"], r["variant"], r["class"]): r for r in JobDir(root).rows()}
    _, col_axis = _axes(spec)
    row_values, col_values = sheet_layout(spec)
    font, small = _font(14), _font(12)
    row_label = _row_labels(spec)
    label_w = _label_width(row_label)
    boxes = cell_boxes(spec)
    width = label_w + len(col_values) * (CELL + PAD) + PAD
    height = HEAD + len(row_values) * (CELL + CAPTION + PAD) + PAD
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    name = next((r["name"] for r in rows_by_key.values() if r["class"] == target), str(target))
    draw.text((PAD, 6), f"{target} {name} on {backbone}: ranks (generating | held-out)", fill=INK, font=font)
    col_name = AXIS_LABELS.get(col_axis[0], col_axis[0]) if col_axis else ""
    for j, cv in enumerate(col_values):
        if col_axis:
            draw.text((label_w + PAD + j * (CELL + PAD) + 4, HEAD - 22), f"{col_name}={format_value(cv)}", fill=INK,
                      font=font)
    for i, label in enumerate(row_label):
        if label:
            draw.text((PAD, HEAD + i * (CELL + CAPTION + PAD) + CELL // 2 - 8), label, fill=INK, font=font)
    for variant in spec.variants:
        x, y, _, _ = boxes[variant.id]
        row = rows_by_key.get((backbone, variant.id, target))
        if row is None:
            draw.rectangle((x, y, x + CELL - 1, y + CELL - 1), fill=MISSING)
            draw.text((x + 8, y + CELL // 2 - 8), "not made yet", fill=INK, font=small)
            continue
        with Image.open(root / row["png"]) as im:
            sheet.paste(thumbnail(im), (x, y))
        held = [str(row["ranks"][m]) for m in spec.held_out if m in row.get("ranks", {})]
        draw.text((x + 2, y + CELL + 2), f"rank {row['rank']} | {', '.join(held) or '-'}", fill=INK, font=small)
        draw.text((x + 2, y + CELL + 17), f"P={row['probability']:.3f}", fill=INK, font=small)
    return sheet


def sweep_table(spec: JobSpec, directory: str | Path) -> list[dict]:
    """One row per image of the sweep on disk: the grid values, probability, ranks, mean held-out rank."""
    table = []
    for row in sorted(JobDir(directory).rows(), key=lambda r: (r["backbone"], r["class"], r["variant"])):
        values = row.get("variant_values") or {}
        held = {m: row["ranks"][m] for m in spec.held_out if m in row.get("ranks", {})}
        table.append({
            "backbone": row["backbone"], "class": row["class"], "name": row["name"],
            **{a: values.get(a) for a, _ in spec.grid},
            "probability": row["probability"], "rank": row["rank"],
            **{f"rank_{m}": r for m, r in held.items()},
            "mean_held_out_rank": mean(held.values()) if held else None,
            "variant": row["variant"], "png": row["png"],
        })
    return table


def write_sweep_outputs(spec: JobSpec, directory: str | Path) -> list[Path]:
    """Contact sheets (``sheet-BACKBONE-CLASS.png``) and ``table.csv``/``table.json`` in the sweep directory."""
    root = Path(directory)
    written = []
    for backbone in spec.backbones:
        for target in spec.classes:
            buf = io.BytesIO()
            contact_sheet(spec, root, backbone, target).save(buf, format="PNG")
            path = root / f"sheet-{backbone}-{target:04d}.png"
            write_atomic(path, buf.getvalue())
            written.append(path)
    table = sweep_table(spec, root)
    out = io.StringIO()
    if table:
        writer = csv.DictWriter(out, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    write_atomic(root / "table.csv", out.getvalue().encode())
    write_atomic(root / "table.json", json.dumps(table, indent=1).encode())
    return written + [root / "table.csv", root / "table.json"]
