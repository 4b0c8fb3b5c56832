"""Small Plotly figures shared by the pages."""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go


def score_curve(series: dict[str, Sequence[float]], *, title: str = "class score S_c", marker_step: int | None = None,
                y_title: str = "score", height: int = 260) -> go.Figure:
    """One line per named series over the steps; an optional vertical marker at ``marker_step``."""
    fig = go.Figure()
    for name, ys in series.items():
        fig.add_trace(go.Scatter(x=list(range(len(ys))), y=list(ys), mode="lines", name=name))
    if marker_step is not None:
        fig.add_vline(x=marker_step, line_dash="dot", line_color="gray")
    fig.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis_title="step", yaxis_title=y_title, showlegend=len(series) > 1,
                      legend={"orientation": "h", "y": -0.3})
    return fig


def matrix(values: Sequence[Sequence[float]], rows: Sequence[str], cols: Sequence[str], *, title: str,
           height: int = 300) -> go.Figure:
    """A heatmap with the values written in the cells (e.g. the transfer matrix)."""
    fig = go.Figure(go.Heatmap(z=[list(r) for r in values], x=list(cols), y=list(rows), zmin=0.0, zmax=1.0,
                               colorscale="Viridis", text=[[f"{v:.2f}" for v in r] for r in values],
                               texttemplate="%{text}", hovertemplate="%{y} image, scored by %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis_title="scored by", yaxis_title="image made for", yaxis_autorange="reversed")
    return fig
