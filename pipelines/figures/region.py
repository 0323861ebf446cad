"""按盟市 (unit map, ranking, unit x indicator heatmap) and 进度趋势 (trend lines) pages."""
from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go

from .. import geo as _geo
from ..vocab import (
    STATE_CARRIED, STATE_NOT_REPORTED, STATUS_DONE, STATUS_SUBSET, date_zh, number, pct, period_end_ticks,
)
from .base import (
    NO_DATA_COLOR, SEQUENCE, STATUS_COLORS, TIME_COLOR, _fit_footer, _footer_height, _legend_under_subtitle,
    _map_footer, _map_note, _wrap, empty_figure, finish, nice_scale, subtitle,
)

# the unit x indicator heatmap's fills
INDICATOR_HEAT_SCALE = [[0.0, "#dbe9fb"], [0.5, "#6aa5f0"], [1.0, "#0b4a9c"]]
SELECTED_LINE = "#1f2328"


# The 按盟市 map's fills: light enough at the top that the dark unit labels stay readable on every
# unit (contrast of #1f2328 on the darkest fill ≥ 4.5:1); a dark top would swallow them.
UNIT_MAP_SCALE = [[0.0, "#e8f1fc"], [0.5, "#a9cbf3"], [1.0, "#5b9be0"]]
MAP_LABEL_COLOR = "#1f2328"
# a thin white halo round every map label: readable across the selected unit's dark outline
# and the white borders between units
MAP_LABEL_HALO = "-1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff"
CALLOUT_COLOR = "#57606a"


