"""DataFrames -> plotly figures, all in one template.

Every figure says what it shows when it stands alone (a screenshot pasted
into a briefing): a Chinese title saying what and where, a subtitle with the
scope and as-of date, units on the axes, and a source line. Status colours
are the same everywhere.
"""
from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from .progress import (
    STATUS_AHEAD, STATUS_BEHIND, STATUS_DONE, STATUS_NO_TARGET, STATUS_NONE, STATUS_SLIGHT,
)

FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, SimHei, sans-serif"

STATUS_COLORS = {
    STATUS_DONE: "#1a7f37",    # green
    STATUS_AHEAD: "#2f81f7",   # blue
    STATUS_SLIGHT: "#d4a72c",  # amber
    STATUS_BEHIND: "#cf222e",  # red
    STATUS_NO_TARGET: "#8c959f",
    STATUS_NONE: "#d0d7de",
}
TIME_COLOR = "#57606a"
SEQUENCE = ["#2f81f7", "#1a7f37", "#d4a72c", "#8250df", "#cf222e", "#1b7c83", "#bf3989", "#953800",
            "#57606a", "#0969da", "#4ac26b", "#e16f24"]
SOURCE_NOTE = "数据来源：各盟市报送数据"

pio.templates["kjhz"] = go.layout.Template(layout=dict(
    font=dict(family=FONT, size=13, color="#1f2328"),
    colorway=SEQUENCE,
    paper_bgcolor="white", plot_bgcolor="white",
    margin=dict(l=70, r=30, t=90, b=80),
    xaxis=dict(gridcolor="#eaeef2", zerolinecolor="#d0d7de", automargin=True),
    yaxis=dict(gridcolor="#eaeef2", zerolinecolor="#d0d7de", automargin=True),
    legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0, title_text=""),
    hoverlabel=dict(font_family=FONT),
))
TEMPLATE = "kjhz"


def date_zh(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def subtitle(scope: str, as_of: date | None, extra: str | None = None) -> str:
    parts = [scope]
    if as_of is not None:
        parts.append(f"截至{date_zh(as_of)}")
    if extra:
        parts.append(extra)
    return " · ".join(parts)


def finish(fig: go.Figure, title: str, sub: str, *, source: str | None = None, note: str | None = None,
           height: int | None = None) -> go.Figure:
    """Apply the template, title, subtitle and source line to a figure."""
    src = source or SOURCE_NOTE
    foot = src if not note else f"{src}　{note}"
    fig.update_layout(
        template=TEMPLATE,
        title=dict(text=title, subtitle=dict(text=sub, font=dict(size=13, color="#57606a")),
                   x=0.01, xanchor="left", y=0.97, yanchor="top", font=dict(size=18)),
        height=height,
    )
    fig.add_annotation(text=foot, xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top",
                       yshift=-50, showarrow=False, font=dict(size=11, color="#57606a"), align="left")
    fig.update_layout(meta={"title": title, "subtitle": sub, "source": src})
    return fig


def empty_figure(title: str, sub: str, message: str, height: int = 320) -> go.Figure:
    """A chart that says why it is empty instead of drawing nothing."""
    fig = go.Figure()
    fig.add_annotation(text=message, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=dict(size=15, color="#57606a"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return finish(fig, title, sub, height=height)


def pct(x) -> str:
    return "—" if x is None or pd.isna(x) else f"{x * 100:.1f}%"


def progress_bars(table: pd.DataFrame, as_of: date, scope: str = "全区", extra: str | None = None) -> go.Figure:
    """完成率 per indicator as bars coloured by status, against a line at 时间进度."""
    title = f"{scope}科技创新合作指标完成率与时间进度"
    sub = subtitle(scope, as_of, extra)
    if table.empty:
        return empty_figure(title, sub, "暂无数据")
    df = table.copy()
    df["label"] = df["indicator_code"] + " " + df["short_name"]
    df["rate_pct"] = (df["completion_rate"] * 100).round(1)
    df["shown"] = df["rate_pct"].clip(upper=150).fillna(0)
    tp = float(df["time_progress"].iloc[0]) * 100
    fig = go.Figure()
    for status, color in STATUS_COLORS.items():
        part = df[df["status"] == status]
        if part.empty:
            continue
        text = [("无数据" if pd.isna(r) else f"{r:.1f}%") for r in part["rate_pct"]]
        fig.add_bar(
            y=part["label"], x=part["shown"], orientation="h", name=status, marker_color=color,
            text=text, textposition="outside", cliponaxis=False,
            customdata=part[["value", "target", "measure", "gap_pp"]].to_numpy(),
            hovertemplate="%{y}<br>累计 %{customdata[0]} / 目标 %{customdata[1]} %{customdata[2]}"
                          "<br>完成率 %{text}<br>差距 %{customdata[3]:.1f} 个百分点<extra>" + status + "</extra>",
        )
    fig.add_vline(x=tp, line=dict(color=TIME_COLOR, dash="dash", width=2),
                  annotation_text=f"时间进度 {tp:.1f}%", annotation_position="top",
                  annotation_font=dict(color=TIME_COLOR))
    order = df["label"].tolist()
    fig.update_yaxes(categoryorder="array", categoryarray=order[::-1], title=None)
    fig.update_xaxes(title="完成率（%）", range=[0, max(110, min(150, float(df["shown"].max()) + 15))])
    fig.update_layout(barmode="overlay", bargap=0.25)
    return finish(fig, title, sub, height=560)
