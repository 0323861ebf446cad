"""Reporting status (报送情况 page): the unit x period matrix and the completeness / timeliness rates."""
from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go

from ..vocab import (
    FLAG_WARNINGS, REPORT_LATE as STATE_LATE, REPORT_MISSING as STATE_MISSING, REPORT_ON_TIME as STATE_ON_TIME,
    REPORT_ORDER as REPORTING_STATE_ORDER, REPORT_PENDING as STATE_PENDING, STATUS_BEHIND, STATUS_DONE, STATUS_NONE,
    STATUS_SLIGHT, date_zh,
)
from .base import STATUS_COLORS, empty_figure, finish, fixed_margins, subtitle

REPORTING_COLORS = {
    STATE_ON_TIME: STATUS_COLORS[STATUS_DONE],   # green, as 已完成
    STATE_LATE: STATUS_COLORS[STATUS_SLIGHT],    # amber, as 略滞后
    STATE_MISSING: STATUS_COLORS[STATUS_BEHIND],  # red, as 滞后
    STATE_PENDING: STATUS_COLORS[STATUS_NONE],   # light grey, as 无数据
}
REPORTING_TEXT_COLORS = {STATE_ON_TIME: "white", STATE_LATE: "#1f2328", STATE_MISSING: "white",
                         STATE_PENDING: "#1f2328"}
WARNING_MARK_COLOR = "#8250df"
RATE_COLORS = {"完整率": "#2f81f7", "及时率": "#1a7f37"}


def _cell_text(r) -> str:
    word = f"逾期{int(r.days_late)}天" if r.state == STATE_LATE and not pd.isna(r.days_late) else r.state
    if r.flag:
        word += f"<br><span style='font-size:10px'>{r.flag}</span>"
    return word


def _cell_hover(r) -> str:
    lines = [f"<b>{r.unit_name} · {r.period_label}</b>", f"状态：{r.state}" + (f"（{FLAG_WARNINGS}）" if r.flag else ""),
             f"报送截止：{date_zh(r.deadline)}"]
    if r.state in (STATE_ON_TIME, STATE_LATE):
        first = pd.Timestamp(r.first_received_at)
        lines.append(f"首次报送：{date_zh(first.date())}" + (f"（晚{int(r.days_late)}天）" if r.state == STATE_LATE else ""))
        cur = pd.Timestamp(r.received_at)
        lines.append(f"当前版本：第{int(r.version)}版，{date_zh(cur.date())}入库，共{int(r.n_versions)}版")
        if r.n_warnings:
            lines.append(f"入库时提示：{int(r.n_warnings)}条")
    elif r.state == STATE_MISSING:
        lines.append(f"已逾期{int(r.days_overdue)}天，尚未收到")
    else:
        lines.append("尚未收到（未到截止日期）")
    if r.rejected_attempts:
        lines.append(f"未通过检查的报送：{int(r.rejected_attempts)}次")
    return "<br>".join(lines)


