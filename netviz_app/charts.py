"""Small Plotly figures shared by the pages."""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go


def score_curve(series: dict[str, Sequence[float]], *, title: str = "class score S_c", marker_step: int | None = None,
                y_title: str = "score", height: int = 260) -> dict:
    """One line per named series over the steps; an optional vertical marker at ``marker_step``.

    A plain Plotly figure dict, not a ``go.Figure``: the live views redraw this chart
    several times a second while the optimiser runs, and building a ``go.Figure``
    validates every property, a few times the cost of handing a dict to
    ``st.plotly_chart`` (benchmarks/results/live_view.md).
    """
    traces = [{"type": "scatter", "mode": "lines", "name": name, "x": list(range(len(ys))),
               "y": [float(y) for y in ys]} for name, ys in series.items()]
    layout = {"title": {"text": title}, "height": height, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
              "xaxis": {"title": {"text": "step"}}, "yaxis": {"title": {"text": y_title}},
              "showlegend": len(series) > 1, "legend": {"orientation": "h", "y": -0.3}}
    if marker_step is not None:
        layout["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": marker_step, "x1": marker_step,
                             "y0": 0, "y1": 1, "line": {"dash": "dot", "color": "gray"}}]
    return {"data": traces, "layout": layout}


def matrix(values: Sequence[Sequence[float]], rows: Sequence[str], cols: Sequence[str], *, title: str,
           height: int = 300) -> go.Figure:
    """A heatmap with the values written in the cells (e.g. the transfer matrix)."""
    fig = go.Figure(go.Heatmap(z=[list(r) for r in values], x=list(cols), y=list(rows), zmin=0.0, zmax=1.0,
                               colorscale="Viridis", text=[[f"{v:.2f}" for v in r] for r in values],
                               texttemplate="%{text}", hovertemplate="%{y} image, scored by %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis_title="scored by", yaxis_title="image made for", yaxis_autorange="reversed")
    return fig
