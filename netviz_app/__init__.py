"""Streamlit helpers shared by the NetViz dashboard pages (``app.py`` + ``app_pages/``).

netviz_core never imports streamlit; everything that does lives here:

* ``models``  - ``st.cache_resource`` around ``netviz_core.models.load_model``
* ``sidebar`` - the model and image pickers, drawn once by ``app.py``
* ``state``   - page configuration mirrored in the URL (``st.query_params``), clamped
* ``live``    - the live view of a running optimisation (throttled drawing, stop, scrubber)
* ``classvis_view`` - what pages 3 and 5 (and the benchmark) draw of a class-visualization run
* ``media``   - PNG/JPEG/GIF/NPY bytes for ``st.image`` and download buttons
"""