def reporting_matrix(matrix: pd.DataFrame, today: date, scope: str = "全区", deadline_days: int | None = None,
                     extra: str | None = None) -> go.Figure:
    """Unit x period tiles coloured by 按时/逾期/缺报/待报; a corner mark where loaded with warnings."""
    title = f"{scope}{'各单位' if scope == '全区' else ''}各报告期报送情况"
    rule = f"报告期结束后{deadline_days}天内报送为按时" if deadline_days is not None else None
    sub = subtitle(scope, today, "；".join(x for x in (rule, extra) if x) or None)
    if matrix.empty:
        return empty_figure(title, sub, "没有应报的报表（所选范围内没有已结束的报告期）")
    periods = matrix.drop_duplicates("period_end").sort_values("period_end")
    units = matrix.drop_duplicates("unit_code").sort_values("unit_sort")
    px_ = {p: i for i, p in enumerate(periods["period_end"])}
    py_ = {u: i for i, u in enumerate(units["unit_code"])}
    nx, ny = len(px_), len(py_)
    code = {s: i for i, s in enumerate(REPORTING_STATE_ORDER)}
    xs = [px_[e] for e in matrix["period_end"]]
    ys = [py_[u] for u in matrix["unit_code"]]
    z = [[None] * nx for _ in range(ny)]
    hover = [[""] * nx for _ in range(ny)]
    words = []
    for r, i, j in zip(matrix.itertuples(), ys, xs):
        z[i][j] = code[r.state]
        hover[i][j] = _cell_hover(r)
        words.append(_cell_text(r))
    n = len(REPORTING_STATE_ORDER)
    scale = []
    for k, s in enumerate(REPORTING_STATE_ORDER):
        scale += [[k / n, REPORTING_COLORS[s]], [(k + 1) / n, REPORTING_COLORS[s]]]
    # Every trace is built first and the figure made once: plotly re-validates
    # all earlier annotations/traces on each add_*, which made one annotation
    # per tile cost about a second for 13 x 6 tiles.
    traces = [go.Heatmap(
        z=z, x=list(range(nx)), y=list(range(ny)), zmin=-0.5, zmax=n - 0.5, colorscale=scale, showscale=False,
        xgap=3, ygap=3, customdata=hover, hovertemplate="%{customdata}<extra></extra>", hoverongaps=False,
    )]
    # cell words as one text trace: the text colour follows the tile colour
    traces.append(go.Scatter(
        x=xs, y=ys, text=words, mode="text", textposition="middle center", showlegend=False, hoverinfo="skip",
        textfont=dict(size=12, color=[REPORTING_TEXT_COLORS[s] for s in matrix["state"]]),
    ))
    present = set(matrix["state"])
    for s in REPORTING_STATE_ORDER:
        if s in present or s != STATE_PENDING:
            traces.append(go.Scatter(x=[None], y=[None], mode="markers", name=s, showlegend=True, hoverinfo="skip",
                                     marker=dict(symbol="square", size=14, color=REPORTING_COLORS[s])))
    warn = matrix[matrix["has_warnings"].astype(bool)]
    traces.append(go.Scatter(
        x=[px_[e] + 0.42 for e in warn["period_end"]], y=[py_[u] - 0.3 for u in warn["unit_code"]],
        mode="markers", name=f"{FLAG_WARNINGS}（入库时有提示）", hoverinfo="skip",
        marker=dict(symbol="triangle-sw", size=11, color=WARNING_MARK_COLOR, line=dict(width=0)),
        visible=True if len(warn) else "legendonly",
    ))
    fig = go.Figure(traces, layout=dict(
        # no axis titles: the tick labels are periods and units, and the source line sits below the axis
        xaxis=dict(tickvals=list(range(nx)), ticktext=periods["period_label"].tolist(), side="bottom",
                   showgrid=False, zeroline=False, range=[-0.5, nx - 0.5], fixedrange=True),
        yaxis=dict(tickvals=list(range(ny)), ticktext=units["unit_name"].tolist(), autorange=False,
                   range=[ny - 0.5, -0.5], showgrid=False, zeroline=False, fixedrange=True),
        # the legend gets its own line below the subtitle (a long scope would run into it)
        legend=dict(itemclick=False, itemdoubleclick=False, x=0, xanchor="left"),
        margin=dict(t=120),
    ))
    fixed_margins(fig, units["unit_name"].tolist())
    return finish(fig, title, sub, height=max(380, 180 + 40 * ny), note=f"{ny}个单位 × {nx}个报告期，应报{ny * nx}份")


def reporting_rates(rates_df: pd.DataFrame, by: str, today: date, scope: str = "全区",
                    deadline_days: int | None = None) -> go.Figure:
    """完整率 and 及时率 as grouped bars, per period (``by="period"``) or per unit (``"unit"``)."""
    what = "各报告期" if by == "period" else ("各单位" if scope == "全区" else "分单位")
    title = f"{scope}{what}报送完整率与及时率"
    rule = f"报告期结束后{deadline_days}天内报送为按时" if deadline_days is not None else None
    sub = subtitle(scope, today, rule)
    if rates_df.empty:
        return empty_figure(title, sub, "没有应报的报表")
    label = rates_df["period_label"] if by == "period" else rates_df["unit_name"]
    measures = [("完整率", "completeness", "received"), ("及时率", "timeliness", "on_time")]
    if by != "period":  # horizontal groups stack the first trace at the bottom: keep 完整率 on top
        measures = measures[::-1]
    bars = []
    for name, col, num in measures:
        v = (rates_df[col] * 100).round(1)
        custom = list(zip(rates_df[num], rates_df["expected"]))
        kw = dict(x=label, y=v) if by == "period" else dict(y=label, x=v, orientation="h")
        bars.append(go.Bar(name=name, marker_color=RATE_COLORS[name], text=[f"{x:.1f}%" for x in v],
                           textposition="outside", cliponaxis=False, customdata=custom, textfont=dict(size=11),
                           hovertemplate="%{" + ("x" if by == "period" else "y") + "}<br>" + name
                                         + "：%{text}（%{customdata[0]}/%{customdata[1]}份）<extra></extra>", **kw))
    # the layout is given whole: each update_* call re-validates the figure (about 5 ms apiece)
    layout = dict(barmode="group", bargap=0.25, bargroupgap=0.05, margin=dict(t=120), legend=dict(x=0, xanchor="left"))
    if by == "period":
        layout.update(yaxis=dict(title="比例（%）", range=[0, 112], ticksuffix="%"))
        height = 420
    else:  # the x title would sit on the source line: the tick suffix carries the unit
        layout.update(xaxis=dict(range=[0, 114], ticksuffix="%", side="bottom"),
                      yaxis=dict(categoryorder="array", categoryarray=label.tolist()[::-1]))
        layout["legend"]["traceorder"] = "reversed"
        height = max(380, 150 + 52 * len(rates_df))
    fig = go.Figure(bars, layout=layout)
    return finish(fig, title, sub, height=height + 30,
                  note="完整率 = 已报 ÷ 应报；及时率 = 按时报送 ÷ 应报（按首次报送时间计）")