def unit_map(df: pd.DataFrame, title: str, sub: str, metric_title: str, selected=(), height: int = 640,
             map_width_px: int = 520, note: str | None = None) -> go.Figure:
    """The 12 leagues/cities coloured by ``metric``; units without a value drawn grey.

    df: unit_code, unit_name, metric (float, NaN = no data), display (text for hover and label),
    detail (more hover text). Rows for units not on the map (自治区本级) are ignored here: the
    page shows them beside the map. ``selected`` units get a dark outline. customdata[0] of every
    polygon is the unit code (for click-to-filter).

    An SVG map (geo.offline_geo). Every unit is labelled with its full name (as in every table
    and chart) and value: inside the unit where the label fits, else (geo.UNIT_LABEL_CALLOUTS)
    beside the region with a leader line. Labels are drawn over the fills and outlines.
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
    sel = d["unit_code"].isin(list(selected)).to_numpy()
    keys = (["灰色：无可显示的数值（见标注）"] if (~has).any() else []) + (["黑框：所选单位"] if sel.any() else [])
    foot = _map_note("".join("<br>" + k for k in keys + ([note] if note else [])))
    top = 90
    plot_h = height - top - _footer_height(foot, map_width_px)
    center, zoom = _geo.im_view(width_px=map_width_px, height_px=plot_h)
    cent = _geo.unit_centroids()
    lab = d[d["unit_code"].isin(list(cent))]
    inside = ~lab["unit_code"].isin(list(_geo.UNIT_LABEL_CALLOUTS)).to_numpy()
    at = {c: _geo.offset_lonlat(*cent[c], *_geo.UNIT_LABEL_NUDGES.get(c, (0, 0)), zoom) for c in cent}
    fig = go.Figure()
    fig.add_trace(_geo.anchor_trace(center["lon"], center["lat"]))  # first (geo.offline_geo)
    if has.any():
        vals = d.loc[has, "metric"].astype(float)
        lo, hi = min(0.0, float(vals.min())), float(vals.max())
        top_z, step = nice_scale(lo, hi)  # the top label covers the largest value
        fig.add_trace(go.Choropleth(
            geojson=gj, featureidkey="id", locations=d.loc[has, "unit_code"], z=vals, zmin=lo,
            zmax=top_z, colorscale=UNIT_MAP_SCALE, customdata=custom[has], hovertemplate=hover,
            marker=dict(line=dict(color="white", width=1.2), opacity=0.95), name=metric_title,
            # top-left corner: the region runs from south-west to north-east, that corner stays empty
            colorbar=dict(title=dict(text=metric_title, side="top"), thickness=12, len=0.42, lenmode="fraction",
                          tick0=lo, dtick=step,
                          x=0.01, xanchor="left", y=0.99, yanchor="top", bgcolor="rgba(255,255,255,0.85)",
                          outlinecolor="#8c959f", outlinewidth=0.5),
        ))
    if (~has).any():
        fig.add_trace(go.Choropleth(
            geojson=gj, featureidkey="id", locations=d.loc[~has, "unit_code"], z=[0] * int((~has).sum()),
            colorscale=[[0, NO_DATA_COLOR], [1, NO_DATA_COLOR]], showscale=False, customdata=custom[~has],
            hovertemplate=hover, marker=dict(line=dict(color="white", width=1.2)), name="无数据", showlegend=False,
        ))
    if sel.any():
        fig.add_trace(go.Choropleth(
            geojson=gj, featureidkey="id", locations=d.loc[sel, "unit_code"], z=[1] * int(sel.sum()),
            colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]], showscale=False, customdata=custom[sel],
            hovertemplate=hover, marker=dict(line=dict(color=SELECTED_LINE, width=3.5)), name="所选单位",
            showlegend=False,
        ))
    # the labels inside their units: after every fill and outline, so drawn over them
    fig.add_trace(go.Scattergeo(
        lon=[at[c][0] for c in lab["unit_code"][inside]], lat=[at[c][1] for c in lab["unit_code"][inside]],
        mode="text", text=[f"{n}<br>{v}" for n, v in zip(lab["unit_name"][inside], lab["display"][inside])],
        textfont=dict(size=12, color=MAP_LABEL_COLOR, shadow=MAP_LABEL_HALO), hoverinfo="skip", showlegend=False,
        name="标注",
    ))
    line_lon, line_lat, groups = [], [], {}
    for code, n, v in zip(lab["unit_code"][~inside], lab["unit_name"][~inside], lab["display"][~inside]):
        dx, dy, pos = _geo.UNIT_LABEL_CALLOUTS[code]
        lon0, lat0 = cent[code]
        lon1, lat1 = _geo.offset_lonlat(lon0, lat0, dx, dy, zoom)
        line_lon += [lon0, lon1, None]
        line_lat += [lat0, lat1, None]
        groups.setdefault(pos, []).append((lon1, lat1, f"{n} {v}"))
    if groups:
        fig.add_trace(go.Scattergeo(
            lon=line_lon, lat=line_lat, mode="lines+markers", line=dict(color=CALLOUT_COLOR, width=1),
            marker=dict(size=[5, 0, 0] * (len(line_lon) // 3), color=CALLOUT_COLOR),
            hoverinfo="skip", showlegend=False, name="引线"))
        for pos, pts in groups.items():
            fig.add_trace(go.Scattergeo(
                lon=[p[0] for p in pts], lat=[p[1] for p in pts], mode="text", text=[p[2] for p in pts],
                textposition=pos, textfont=dict(size=12, color=MAP_LABEL_COLOR, shadow=MAP_LABEL_HALO), hoverinfo="skip",
                showlegend=False, name="标注（引线）"))
    _geo.offline_geo(fig, *_geo.view_ranges(center, zoom, map_width_px, plot_h), projection="mercator")
    fig.update_layout(margin=dict(l=10, r=10, t=top), showlegend=False)
    return _map_footer(finish(fig, title, sub, note=foot, height=height, width_px=map_width_px))


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
    carried = (d["state"] == STATE_CARRIED) if "state" in d else pd.Series(False, index=d.index)
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
            mark = "*" if r["state"] == STATE_CARRIED else ""
            if pd.isna(r["value"]):
                zr.append(None)
                tr.append("")
                gr.append(0)
                gt.append(STATE_NOT_REPORTED)
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
                f"{number(r['value'])}{r['measure']}（{r['period_label']}" + ("，沿用" if mark else "") + "）")
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
    hi = max(100.0, max(vals)) if mode == "completion" and vals else (max(vals) if vals else 1.0)
    zmax, step = nice_scale(0.0, hi)  # the colour bar's top label covers the largest cell
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=gz, x=x, y=y, text=gtext, texttemplate="%{text}", colorscale=[[0, "#f6f8fa"], [1, "#f6f8fa"]],
                             showscale=False, customdata=custom, hovertemplate=hover, xgap=2, ygap=2,
                             textfont=dict(color="#8c959f", size=11), hoverongaps=False))
    fig.add_trace(go.Heatmap(z=z, x=x, y=y, text=text, texttemplate="%{text}", colorscale=INDICATOR_HEAT_SCALE, zmin=0,
                             zmax=zmax, customdata=custom, hovertemplate=hover, xgap=2, ygap=2,
                             textfont=dict(size=11), hoverongaps=False,
                             colorbar=dict(title=dict(text=label, side="right"), thickness=12, len=0.8,
                                           tick0=0, dtick=step)))
    fig.update_xaxes(side="top", tickangle=0, title=None, showgrid=False, tickfont=dict(size=11))
    fig.update_yaxes(autorange="reversed", title=None, showgrid=False)
    # room for the longest unit name: in the browser automargin alone leaves 「呼和浩特市」 cut at the left
    fig.update_layout(margin=dict(t=175, b=85, l=14 * max(len(n) for n in y) + 24))
    foot = "「*」沿用更早报告期的数字；「未报」该单位没有报送该指标" + (f"<br>{note}" if note else "")
    return _fit_footer(finish(fig, title, sub, note=foot, height=max(520, 280 + 32 * len(ucode))), 12)



def _series_hover(s: pd.DataFrame) -> list[str]:
    out = []
    for r in s.itertuples():
        lines = [f"<b>{date_zh(r.as_of)}</b>",
                 "累计值：" + ("无数据" if pd.isna(r.value) else f"{number(r.value)}{r.measure}"),
                 f"完成率：{pct(r.completion_rate)}　时间进度：{pct(r.time_progress)}",
                 f"按时间进度应达到：{number(r.planned_value, 1)}{r.measure}",
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
                   f"{plan_end.year}年目标 {number(first['target'])}{measure}，基期值 {number(first['baseline'])}{measure}")
    if first is None or s["value"].isna().all():
        return empty_figure(title, sub, "所选范围内尚无该指标的报送数据", height=480)
    b, t = float(first["baseline"]), float(first["target"])
    span = t - b if t != b else 1.0
    rate = mode == "rate"
    # part of the region (不作判断): its sum is not compared with the region's target or time path
    subset = bool((s["status"] == STATUS_SUBSET).any())

    def y_of(v):
        return None if v is None or pd.isna(v) else ((float(v) - b) / span * 100 if rate else float(v))

    fig = go.Figure()
    if not subset:
        fig.add_scatter(x=[plan_start, plan_end], y=[y_of(b), y_of(t)], mode="lines",
                        name="时间进度" if rate else "按时间进度应达到（基期值→目标值）",
                        line=dict(color=TIME_COLOR, dash="dash", width=2), hoverinfo="skip")
        fig.add_hline(y=y_of(t), line=dict(color=STATUS_COLORS[STATUS_DONE], width=1.5, dash="dot"),
                      annotation_text=("目标 100%" if rate else f"目标 {number(t)}{measure}"),
                      annotation_position="top left", annotation_font=dict(color=STATUS_COLORS[STATUS_DONE]))
    s = s.sort_values("as_of")
    partial = ((s["units_carried"] > 0) | (s["units_missing"] > 0)).tolist()
    fig.add_scatter(
        x=[plan_start] + s["as_of"].tolist(), y=[y_of(b)] + [y_of(v) for v in s["value"]],
        mode="lines+markers", name="实际累计" if not rate else "实际完成率", connectgaps=True,
        line=dict(color=SEQUENCE[0], width=3),
        marker=dict(size=[8] + [10] * len(s), symbol=["diamond"] + ["circle-open" if p else "circle" for p in partial],
                    color=SEQUENCE[0], line=dict(width=2, color=SEQUENCE[0])),
        customdata=[f"<b>{date_zh(plan_start)}（计划起点）</b><br>基期值：{number(b)}{measure}"] + _series_hover(s),
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
                            text=["", f"约{number(p)}{measure}" if not rate else f"{y_of(p):.0f}%"],
                            textposition="top right" if key == higher else "bottom right",
                            textfont=dict(color=color), cliponaxis=False,
                            hovertemplate=f"{label}：到{date_zh(plan_end)}约{number(p)}{measure}<extra></extra>")
    # ticks at the period ends, the axis stops at the plan's end (projection labels run into the margin)
    tv, tt = period_end_ticks(plan_start, plan_end)
    fig.update_xaxes(title="报告期末", tickvals=tv, ticktext=tt, range=[plan_start - pd.Timedelta(days=40),
                                                                    plan_end + pd.Timedelta(days=8)])
    fig.update_yaxes(title=("占全区目标（%）" if subset else "完成率（%）") if rate else f"累计值（{measure}）",
                     rangemode="tozero")
    height = 560
    fig.update_layout(margin=dict(t=135, r=90), legend=_legend_under_subtitle(height))
    foot = "空心点：该期有单位沿用更早报告期的数字或未报送（悬停查看）" + (f"；{note}" if note else "")
    if subset:
        foot += "<br>所选单位的合计：目标未分解到单位，不画时间进度线和目标线"
    return finish(fig, title, sub, note=foot, height=height)


def trend_small_multiples(series: pd.DataFrame, as_of: date, scope: str = "全区", cols: int = 4,
                          plan_start: date | None = None, plan_end: date | None = None,
                          note: str | None = None) -> go.Figure:
    """All indicators' 完成率 over the reporting periods, one small panel each, against the 时间进度
    diagonal (0% at the plan start to 100% at its end); points coloured by status."""
    import math as _math

    from plotly.subplots import make_subplots

    # part of the region (不作判断): shares of the region's targets, not compared with 时间进度
    subset = bool(len(series)) and bool((series["status"] == STATUS_SUBSET).any())
    title = f"{scope}各项指标" + ("占全区目标比例走势" if subset else "完成率走势与时间进度")
    sub = subtitle(scope, as_of, "纵轴为占全区目标的比例（%）；目标未分解到单位，不与时间进度比较" if subset
                   else "纵轴为完成率（%），灰色虚线为时间进度")
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
        if not subset:
            fig.add_scatter(x=[start, end], y=[0, 100], mode="lines",
                            line=dict(color=TIME_COLOR, dash="dash", width=1.5),
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
    tv, tt = period_end_ticks(start, end, months=12)  # year ends: a small panel has room for four labels
    # the margins have room for the short tick labels: no automatic margins, which made plotly.js
    # lay the 28 axes out again and again (about 0.15 s of every load of the page)
    fig.update_xaxes(tickvals=tv, ticktext=tt, tickfont=dict(size=10), automargin=False,
                     range=[start - pd.Timedelta(days=30), end + pd.Timedelta(days=8)])
    fig.update_yaxes(range=[0, min(top, 250)], ticksuffix="%", tickfont=dict(size=10), automargin=False)
    for a in fig.layout.annotations:
        a.font = dict(size=12)
    height = 190 * rows + 260
    # margins set here, not left to the chart theme: axes have no automatic margins (above)
    fig.update_layout(margin=dict(t=160, l=56, r=44), legend=_legend_under_subtitle(height))
    foot = "点的颜色为该期状态；空心点：该期有单位沿用更早报告期的数字或未报送" + (f"；{note}" if note else "")
    return finish(fig, title, sub, note=foot, height=height)
