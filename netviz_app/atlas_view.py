"""What the Atlas page reads from a job directory, and the link that opens an image's settings live.

Nothing here runs a model: the page shows what ``netviz atlas`` / ``netviz sweep``
wrote (the manifest, index.jsonl, the PNGs and GIFs, a sweep's sheets and table).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from netviz_core.atlas.store import JobDir
from netviz_core.classvis import ClassVisSettings

from . import settings_ui

#: Where ``benchmarks/atlas_throughput.py`` writes the atlas the page opens by default.
DEFAULT_DIR = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "atlas"


@dataclass
class Job:
    """A job directory as read from disk: its manifest identity and rows grouped by class."""

    root: Path
    identity: dict
    rows: list[dict]
    by_class: dict[int, dict[str, dict]] = field(default_factory=dict)  # class -> backbone -> row (atlas)

    @property
    def kind(self) -> str:
        return self.identity["kind"]

    @property
    def backbones(self) -> list[str]:
        return list(self.identity["backbones"])

    def names(self) -> dict[int, str]:
        return {r["class"]: r["name"] for r in self.rows}


def read_job(directory: str | Path) -> Job | None:
    """The job in ``directory``; None when there is none yet (AtlasError when it is something else)."""
    store = JobDir(directory)
    manifest = store.read_manifest()
    if manifest is None:
        return None
    rows = [r for r in store.rows() if (store.root / r["png"]).is_file()]  # an image being redone is left out
    job = Job(store.root, manifest["identity"], rows)
    for r in rows:
        if not r.get("variant"):
            job.by_class.setdefault(int(r["class"]), {})[r["backbone"]] = r
    return job


def matches(query: str, index: int, name: str) -> bool:
    """Whether a class matches the search box: its index, or a fragment of its name (case-insensitive)."""
    q = query.strip().lower()
    return not q or q == str(index) or q in name.lower()


def transfer_table(job: Job) -> list[dict]:
    """Per generating backbone and scorer: images, median rank and top-1 / top-5 shares (read from the rows)."""
    out = []
    for g in job.backbones:
        made = [r for r in job.rows if r["backbone"] == g]
        for s in job.backbones:
            ranks = sorted(r["ranks"][s] for r in made if s in r.get("ranks", {}))
            if ranks:
                out.append({"made on": g, "ranked by": s, "images": len(ranks), "median rank": ranks[len(ranks) // 2],
                            "top-1": f"{sum(r == 1 for r in ranks) / len(ranks):.0%}",
                            "top-5": f"{sum(r <= 5 for r in ranks) / len(ranks):.0%}"})
    return out


def classvis_query(row: dict) -> dict[str, str]:
    """The Class Visualization page's URL parameters that reproduce this image's settings live."""
    s = row["settings"]
    query = {"src": "bundled", "model": row["backbone"], "target": str(row["class"]), "seed": str(row["seed"])}
    names = settings_ui.shown(ClassVisSettings)
    for p in settings_ui.params(ClassVisSettings, names):
        if p.name in s and p.name != "seed":
            query[p.name] = p.dump(s[p.name])  # as the page's own URL writes it
    presets = ClassVisSettings.presets
    preset = s.get("preset")
    same = preset in presets and all(presets[preset][n] == s[n] for n in names if n in presets[preset] and n in s)
    query["preset"] = preset if same else settings_ui.CUSTOM
    return query


def classvis_url(row: dict) -> str:
    return "class_visualization?" + urlencode(classvis_query(row))


def settings_text(row: dict) -> str:
    return json.dumps(row["settings"], indent=1, sort_keys=True)
