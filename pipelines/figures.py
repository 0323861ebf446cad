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
    STATUS_AHEAD, STATUS_BEHIND, STATUS_DONE, STATUS_NO_TARGET, STATUS_NONE, STATUS_SLIGHT, STATUS_SUBSET,
)

FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, SimHei, sans-serif"

STATUS_COLORS = {
    STATUS_DONE: "#1a7f37",    # green
    STATUS_AHEAD: "#2f81f7",   # blue
    STATUS_SLIGHT: "#d4a72c",  # amber
    STATUS_BEHIND: "#cf222e",  # red
    STATUS_NO_TARGET: "#8c959f",
    STATUS_SUBSET: "#8c959f",
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
    # the source line sits below the x-axis title: margin and offset leave room for both
    bottom = max(fig.layout.margin.b or 0, 105)
    fig.update_layout(margin=dict(b=bottom))
    fig.add_annotation(text=foot, xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top",
                       yshift=-(bottom - 28), showarrow=False, font=dict(size=11, color="#57606a"), align="left")
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


def export_image(fig: go.Figure, fmt: str = "png", scale: float = 2, width: int = 1200) -> bytes:
    """A static image (png/svg/pdf) of a figure for briefing documents, via kaleido.

    Needs a Chromium (Debian's ``chromium``; ``BROWSER_PATH``) and a CJK font
    (``fonts-noto-cjk``), both installed by scripts/setup.sh.
    """
    import os
    import shutil

    if not os.environ.get("BROWSER_PATH"):
        found = shutil.which("chromium") or shutil.which("chromium-browser")
        if found:
            os.environ["BROWSER_PATH"] = found
    height = fig.layout.height or 520
    return fig.to_image(format=fmt, scale=scale if fmt == "png" else 1, width=width, height=height)


def pct(x) -> str:
    return "—" if x is None or pd.isna(x) else f"{x * 100:.1f}%"


def progress_bars(table: pd.DataFrame, as_of: date, scope: str = "全区", extra: str | None = None) -> go.Figure:
    """完成率 per indicator as bars coloured by status, against a line at 时间进度.

    For part of the region (status 不作判断) the bars are that part's share of the region's target.
    """
    subset = bool(len(table)) and (table["status"] == STATUS_SUBSET).any()
    title = f"{scope}科技创新合作指标{'占全区目标比例' if subset else '完成率'}与时间进度"
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
    fig.update_xaxes(title="占全区目标（%）" if subset else "完成率（%）",
                     range=[0, max(110, min(150, float(df["shown"].max()) + 15))])
    # legend on its own row under the subtitle, the 时间进度 label on the row below it, just above the
    # bars: the label moves with 时间进度 across the whole width, so it cannot share a row with the legend
    height = 560
    fig.update_layout(barmode="overlay", bargap=0.25, margin=dict(t=150), legend=_legend_under_subtitle(height))
    return finish(fig, title, sub, height=height)


# --------------------------------------------------------------------------
# Reporting status (报送情况)
from .reporting import (  # noqa: E402
    FLAG_WARNINGS, STATE_LATE, STATE_MISSING, STATE_ON_TIME, STATE_ORDER as REPORTING_STATE_ORDER, STATE_PENDING,
)

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


# --------------------------------------------------------------------------
# Items by sector and by partner (按领域, 按国别). Frames come from the
# items_* functions of pipelines.queries. Clickable marks carry the code they
# stand for in customdata (1-D), read back by clicked_codes(event).
from functools import lru_cache  # noqa: E402

import numpy as np  # noqa: E402
from plotly.subplots import make_subplots  # noqa: E402

from . import geo as _geo  # noqa: E402

ITEM_UNIT = "项"
FUNDING_UNIT = "万元"
# 16 item types in data/item_types.csv order: related types share a hue (the
# two kinds of base blue, the two kinds of project orange, the academician
# types red/pink/lavender); grey last for 其他合作事项.
TYPE_PALETTE = ["#1f77b4", "#aec7e8", "#17becf", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#bcbd22",
                "#9467bd", "#d62728", "#ff9896", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#7f7f7f"]
KIND_COLORS = {"foreign": "#2f81f7", "domestic": "#1a7f37"}
KIND_LABELS = {"foreign": "国际合作", "domestic": "国内区域合作（含港澳台）"}
CONTINENT_COLORS = {"亚洲": "#2f81f7", "欧洲": "#8250df", "北美洲": "#d4a72c", "南美洲": "#bf3989",
                    "非洲": "#953800", "大洋洲": "#1b7c83"}
HEAT_SCALE = [[0.0, "#f6f8fa"], [0.0001, "#ddf4ff"], [0.5, "#54aeff"], [1.0, "#0a3069"]]
MAP_SCALE = [[0.0, "#b6e3ff"], [0.5, "#218bff"], [1.0, "#0a3069"]]
CHINA_FILL = "#f6e7c8"
IM_FILL = "#e9b44c"
LAND_FILL = "#eaeef2"
BORDER = "#8c959f"
MAP_CENTER_LON = 140.0
TOP_LEGEND = dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom", title_text="",
                  font=dict(size=12))


def _np_geometry(g: dict) -> dict:
    if g["type"] == "MultiPolygon":
        return {"type": g["type"], "coordinates": [[np.asarray(r, dtype=float) for r in poly]
                                                   for poly in g["coordinates"]]}
    return {"type": g["type"], "coordinates": [np.asarray(r, dtype=float) for r in g["coordinates"]]}


@lru_cache(maxsize=None)
def _map_features(which: str) -> tuple[dict, ...]:
    """Features of a geo.py file with numpy rings: plotly writes numpy arrays straight to JSON,
    about 20 times faster than nested lists (the world map is ~60,000 points on every run)."""
    fc = _geo.load_world_geojson() if which == "world" else _geo.load_region_outline_geojson()
    return tuple({"type": "Feature", "id": f["id"], "geometry": _np_geometry(f["geometry"])} for f in fc["features"])


def _collection(features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def clicked_codes(event) -> list[str]:
    """Codes (customdata) of the points a Streamlit plotly selection event holds."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return []
    out = []
    for p in points or []:
        cd = p.get("customdata")
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if isinstance(cd, str) and cd:
            out.append(cd)
    return list(dict.fromkeys(out))


def _source_below(fig: go.Figure, shift: int) -> go.Figure:
    """Move finish()'s source line further down (below rotated tick labels) and make room for it."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    for ann in fig.layout.annotations:
        if isinstance(ann.text, str) and ann.text.startswith(meta.get("source", "\0")) and ann.yref == "paper":
            ann.yshift = -shift
    fig.update_layout(margin_b=shift + 30)
    return fig


def _bargap(height: int, n: int, top: int = 120, bottom: int = 80, thickness: int = 22) -> float:
    """A bar gap that keeps horizontal bars about ``thickness`` px thick however few there are."""
    per = max(height - top - bottom, 1) / max(n, 1)
    return min(0.85, max(0.25, 1 - thickness / per))


def _type_colors(types: list[str], order: list[str] | None) -> dict[str, str]:
    order = list(order or []) + [t for t in types if t not in (order or [])]
    return {t: TYPE_PALETTE[i % len(TYPE_PALETTE)] for i, t in enumerate(order)}


def sector_bars(df: pd.DataFrame, as_of: date, scope: str = "全区", extra: str | None = None,
                sector_order: list[str] | None = None, type_order: list[str] | None = None) -> go.Figure:
    """Live items (项) and funding (万元) per sector, stacked by item type, side by side.

    df: queries.items_by_sector_type. sector_order: sector names top to
    bottom; type_order: item type names (data/item_types.csv order) for
    stable colours.
    """
    title = f"{scope}各领域科技合作事项数与投入经费"
    sub = subtitle(scope, as_of, extra)
    if df.empty:
        return empty_figure(title, sub, "所选范围内没有在册的合作事项")
    sectors = [s for s in (sector_order or []) if s in set(df["sector_name"])] or sorted(df["sector_name"].unique())
    sectors += [s for s in df["sector_name"].unique() if s not in sectors]
    code_of = dict(zip(df["sector_name"], df["sector_code"]))
    colors = _type_colors(df["item_type"].unique().tolist(), type_order)
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04)
    for t, color in colors.items():
        part = df[df["item_type"] == t]
        if part.empty:
            continue
        for col, field, unit, fmt in ((1, "items", ITEM_UNIT, "%{x}"), (2, "funding_wan", FUNDING_UNIT, "%{x:,.1f}")):
            fig.add_bar(y=part["sector_name"], x=part[field], orientation="h", name=t, legendgroup=t,
                        showlegend=(col == 1), marker_color=color, customdata=part["sector_code"],
                        hovertemplate=f"%{{y}} · {t}<br>{fmt} {unit}<extra></extra>", row=1, col=col)
    tot = df.groupby("sector_name").agg(items=("items", "sum"), funding=("funding_wan", "sum")).reindex(sectors)
    for col, field, fmt in ((1, "items", "{:.0f}"), (2, "funding", "{:,.0f}")):
        fig.add_scatter(y=tot.index, x=tot[field], mode="text", text=[fmt.format(v) for v in tot[field]],
                        textposition="middle right", showlegend=False, hoverinfo="skip",
                        customdata=[code_of[s] for s in tot.index], cliponaxis=False, row=1, col=col)
    fig.update_yaxes(categoryorder="array", categoryarray=sectors[::-1], title=None)
    fig.update_xaxes(title_text="事项数（项）", row=1, col=1, rangemode="tozero")
    fig.update_xaxes(title_text="投入经费（万元）", row=1, col=2, rangemode="tozero", tickformat=",")
    for col, field in ((1, "items"), (2, "funding")):
        fig.update_xaxes(range=[0, max(float(tot[field].max()), 1) * 1.15], row=1, col=col)
    n_types = int(df["item_type"].nunique())
    height = max(210 + 34 * len(sectors), 230 + 19 * n_types)  # room for the bars and for the legend
    plot_h = height - 170
    fig.update_layout(barmode="stack", bargap=max(0.3, 1 - 36 / (plot_h / len(sectors))),
                      legend=dict(orientation="v", x=1.01, xanchor="left", y=1.0, yanchor="top",
                                  title_text="事项类别", font=dict(size=12), tracegroupgap=0))
    return finish(fig, title, sub, height=height)


def _count_heatmap(df: pd.DataFrame, rows: str, cols: str, row_order: list, col_order: list,
                   tickangle: int) -> go.Figure:
    """Item counts (项) as a heatmap: rows x columns in the given order, zero cells left blank."""
    z = df.pivot_table(index=rows, columns=cols, values="items", aggfunc="sum").reindex(
        index=row_order, columns=col_order).fillna(0)
    text = [[("" if v == 0 else f"{int(v)}") for v in row] for row in z.to_numpy()]
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy(), x=col_order, y=row_order, text=text, texttemplate="%{text}", colorscale=HEAT_SCALE,
        xgap=2, ygap=2, colorbar=dict(title=dict(text="事项数（项）"), thickness=12),
        hovertemplate="%{y} · %{x}<br>%{z} 项<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title=None, showgrid=False)
    fig.update_xaxes(title=None, side="bottom", showgrid=False, tickangle=tickangle)
    return fig


def sector_unit_heatmap(df: pd.DataFrame, as_of: date, scope: str = "全区", extra: str | None = None,
                        sector_order: list[str] | None = None, unit_order: list[str] | None = None) -> go.Figure:
    """Live items (项) per sector (rows) and unit (columns). df: queries.items_by_sector_unit."""
    title = f"{scope}各领域合作事项的盟市分布"
    sub = subtitle(scope, as_of, extra)
    if df.empty:
        return empty_figure(title, sub, "所选范围内没有在册的合作事项")
    sectors = [s for s in (sector_order or []) if s in set(df["sector_name"])] or sorted(df["sector_name"].unique())
    units = [u for u in (unit_order or []) if u in set(df["unit_name"])] or sorted(df["unit_name"].unique())
    fig = _count_heatmap(df, "sector_name", "unit_name", sectors, units, tickangle=-30)
    return _source_below(finish(fig, title, sub, height=max(320, 230 + 32 * len(sectors))), 100)


def _period_label(d: date) -> str:
    return f"{d.year}年{d.month}月底"


def sector_growth(df: pd.DataFrame, as_of: date, scope: str = "全区", extra: str | None = None,
                  sector_order: list[str] | None = None) -> go.Figure:
    """Live items per sector at each period end (lines). df: queries.items_by_sector_period."""
    title = f"{scope}各领域在册合作事项数变化"
    sub = subtitle(scope, as_of, extra)
    if not df.empty:
        df = df[df["units_with_return"] > 0]  # before a unit's first return there is nothing to show, not 0
    if df.empty:
        return empty_figure(title, sub, "截至所选日期，所选范围内各报告期都没有在册的合作事项")
    dates = sorted(df["at_date"].unique())
    labels = [_period_label(d) for d in dates]
    sectors = [s for s in (sector_order or []) if s in set(df["sector_name"])] or sorted(df["sector_name"].unique())
    fig = go.Figure()
    for i, s in enumerate(sectors):
        part = df[df["sector_name"] == s].set_index("at_date").reindex(dates)
        fig.add_scatter(x=labels, y=part["items"].fillna(0), name=s, mode="lines+markers",
                        line=dict(color=SEQUENCE[i % len(SEQUENCE)], width=2), marker=dict(size=6),
                        customdata=[part["sector_code"].dropna().iloc[0]] * len(dates),
                        text=[f"{int(n)}个单位有报表" for n in part["units_with_return"].fillna(0)],
                        hovertemplate=f"{s}<br>%{{x}}：%{{y}} 项<br>%{{text}}<extra></extra>")
    fig.update_xaxes(title="报告期末", type="category")
    fig.update_yaxes(title="在册事项数（项）", rangemode="tozero")
    fig.update_layout(legend=dict(orientation="v", x=1.01, xanchor="left", y=1.0, yanchor="top",
                                  title_text="所属领域"))
    if len(dates) == 1:
        fig.add_annotation(text="只有一个报告期的数据，尚不能看出变化", xref="paper", yref="paper", x=0.5, y=1.02,
                           showarrow=False, font=dict(color="#57606a"))
    return finish(fig, title, sub, height=460)


def partner_world_map(df: pd.DataFrame, as_of: date, scope: str = "全区", extra: str | None = None,
                      height: int = 660) -> go.Figure:
    """Foreign partner countries coloured by live items (项), on China's official outline.

    df: queries.items_by_partner(kind="foreign"). China (Taiwan, Hong Kong
    and Macao included, as one outline) is drawn in its own colour with
    Inner Mongolia marked, the ten-dash line on top; partner countries are
    clickable (customdata = ISO3). Nothing is fetched (OFFLINE_MAP_STYLE).
    """
    title = f"{scope}科技合作伙伴国家分布"
    sub = subtitle(scope, as_of, extra)
    world = _map_features("world")
    df = df[df["kind"] == "foreign"] if "kind" in df else df
    ids = {f["id"] for f in world}
    on_map = df[df["partner_code"].isin(ids)]
    fig = go.Figure()
    partner_ids = set(on_map["partner_code"])
    rest = _collection(f for f in world if f["id"] != "CHN" and f["id"] not in partner_ids)
    others = [f["id"] for f in rest["features"]]
    fig.add_choroplethmap(geojson=rest, locations=others, z=[0] * len(others), featureidkey="id",
                          colorscale=[[0, LAND_FILL], [1, LAND_FILL]], showscale=False, hoverinfo="skip",
                          marker_line_color="#ffffff", marker_line_width=0.4, name="其他国家")
    china = _collection(f for f in world if f["id"] == "CHN")
    fig.add_choroplethmap(geojson=china, locations=["CHN"], z=[0], featureidkey="id",
                          colorscale=[[0, CHINA_FILL], [1, CHINA_FILL]], showscale=False, name="中国",
                          marker_line_color=BORDER, marker_line_width=0.8,
                          hovertemplate="中国<extra></extra>")
    outline = _collection(_map_features("outline"))
    fig.add_choroplethmap(geojson=outline, locations=[f["id"] for f in outline["features"]],
                          z=[0] * len(outline["features"]), featureidkey="id",
                          colorscale=[[0, IM_FILL], [1, IM_FILL]], showscale=False, name="内蒙古自治区",
                          marker_line_color="#953800", marker_line_width=0.6,
                          hovertemplate="内蒙古自治区<extra></extra>")
    if not on_map.empty:
        feats = _collection(f for f in world if f["id"] in partner_ids)
        fig.add_choroplethmap(
            geojson=feats, locations=on_map["partner_code"], z=on_map["items"], featureidkey="id",
            colorscale=MAP_SCALE, zmin=0, zmax=max(int(on_map["items"].max()), 1),
            marker_line_color="#ffffff", marker_line_width=0.6, name="合作国家",
            customdata=on_map["partner_code"], text=on_map["name"],
            hovertemplate="%{text}<br>在册合作事项 %{z} 项<extra></extra>",
            colorbar=dict(title=dict(text="事项数（项）"), thickness=12, len=0.6, y=0.5))
    lons, lats = _geo.maritime_line_lonlat()
    fig.add_scattermap(lon=lons, lat=lats, mode="lines", line=dict(color="#57606a", width=1.4),
                       hoverinfo="skip", showlegend=False, name="南海断续线")
    # Pacific-centred, as on China's standard world map; zoom so the latitudes fit the height.
    # The whole world (360°) spans about 950 px: the usual width of a full-width chart.
    missing = df[~df["partner_code"].isin(ids)]
    note = "<br>" + _geo.boundary_caption()
    if not missing.empty:
        note = "<br>地图上未能显示：" + "、".join(missing["name"]) + note
    center, zoom = _geo.map_view((MAP_CENTER_LON - 180.0, -52.0, MAP_CENTER_LON + 180.0, 78.0),
                                 950, height - 90 - _footer_height(note), padding=0.0)
    fig.update_layout(map=dict(style=_geo.OFFLINE_MAP_STYLE, center=center, zoom=zoom),
                      margin=dict(l=10, r=10, t=90), showlegend=False)
    if on_map.empty:
        fig.add_annotation(text="所选范围内没有与国外合作的在册事项", xref="paper", yref="paper", x=0.5, y=0.1,
                           showarrow=False, font=dict(size=15, color="#57606a"), bgcolor="rgba(255,255,255,0.8)")
    return _map_footer(finish(fig, title, sub, note=note, height=height))


def partner_top(df: pd.DataFrame, as_of: date, scope: str = "全区", extra: str | None = None,
                n: int = 15) -> go.Figure:
    """The n foreign partner countries with most live items, coloured by continent.

    df: queries.items_by_partner(kind="foreign") (港澳台 are domestic and never appear).
    """
    df = df[df["kind"] == "foreign"] if "kind" in df else df
    title = f"{scope}主要合作国家（前{n}位）" if len(df) > n else f"{scope}各合作国家的合作事项数"
    sub = subtitle(scope, as_of, extra)
    if df.empty:
        return empty_figure(title, sub, "所选范围内没有与国外合作的在册事项")
    top = df.sort_values(["items", "partner_code"], ascending=[False, True]).head(n)
    order = top["name"].tolist()
    fig = go.Figure()
    for cont in [c for c in CONTINENT_COLORS if c in set(top["continent"])] + \
            [c for c in top["continent"].unique() if c not in CONTINENT_COLORS]:
        part = top[top["continent"] == cont]
        fig.add_bar(y=part["name"], x=part["items"], orientation="h", name=cont or "其他",
                    marker_color=CONTINENT_COLORS.get(cont, "#8c959f"), customdata=part["partner_code"],
                    text=part["items"], textposition="outside", cliponaxis=False,
                    hovertemplate="%{y}（" + (cont or "其他") + "）<br>%{x} 项<extra></extra>")
    fig.update_yaxes(categoryorder="array", categoryarray=order[::-1], title=None)
    fig.update_xaxes(title="在册合作事项数（项）", rangemode="tozero",
                     range=[0, float(top["items"].max()) * 1.15 + 0.5])
    height = max(340, 200 + 26 * len(top))
    fig.update_layout(barmode="overlay", bargap=_bargap(height, len(top)), legend=TOP_LEGEND, margin_t=120)
    return finish(fig, title, sub, height=height)


def partner_groups_bar(df: pd.DataFrame, as_of: date, scope: str = "全区", extra: str | None = None) -> go.Figure:
    """Live items per partner group of the plan; an item counts once per group.

    df: queries.items_by_partner_group (every group, zeros included).
    """
    title = f"{scope}计划重点合作方向的合作事项数"
    sub = subtitle(scope, as_of, extra)
    if df.empty:
        return empty_figure(title, sub, "没有配置合作分组（data/partner_groups.csv）")
    if int(df["items"].sum()) == 0:
        return empty_figure(title, sub, "所选范围内没有注明合作国家（地区）的在册事项")
    order = df["group_name"].tolist()
    fig = go.Figure()
    for kind, color in KIND_COLORS.items():
        part = df[df["kind"] == kind]
        if part.empty:
            continue
        fig.add_bar(y=part["group_name"], x=part["items"], orientation="h", name=KIND_LABELS[kind],
                    marker_color=color, customdata=part["group_code"], text=part["items"],
                    textposition="outside", cliponaxis=False,
                    hovertemplate="%{y}<br>%{x} 项（一项事项在同一分组只计一次）<extra></extra>")
    fig.update_yaxes(categoryorder="array", categoryarray=order[::-1], title=None)
    fig.update_xaxes(title="在册合作事项数（项）", rangemode="tozero",
                     range=[0, float(df["items"].max()) * 1.15 + 0.5])
    height = max(340, 200 + 26 * len(df))
    fig.update_layout(barmode="overlay", bargap=_bargap(height, len(df)), legend=TOP_LEGEND, margin_t=120)
    return finish(fig, title, sub, height=height)


def domestic_partners_bar(df: pd.DataFrame, as_of: date, scope: str = "全区", extra: str | None = None) -> go.Figure:
    """Live items per domestic partner region (provinces of China; 中国香港、中国澳门、中国台湾 among them).

    df: queries.items_by_partner(kind="domestic").
    """
    df = df[df["kind"] == "domestic"] if "kind" in df else df
    title = f"{scope}国内合作省（区、市）分布"
    sub = subtitle(scope, as_of, extra)
    if df.empty:
        return empty_figure(title, sub, "所选范围内没有与国内其他省（区、市）合作的在册事项")
    df = df.sort_values(["items", "partner_code"], ascending=[False, True])
    fig = go.Figure(go.Bar(
        y=df["name"], x=df["items"], orientation="h", marker_color=KIND_COLORS["domestic"],
        customdata=df["partner_code"], text=df["items"], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}<br>%{x} 项<extra></extra>", name="国内合作"))
    fig.update_yaxes(categoryorder="array", categoryarray=df["name"].tolist()[::-1], title=None)
    fig.update_xaxes(title="在册合作事项数（项）", rangemode="tozero",
                     range=[0, float(df["items"].max()) * 1.15 + 0.5])
    height = max(340, 200 + 26 * len(df))
    fig.update_layout(bargap=_bargap(height, len(df), top=90), showlegend=False)
    return finish(fig, title, sub, height=height)


def partner_sector_heatmap(df: pd.DataFrame, as_of: date, scope: str = "全区", extra: str | None = None,
                           sector_order: list[str] | None = None) -> go.Figure:
    """Live items per partner (rows, most items first) and sector (columns).

    df: queries.items_by_partner_sector.
    """
    n = df["partner_code"].nunique() if not df.empty else 0
    title = f"{scope}主要合作方与领域分布"
    sub = subtitle(scope, as_of, extra)
    if df.empty:
        return empty_figure(title, sub, "所选范围内没有注明合作国家（地区）的在册事项")
    partners = df.drop_duplicates("partner_code")["name"].tolist()
    sectors = [s for s in (sector_order or []) if s in set(df["sector_name"])] or sorted(df["sector_name"].unique())
    fig = _count_heatmap(df, "name", "sector_name", partners, sectors, tickangle=-35)
    return _source_below(finish(fig, title, sub + f" · 事项最多的{n}个合作方", height=max(360, 290 + 26 * n)), 130)


# --------------------------------------------------------------------------
# 按盟市 (unit map, ranking, unit x indicator heatmap) and 进度趋势 (trend lines)

MAP_SCALE = [[0.0, "#dbe9fb"], [0.5, "#6aa5f0"], [1.0, "#0b4a9c"]]
NO_DATA_COLOR = STATUS_COLORS[STATUS_NONE]
SELECTED_LINE = "#1f2328"
CARRIED_NOTE = "斜线 / 空心点：含沿用更早报告期的数字"


# The 按盟市 map's fills: light enough at the top that the dark unit labels stay readable on every
# unit (contrast of #1f2328 on the darkest fill ≥ 4.5:1); MAP_SCALE's dark top would swallow them.
UNIT_MAP_SCALE = [[0.0, "#e8f1fc"], [0.5, "#a9cbf3"], [1.0, "#5b9be0"]]
MAP_LABEL_COLOR = "#1f2328"
CALLOUT_COLOR = "#57606a"
FOOTER_LINE_PX = 15  # one line of the 11-px footer


def _map_note(extra: str | None = None) -> str:
    """The boundary caption on its own lines under the source line (wrapped to fit half a screen)."""
    note = "<br>" + _geo.boundary_caption()
    return note if not extra else f"{extra}{note}"


def _fit_footer(fig: go.Figure, gap: int) -> go.Figure:
    """Start finish()'s footer ``gap`` px below the plot area and make the bottom margin exactly as
    tall as its lines (finish() leaves room for one line only), so none is cut off."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    for ann in fig.layout.annotations:
        if isinstance(ann.text, str) and ann.text.startswith(meta.get("source", "\0")):
            ann.yshift = -gap
            lines = 1 + ann.text.count("<br>")
            fig.update_layout(margin_b=gap + FOOTER_LINE_PX * lines + 12)
    return fig


def _map_footer(fig: go.Figure, gap: int = 6) -> go.Figure:
    """The footer right under a map: maps have no x-axis title to clear."""
    return _fit_footer(fig, gap)


def _footer_height(note: str) -> int:
    """The bottom margin _map_footer will give a footer with this note (for the map's zoom)."""
    return 6 + FOOTER_LINE_PX * (1 + note.count("<br>")) + 12


def unit_map(df: pd.DataFrame, title: str, sub: str, metric_title: str, selected=(), height: int = 640,
             map_width_px: int = 520, note: str | None = None) -> go.Figure:
    """The 12 leagues/cities coloured by ``metric``; units without a value drawn grey.

    df: unit_code, unit_name, metric (float, NaN = no data), display (text for hover and label),
    detail (more hover text). Rows for units not on the map (自治区本级) are ignored here: the
    page shows them beside the map. ``selected`` units get a dark outline. customdata[0] of every
    polygon is the unit code (for click-to-filter).

    Every unit is labelled with its name and value: inside the unit where the label fits, else
    (geo.UNIT_LABEL_CALLOUTS) beside the region with a leader line, so MapLibre, which drops
    labels that overlap, never has two labels on top of each other at the default zoom.
    """
    gj = _geo.load_units_geojson()
    ids = [f["id"] for f in gj["features"]]
    names = _geo.unit_names()
    d = pd.DataFrame({"unit_code": ids}).merge(df, how="left", on="unit_code")
    d["unit_name"] = d["unit_name"].fillna(d["unit_code"].map(names))
    d["display"] = d["display"].fillna("无数据")
    d["detail"] = d["detail"].fillna("")
    custom = d[["unit_code", "unit_name", "display", "detail"]].to_numpy()
    hover = "<b>%{customdata[1]}</b><br>" + metric_title + "：%{customdata[2]}<br>%{customdata[3]}<extra></extra>"
    has = d["metric"].notna().to_numpy()
    fig = go.Figure()
    if has.any():
        vals = d.loc[has, "metric"].astype(float)
        lo, hi = min(0.0, float(vals.min())), float(vals.max())
        fig.add_trace(go.Choroplethmap(
            geojson=gj, featureidkey="id", locations=d.loc[has, "unit_code"], z=vals, zmin=lo,
            zmax=hi if hi > lo else lo + 1, colorscale=UNIT_MAP_SCALE, customdata=custom[has], hovertemplate=hover,
            marker=dict(line=dict(color="white", width=1.2), opacity=0.95), name=metric_title,
            # top-left corner: the region runs from south-west to north-east, that corner stays empty
            colorbar=dict(title=dict(text=metric_title, side="top"), thickness=12, len=0.42, lenmode="fraction",
                          x=0.01, xanchor="left", y=0.99, yanchor="top", bgcolor="rgba(255,255,255,0.85)",
                          outlinecolor="#8c959f", outlinewidth=0.5),
        ))
    if (~has).any():
        fig.add_trace(go.Choroplethmap(
            geojson=gj, featureidkey="id", locations=d.loc[~has, "unit_code"], z=[0] * int((~has).sum()),
            colorscale=[[0, NO_DATA_COLOR], [1, NO_DATA_COLOR]], showscale=False, customdata=custom[~has],
            hovertemplate=hover, marker=dict(line=dict(color="white", width=1.2)), name="无数据", showlegend=False,
        ))
    sel = d["unit_code"].isin(list(selected)).to_numpy()
    if sel.any():
        fig.add_trace(go.Choroplethmap(
            geojson=gj, featureidkey="id", locations=d.loc[sel, "unit_code"], z=[1] * int(sel.sum()),
            colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]], showscale=False, customdata=custom[sel],
            hovertemplate=hover, marker=dict(line=dict(color=SELECTED_LINE, width=3.5)), name="所选单位",
            showlegend=False,
        ))
    keys = (["灰色：无可显示的数值（见标注）"] if (~has).any() else []) + (["黑框：所选单位"] if sel.any() else [])
    foot = _map_note("".join("<br>" + k for k in keys + ([note] if note else [])))
    top = 90
    plot_h = height - top - _footer_height(foot)
    center, zoom = _geo.im_view(width_px=map_width_px, height_px=plot_h)
    cent = _geo.unit_centroids()
    lab = d[d["unit_code"].isin(list(cent))]
    short = (lab["unit_short"] if "unit_short" in lab else lab["unit_name"]).fillna(lab["unit_name"])
    inside = ~lab["unit_code"].isin(list(_geo.UNIT_LABEL_CALLOUTS)).to_numpy()
    fig.add_trace(go.Scattermap(
        lon=[cent[c][0] for c in lab["unit_code"][inside]], lat=[cent[c][1] for c in lab["unit_code"][inside]],
        mode="text", text=[f"{n}<br>{v}" for n, v in zip(short[inside], lab["display"][inside])],
        textfont=dict(size=12, color=MAP_LABEL_COLOR), hoverinfo="skip", showlegend=False, name="标注",
    ))
    line_lon, line_lat, groups = [], [], {}
    for code, n, v in zip(lab["unit_code"][~inside], short[~inside], lab["display"][~inside]):
        dx, dy, pos = _geo.UNIT_LABEL_CALLOUTS[code]
        lon0, lat0 = cent[code]
        lon1, lat1 = _geo.offset_lonlat(lon0, lat0, dx, dy, zoom)
        line_lon += [lon0, lon1, None]
        line_lat += [lat0, lat1, None]
        groups.setdefault(pos, []).append((lon1, lat1, f"{n} {v}"))
    if groups:
        fig.add_trace(go.Scattermap(
            lon=line_lon, lat=line_lat, mode="lines+markers", line=dict(color=CALLOUT_COLOR, width=1),
            marker=dict(size=[5, 0, 0] * (len(line_lon) // 3), color=CALLOUT_COLOR),
            hoverinfo="skip", showlegend=False, name="引线"))
        for pos, pts in groups.items():
            # "markers+text" with an invisible marker: with mode="text" alone plotly.js computes the
            # offset of a textposition other than "middle center" from an unset marker size (NaN),
            # and MapLibre rejects the layer ("Map error.", the whole map fails to draw)
            fig.add_trace(go.Scattermap(
                lon=[p[0] for p in pts], lat=[p[1] for p in pts], mode="markers+text", text=[p[2] for p in pts],
                marker=dict(size=1, opacity=0),
                textposition=pos, textfont=dict(size=12, color=MAP_LABEL_COLOR), hoverinfo="skip",
                showlegend=False, name="标注（引线）"))
    fig.update_layout(map=dict(style=_geo.OFFLINE_MAP_STYLE, center=center, zoom=zoom),
                      margin=dict(l=10, r=10, t=top), showlegend=False)
    return _map_footer(finish(fig, title, sub, note=foot, height=height))


def unit_ranking(df: pd.DataFrame, title: str, sub: str, metric_title: str, selected=(),
                 by_status: bool = False, height: int | None = None, note: str | None = None) -> go.Figure:
    """Units as horizontal bars, largest first; units without data at the bottom, labelled.

    df: unit_code, unit_name, metric, display, detail, state (当期/结转/...), optional status.
    Bars of carried-forward figures are hatched; ``selected`` units outlined; with ``by_status``
    bars take the status colours. customdata[0] is the unit code (for click-to-filter).
    """
    if df.empty:
        return empty_figure(title, sub, "暂无数据")
    d = df.copy()
    d["rank_key"] = d["metric"].astype(float)
    d = d.sort_values("rank_key", ascending=False, na_position="last").reset_index(drop=True)
    d["shown"] = d["rank_key"].fillna(0.0)
    d["detail"] = d.get("detail", pd.Series([""] * len(d))).fillna("")
    missing = d["rank_key"].isna()
    if by_status and "status" in d:
        colors = [NO_DATA_COLOR if m else STATUS_COLORS.get(s, SEQUENCE[0]) for s, m in zip(d["status"], missing)]
    else:
        colors = [NO_DATA_COLOR if m else SEQUENCE[0] for m in missing]
    carried = (d["state"] == "结转") if "state" in d else pd.Series(False, index=d.index)
    sel = d["unit_code"].isin(list(selected))
    fig = go.Figure(go.Bar(
        y=d["unit_name"], x=d["shown"], orientation="h", text=d["display"], textposition="outside",
        cliponaxis=False, customdata=d[["unit_code", "detail"]].to_numpy(),
        hovertemplate="<b>%{y}</b><br>" + metric_title + "：%{text}<br>%{customdata[1]}<extra></extra>",
        marker=dict(color=colors, pattern=dict(shape=["/" if c else "" for c in carried], fgcolor="white",
                                               size=6, solidity=0.3),
                    line=dict(color=[SELECTED_LINE if s else "rgba(0,0,0,0)" for s in sel],
                              width=[2.5 if s else 0 for s in sel])),
        showlegend=False, name=metric_title,
    ))
    legend = by_status and "status" in d
    if legend:
        for s in [s for s in STATUS_COLORS if s in set(d["status"])]:
            fig.add_bar(x=[None], y=[None], name=s, marker_color=STATUS_COLORS[s], showlegend=True,
                        hoverinfo="skip", orientation="h")
    hi = float(d["shown"].max()) if len(d) else 0.0
    fig.update_xaxes(title=metric_title, range=[0, hi * 1.25 if hi > 0 else 1], rangemode="tozero")
    fig.update_yaxes(title=None, categoryorder="array", categoryarray=d["unit_name"].tolist()[::-1])
    keys = [x for x in (("斜线：沿用更早报告期的数字" if carried.any() else None),
                        ("黑框：所选单位" if sel.any() else None), note) if x]
    foot = "".join("<br>" + x for x in keys) or None  # one per line: the chart may be narrow
    lines = 1 + (foot or "").count("<br>")
    extra_px = 24 * title.count("<br>")  # a title given in two lines (the chart may sit in a narrow column)
    h = height or max(380, 190 + 30 * len(d) + (35 if legend else 0) + extra_px + 15 * (lines - 1))
    leg = _legend_under_subtitle(h) if legend else None
    if leg:
        leg["y"] = 1 - (92 + extra_px) / h
    fig.update_layout(bargap=0.25, barmode="overlay", showlegend=bool(legend),
                      margin=dict(t=(125 if legend else 90) + extra_px, b=60 + 15 * lines), legend=leg)
    fig = _fit_footer(finish(fig, title, sub, note=foot, height=h), 72)  # below tick labels and axis title
    if extra_px:
        # plotly hangs a multi-line title's first line higher than a one-line title: bring it down
        fig.update_layout(title_y=0.97 - 16 * title.count("<br>") / h,
                          meta=dict(fig.layout.meta, title=title.replace("<br>", "")))  # the export's file name
    return fig


def _wrap(text: str, width: int, max_lines: int = 3) -> str:
    """Break a short Chinese label into even lines of at most ``width`` characters."""
    import math as _math

    n = min(max_lines, max(1, _math.ceil(len(text) / width)))
    step = _math.ceil(len(text) / n)
    return "<br>".join(text[k:k + step] for k in range(0, len(text), step))


HEATMAP_MODES = {
    "completion": ("completion_rate", "完成率（%）"),
    "share_target": ("share_of_target", "占全区目标（%）"),
    "share_region": ("share_of_region", "占全区合计（%）"),
}


def unit_indicator_heatmap(m: pd.DataFrame, mode: str, title: str, sub: str, note: str | None = None) -> go.Figure:
    """Units (rows) x indicators (columns) of unit_indicator_matrix: 完成率 against the unit's allocated
    target (``completion``), or the unit's value as a share of the region's target (``share_target``)
    or of the region's total (``share_region``). Unreported cells are grey and say so; carried-forward
    figures carry a 「*」."""
    col, label = HEATMAP_MODES[mode]
    if m.empty:
        return empty_figure(title, sub, "暂无数据")
    units = m.drop_duplicates("unit_code")[["unit_code", "unit_name"]]
    inds = m.drop_duplicates("indicator_code")[["indicator_code", "short_name"]]
    ucode, icode = units["unit_code"].tolist(), inds["indicator_code"].tolist()
    cell = m.set_index(["unit_code", "indicator_code"])
    z, text, custom, gz, gtext = [], [], [], [], []
    for u in ucode:
        zr, tr, cr, gr, gt = [], [], [], [], []
        for i in icode:
            r = cell.loc[(u, i)]
            v = r[col]
            mark = "*" if r["state"] == "结转" else ""
            if pd.isna(r["value"]):
                zr.append(None)
                tr.append("")
                gr.append(0)
                gt.append("未报")
            elif pd.isna(v):
                zr.append(None)
                tr.append("")
                gr.append(0)
                gt.append("—" + mark)
            else:
                zr.append(float(v) * 100)
                tr.append(f"{float(v) * 100:.0f}%{mark}")
                gr.append(None)
                gt.append("")
            basis = "未报送" if pd.isna(r["value"]) else (
                f"{int(r['value'])}{r['measure']}（{r['period_label']}" + ("，沿用" if mark else "") + "）")
            share = "—" if pd.isna(v) else f"{float(v) * 100:.1f}%"
            cr.append([r["unit_name"], r["indicator_name"], basis, share])
        z.append(zr)
        text.append(tr)
        custom.append(cr)
        gz.append(gr)
        gtext.append(gt)
    x = [f"{c}<br>{_wrap(s, 4)}" for c, s in zip(icode, inds["short_name"])]
    y = units["unit_name"].tolist()
    hover = "<b>%{customdata[0]}</b> · %{customdata[1]}<br>数值：%{customdata[2]}<br>" + label.replace("（%）", "") \
            + "：%{customdata[3]}<extra></extra>"
    vals = [v for row in z for v in row if v is not None]
    zmax = max(100.0, max(vals)) if mode == "completion" and vals else (max(vals) if vals else 1.0)
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=gz, x=x, y=y, text=gtext, texttemplate="%{text}", colorscale=[[0, "#f6f8fa"], [1, "#f6f8fa"]],
                             showscale=False, customdata=custom, hovertemplate=hover, xgap=2, ygap=2,
                             textfont=dict(color="#8c959f", size=11), hoverongaps=False))
    fig.add_trace(go.Heatmap(z=z, x=x, y=y, text=text, texttemplate="%{text}", colorscale=MAP_SCALE, zmin=0,
                             zmax=zmax, customdata=custom, hovertemplate=hover, xgap=2, ygap=2,
                             textfont=dict(size=11), hoverongaps=False,
                             colorbar=dict(title=dict(text=label, side="right"), thickness=12, len=0.8)))
    fig.update_xaxes(side="top", tickangle=0, title=None, showgrid=False, tickfont=dict(size=11))
    fig.update_yaxes(autorange="reversed", title=None, showgrid=False)
    # room for the longest unit name: in the browser automargin alone leaves 「呼和浩特市」 cut at the left
    fig.update_layout(margin=dict(t=175, b=85, l=14 * max(len(n) for n in y) + 24))
    foot = "「*」沿用更早报告期的数字；「未报」该单位没有报送该指标" + (f"<br>{note}" if note else "")
    return _fit_footer(finish(fig, title, sub, note=foot, height=max(520, 280 + 32 * len(ucode))), 12)


def _legend_under_subtitle(height: int) -> dict:
    """A horizontal legend on its own line under the title and subtitle (never over them)."""
    return dict(orientation="h", yref="container", y=1 - 92 / height, yanchor="top", xanchor="left", x=0.01)


def _half_year_ticks(start: date, end: date) -> tuple[list, list]:
    import calendar as _cal

    vals, text = [start], [f"{start.year}年初"]
    y, mth = start.year, 6
    while date(y, mth, _cal.monthrange(y, mth)[1]) <= end:
        d = date(y, mth, _cal.monthrange(y, mth)[1])
        vals.append(d)
        text.append(f"{y}年底" if mth == 12 else f"{y}年{mth}月底")
        y, mth = (y + 1, 6) if mth == 12 else (y, 12)
    return vals, text


def _series_hover(s: pd.DataFrame) -> list[str]:
    out = []
    for r in s.itertuples():
        lines = [f"<b>{date_zh(r.as_of)}</b>",
                 "累计值：" + ("无数据" if pd.isna(r.value) else f"{int(r.value)}{r.measure}"),
                 f"完成率：{pct(r.completion_rate)}　时间进度：{pct(r.time_progress)}",
                 f"按时间进度应达到：{r.planned_value:.1f}{r.measure}",
                 f"依据：{r.units_current}个单位当期报送"
                 + (f"，{r.units_carried}个沿用更早报告期" if r.units_carried else "")
                 + (f"，{r.units_missing}个未报" if r.units_missing else "")]
        if r.carried_note:
            lines.append("沿用：" + r.carried_note)
        if r.missing_note and r.units_missing:
            lines.append("未报：" + r.missing_note)
        out.append("<br>".join(lines))
    return out


def trend_chart(s: pd.DataFrame, proj: dict | None, plan_start: date, plan_end: date, as_of: date,
                scope: str = "全区", mode: str = "value", note: str | None = None) -> go.Figure:
    """One indicator over the reporting periods (region_series rows for it) against the straight
    path from baseline to target (= 时间进度), the target, and the projections to the plan end
    (trend_projection row). ``mode``: "value" (counts) or "rate" (完成率 %)."""
    first = s.iloc[0] if len(s) else None
    name = first["name"] if first is not None else ""
    measure = first["measure"] if first is not None else ""
    title = f"{scope}{name}：实际进展与计划进度"
    sub = subtitle(scope, as_of, None if first is None else
                   f"{plan_end.year}年目标 {int(first['target'])}{measure}，基期值 {int(first['baseline'])}{measure}")
    if first is None or s["value"].isna().all():
        return empty_figure(title, sub, "所选范围内尚无该指标的报送数据", height=480)
    b, t = float(first["baseline"]), float(first["target"])
    span = t - b if t != b else 1.0
    rate = mode == "rate"

    def y_of(v):
        return None if v is None or pd.isna(v) else ((float(v) - b) / span * 100 if rate else float(v))

    fig = go.Figure()
    fig.add_scatter(x=[plan_start, plan_end], y=[y_of(b), y_of(t)], mode="lines",
                    name="时间进度" if rate else "按时间进度应达到（基期值→目标值）",
                    line=dict(color=TIME_COLOR, dash="dash", width=2), hoverinfo="skip")
    fig.add_hline(y=y_of(t), line=dict(color=STATUS_COLORS[STATUS_DONE], width=1.5, dash="dot"),
                  annotation_text=("目标 100%" if rate else f"目标 {int(t)}{measure}"), annotation_position="top left",
                  annotation_font=dict(color=STATUS_COLORS[STATUS_DONE]))
    s = s.sort_values("as_of")
    partial = ((s["units_carried"] > 0) | (s["units_missing"] > 0)).tolist()
    fig.add_scatter(
        x=[plan_start] + s["as_of"].tolist(), y=[y_of(b)] + [y_of(v) for v in s["value"]],
        mode="lines+markers", name="实际累计" if not rate else "实际完成率", connectgaps=True,
        line=dict(color=SEQUENCE[0], width=3),
        marker=dict(size=[8] + [10] * len(s), symbol=["diamond"] + ["circle-open" if p else "circle" for p in partial],
                    color=SEQUENCE[0], line=dict(width=2, color=SEQUENCE[0])),
        customdata=[f"<b>{date_zh(plan_start)}（计划起点）</b><br>基期值：{int(b)}{measure}"] + _series_hover(s),
        hovertemplate="%{customdata}<extra></extra>",
    )
    if proj is not None and not proj.get("finished") and proj.get("value") is not None:
        last_x, last_y = s.loc[s["value"].notna(), "as_of"].iloc[-1], y_of(proj["value"])
        higher = "proj_avg" if (proj.get("proj_avg") or 0) >= (proj.get("proj_recent") or 0) else "proj_recent"
        for key, label, dash, color in (("proj_avg", "按计划以来平均速度推算", "dot", "#8250df"),
                                        ("proj_recent", "按最近一年速度推算", "dashdot", "#e16f24")):
            p = proj.get(key)
            if p is None or pd.isna(p):
                continue
            fig.add_scatter(x=[last_x, plan_end], y=[last_y, y_of(p)], mode="lines+markers+text", name=label,
                            line=dict(color=color, dash=dash, width=2), marker=dict(size=[0, 9], color=color),
                            text=["", f"约{int(p)}{measure}" if not rate else f"{y_of(p):.0f}%"],
                            textposition="top right" if key == higher else "bottom right",
                            textfont=dict(color=color), cliponaxis=False,
                            hovertemplate=f"{label}：到{date_zh(plan_end)}约{int(p)}{measure}<extra></extra>")
    tv, tt = _half_year_ticks(plan_start, plan_end)
    fig.update_xaxes(title="报告期末", tickvals=tv, ticktext=tt, range=[plan_start - pd.Timedelta(days=40),
                                                                    plan_end + pd.Timedelta(days=110)])
    fig.update_yaxes(title="完成率（%）" if rate else f"累计值（{measure}）", rangemode="tozero")
    height = 560
    fig.update_layout(margin=dict(t=135), legend=_legend_under_subtitle(height))
    foot = "空心点：该期有单位沿用更早报告期的数字或未报送（悬停查看）" + (f"；{note}" if note else "")
    return finish(fig, title, sub, note=foot, height=height)


def trend_small_multiples(series: pd.DataFrame, as_of: date, scope: str = "全区", cols: int = 4,
                          plan_start: date | None = None, plan_end: date | None = None,
                          note: str | None = None) -> go.Figure:
    """All indicators' 完成率 over the reporting periods, one small panel each, against the 时间进度
    diagonal (0% at the plan start to 100% at its end); points coloured by status."""
    import math as _math

    from plotly.subplots import make_subplots

    title = f"{scope}各项指标完成率走势与时间进度"
    sub = subtitle(scope, as_of, "纵轴为完成率（%），灰色虚线为时间进度")
    if series.empty or series["value"].isna().all():
        return empty_figure(title, sub, "所选范围内尚无报送数据", height=480)
    inds = series.drop_duplicates("indicator_code")
    n = len(inds)
    rows = _math.ceil(n / cols)
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=[f"{c} {s}" for c, s in zip(inds["indicator_code"], inds["short_name"])],
                        vertical_spacing=0.09, horizontal_spacing=0.03)
    start = plan_start or min(series["as_of"])
    end = plan_end or max(series["as_of"])
    top = 110.0
    seen: set = set()
    for k, code in enumerate(inds["indicator_code"]):
        r, c = k // cols + 1, k % cols + 1
        s = series[series["indicator_code"] == code].sort_values("as_of")
        fig.add_scatter(x=[start, end], y=[0, 100], mode="lines", line=dict(color=TIME_COLOR, dash="dash", width=1.5),
                        name="时间进度", legendgroup="tp", showlegend=k == 0, hoverinfo="skip", row=r, col=c)
        y = (s["completion_rate"] * 100).tolist()
        top = max(top, *(v + 10 for v in y if not pd.isna(v))) if any(not pd.isna(v) for v in y) else top
        partial = ((s["units_carried"] > 0) | (s["units_missing"] > 0)).tolist()
        fig.add_scatter(
            x=[start] + s["as_of"].tolist(), y=[0.0] + y, mode="lines+markers", showlegend=False, connectgaps=True,
            line=dict(color="#8c959f", width=1.5),
            marker=dict(size=[0] + [8] * len(s), color=["#8c959f"] + [STATUS_COLORS.get(x, NO_DATA_COLOR) for x in s["status"]],
                        symbol=["circle"] + ["circle-open" if p else "circle" for p in partial], line=dict(width=2)),
            customdata=[""] + _series_hover(s), hovertemplate="%{customdata}<extra>" + code + "</extra>", row=r, col=c)
        seen.update(s["status"].dropna())
    for st_ in [x for x in STATUS_COLORS if x in seen]:
        fig.add_scatter(x=[None], y=[None], mode="markers", name=st_, marker=dict(color=STATUS_COLORS[st_], size=9),
                        showlegend=True, hoverinfo="skip")
    fig.update_xaxes(tick0=date(start.year, 1, 1), dtick="M12", tickformat="%Y年", tickfont=dict(size=10),
                     range=[start - pd.Timedelta(days=30), end + pd.Timedelta(days=30)])
    fig.update_yaxes(range=[0, min(top, 250)], ticksuffix="%", tickfont=dict(size=10))
    for a in fig.layout.annotations:
        a.font = dict(size=12)
    height = 190 * rows + 260
    fig.update_layout(margin=dict(t=160), legend=_legend_under_subtitle(height))
    foot = "点的颜色为该期状态；空心点：该期有单位沿用更早报告期的数字或未报送" + (f"；{note}" if note else "")
    return finish(fig, title, sub, note=foot, height=height)


def basis_extra(basis: pd.DataFrame) -> str | None:
    """Subtitle words on which returns item counts rest, from progress.return_basis:
    「13个单位中12个当期报送、1个沿用上期」 (None when there are no units)."""
    if basis is None or basis.empty:
        return None
    n = len(basis)
    cur = int((basis["state"] == "当期").sum())
    car = int((basis["state"] == "结转").sum())
    mis = int((basis["state"] == "缺报").sum())
    if n == 1:
        return {"当期": "本期已报送", "结转": "沿用上期报表", "缺报": "尚无报表"}.get(basis["state"].iloc[0])
    return f"{n}个单位中{cur}个当期报送" + (f"、{car}个沿用上期" if car else "") + (f"、{mis}个缺报" if mis else "")
