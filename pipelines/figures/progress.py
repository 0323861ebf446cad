"""Progress against target and time (the 总览 page): bars per indicator, and the words on which returns they rest."""
from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go

from ..progress import data_end
from ..vocab import STATE_CARRIED, STATE_CURRENT, STATE_NO_RETURN, STATUS_SUBSET, date_zh
from .base import STATUS_COLORS, TIME_COLOR, _legend_under_subtitle, empty_figure, finish, fixed_margins, subtitle


def progress_bars(table: pd.DataFrame, as_of: date, scope: str = "全区", extra: str | None = None) -> go.Figure:
    """完成率 per indicator as bars coloured by status, against a line at 时间进度.

    For part of the region (status 不作判断) the bars are that part's share of the region's target,
    without the 时间进度 line (unlike things). Indicators with units missing (数据不全) are grey.
    """
    subset = bool(len(table)) and (table["status"] == STATUS_SUBSET).any()
    title = f"{scope}科技创新合作指标" + ("占全区目标比例" if subset else "完成率与时间进度")
    end = data_end(table) if "latest_period_end" in table and len(table) else None
    if end is not None and end < as_of:  # figures older than the date: the chart says so too
        extra = " · ".join(x for x in (f"数据截至{date_zh(end)}", extra) if x)
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
    if not subset:  # a share of the region's target is not progress against time: no line to compare
        fig.add_vline(x=tp, line=dict(color=TIME_COLOR, dash="dash", width=2),
                      annotation_text=f"时间进度 {tp:.1f}%", annotation_position="top",
                      annotation_font=dict(color=TIME_COLOR))
    order = df["label"].tolist()
    fig.update_yaxes(categoryorder="array", categoryarray=order[::-1], title=None)
    fig.update_xaxes(title="占全区目标（%）" if subset else "完成率（%）",
                     range=[0, max(110, min(150, float(df["shown"].max()) + 15))])
    # legend on its own row under the subtitle, the 时间进度 label on the row below it, just above the
    # bars: the label moves with 时间进度 across the whole width, so it cannot share a row with the legend
    height = 560
    fig.update_layout(barmode="overlay", bargap=0.25, margin=dict(t=150), legend=_legend_under_subtitle(height))
    fixed_margins(fig, order, right=40)  # room for 「150.0%」 past the longest bar
    return finish(fig, title, sub, height=height)



def basis_extra(basis: pd.DataFrame) -> str | None:
    """Subtitle words on which returns item counts rest, from progress.return_basis:
    「13个单位中12个当期报送、1个沿用上期」 (None when there are no units)."""
    if basis is None or basis.empty:
        return None
    n = len(basis)
    cur = int((basis["state"] == STATE_CURRENT).sum())
    car = int((basis["state"] == STATE_CARRIED).sum())
    mis = int((basis["state"] == STATE_NO_RETURN).sum())
    if n == 1:
        return {STATE_CURRENT: "本期已报送", STATE_CARRIED: "沿用上期报表", STATE_NO_RETURN: "尚无报表"}.get(basis["state"].iloc[0])
    return f"{n}个单位中{cur}个当期报送" + (f"、{car}个沿用上期" if car else "") + (f"、{mis}个缺报" if mis else "")
