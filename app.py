"""NetViz dashboard: ``streamlit run app.py``.

The frame: page config, the sidebar (model + image, shared by all pages) and the
navigation.  Each page in ``app_pages/`` is thin: widgets in, one netviz_core call,
pictures out.

The pages live in ``app_pages/``, not ``pages/``: when a ``pages/`` folder sits next
to the main script, Streamlit's first run in a process (and every AppTest run) uses
the legacy multipage mode, which runs a page file directly, without this frame.
"""

from __future__ import annotations

import streamlit as st

# Presentation mode (present=1 in the URL) opens with the sidebar closed; the sidebar's toggle keeps it.
_present = str(st.query_params.get("present", "")).lower() in ("1", "true", "yes", "on")
st.set_page_config(page_title="NetViz", page_icon=":eye:", layout="wide",
                   initial_sidebar_state="collapsed" if _present else "expanded")
st.sidebar.title("NetViz")
st.sidebar.caption("What a pretrained image classifier sees.")

# The first run of a server process imports PyTorch and timm (most of a cold start: ~6 of
# ~12 s on a 2-core CPU); say so instead of showing a blank page.  Later runs find the
# modules loaded, and st.spinner only appears after half a second.
with st.spinner("Starting NetViz: importing PyTorch and timm (first run of this server only)..."):
    from netviz_app import sidebar
    from netviz_app.models import leave_a_core_for_the_browser
    from netviz_core.runtime import reuse_freed_memory

reuse_freed_memory()  # once per process: fewer page faults per optimisation step (netviz_core/runtime.py)
leave_a_core_for_the_browser()  # this run's torch threads: the browser on the same machine keeps a core

PAGES = [
    st.Page("app_pages/1_classify_saliency.py", title="Classify & Saliency", icon=":material/image_search:",
            default=True),  # the default page lives at "/"
    st.Page("app_pages/2_fooling.py", title="Fooling", icon=":material/theater_comedy:", url_path="fooling"),
    st.Page("app_pages/3_class_visualization.py", title="Class Visualization", icon=":material/palette:",
            url_path="class_visualization"),
    st.Page("app_pages/4_class_impressions.py", title="Class Impressions", icon=":material/blur_on:",
            url_path="class_impressions"),
    st.Page("app_pages/5_compare_backbones.py", title="Compare Backbones", icon=":material/compare:",
            url_path="compare"),
    st.Page("app_pages/6_layer_explorer.py", title="Layer Explorer", icon=":material/layers:",
            url_path="layer_explorer"),
    st.Page("app_pages/7_atlas.py", title="Atlas", icon=":material/grid_view:", url_path="atlas"),
]

page = st.navigation(PAGES)
sidebar.draw()
page.run()
