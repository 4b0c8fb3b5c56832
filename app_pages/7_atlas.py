"""Atlas: browse what `netviz atlas` or `netviz sweep` made (reads the index and the images; runs no model)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from netviz_app import atlas_view
from netviz_app.state import Param, UrlState, sidebar_state
from netviz_core.errors import NetVizError

st.title("Atlas")
st.caption("Every class, every backbone: the images a batch job made (`netviz atlas`, `netviz sweep`), with their "
           "ranks on each backbone. This page only reads the directory; make or extend one with the commands "
           "in the README.")
PREFIX = "atlas"
PER_PAGE = 24
PER_ROW = 3
state = UrlState(PREFIX).declare(
    Param("atlas_dir", "text", str(atlas_view.DEFAULT_DIR), max_len=400),
    Param("search", "text", "", max_len=80),
    Param("view", "int", -1, lo=-1, hi=999),
    Param("page", "int", 1, lo=1, hi=1000),
)
state.text("atlas_dir")
state.sync(sidebar_state())

try:
    job = atlas_view.read_job(Path(state.get("atlas_dir")).expanduser())
except NetVizError as exc:
    st.error(str(exc))
    st.stop()
if job is None:
    st.info(f"No atlas in {state.get('atlas_dir')} yet. Make one with `netviz atlas --classes 0-49 --out DIR` "
            "(or `python -m benchmarks.atlas_throughput`, which makes the default one), then open DIR here.")
    st.stop()
settings = job.identity["settings"]
st.caption(f"{job.kind} · NetViz {job.identity['netviz']} · preset {settings.get('preset')} · "
           f"{settings['iterations']} iterations · {len(job.rows)} images · backbones: {', '.join(job.backbones)}")

if job.kind == "sweep":
    for sheet in sorted(job.root.glob("sheet-*.png")):
        st.image(str(sheet), caption=sheet.name)
    import json

    table = job.root / "table.json"
    if table.is_file():
        st.dataframe(json.loads(table.read_text()), hide_index=True)
    else:
        st.info("The sweep has no table yet (it is written when the sweep finishes).")
    st.stop()

names = job.names()
state.text("search")
found = [c for c in sorted(job.by_class) if atlas_view.matches(state.get("search"), c, names[c])]
pages = max(1, -(-len(found) // PER_PAGE))

with st.expander("Transfer: ranks of each backbone's images on every backbone of the run"):
    st.dataframe(atlas_view.transfer_table(job), hide_index=True)

view = state.get("view")
if view in job.by_class:  # the large view of one class
    st.subheader(f"{view} {names[view]}")
    if st.button("Close", key=f"{PREFIX}.close"):
        state.set("view", -1)
        st.rerun()
    cols = st.columns(len(job.backbones))
    for col, backbone in zip(cols, job.backbones):
        row = job.by_class[view].get(backbone)
        col.markdown(f"**{backbone}**")
        if row is None:
            col.info("Not made (yet).")
            continue
        gif = job.root / row["gif"] if row.get("gif") else None
        col.image(str(gif if gif is not None and gif.is_file() else job.root / row["png"]), width="stretch")
        ranks = ", ".join(f"{m}: {r}" for m, r in row["ranks"].items())
        col.caption(f"P = {row['probability']:.3f}, rank {row['rank']} on {backbone}; ranks: {ranks}")
        col.link_button("Open these settings live in Class Visualization", atlas_view.classvis_url(row))
        with col.expander("Settings"):
            st.code(atlas_view.settings_text(row), language="json")
    st.divider()

if not found:
    st.info(f"No class matches {state.get('search')!r}.")
    st.stop()
if pages > 1:
    state.number("page", step=1, width=160)
page = min(state.get("page"), pages)  # a search that finds fewer classes shows its last page
shown = found[(page - 1) * PER_PAGE: page * PER_PAGE]
st.caption(f"{len(found)} classes, page {page} of {pages}; the rank under each picture is on the backbone that made "
           "it (1 = top class).")
for start in range(0, len(shown), PER_ROW):  # a few classes per row, each with its backbones side by side
    for col, c in zip(st.columns(PER_ROW, gap="medium"), shown[start:start + PER_ROW]):
        with col.container(border=True):
            st.markdown(f"**{c}** {names[c]}")
            for cell, backbone in zip(st.columns(len(job.backbones), gap="small"), job.backbones):
                row = job.by_class[c].get(backbone)
                if row is None:
                    cell.caption(f"{backbone}: not made")
                    continue
                others = ", ".join(f"{m.removeprefix('tf_efficientnet_')} {r}" for m, r in row["ranks"].items()
                                   if m != backbone)
                cell.image(str(job.root / row["png"]), width="stretch",
                           caption=f"{backbone.removeprefix('tf_efficientnet_')}: rank {row['rank']}"
                           + (f" · on {others}" if others else ""))
            if st.button("Large view", key=f"{PREFIX}.open.{c}"):
                state.set("view", c)
                st.rerun()
