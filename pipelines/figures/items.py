"""Items by sector and by partner (按领域, 按国别 pages). Frames come from the items_* functions of
pipelines.queries. Clickable marks carry the code they stand for in customdata (1-D), read back by
clicked_codes(event)."""
from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import geo as _geo
from ..vocab import ITEM_UNIT, MONEY_UNIT as FUNDING_UNIT, end_phrase
from .base import SEQUENCE, _map_footer, _units, empty_figure, finish, fixed_margins, nice_scale, subtitle

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
# the world map's fills (the 按盟市 map and the unit x indicator heatmap have their own)
WORLD_MAP_SCALE = [[0.0, "#b6e3ff"], [0.5, "#218bff"], [1.0, "#0a3069"]]
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
        for col, field, unit, fmt in ((1, "items", ITEM_UNIT, "%{x:,}"), (2, "funding_wan", FUNDING_UNIT, "%{x:,.1f}")):
            fig.add_bar(y=part["sector_name"], x=part[field], orientation="h", name=t, legendgroup=t,
                        showlegend=(col == 1), marker_color=color, customdata=part["sector_code"],
                        hovertemplate=f"%{{y}} · {t}<br>{fmt} {unit}<extra></extra>", row=1, col=col)
    tot = df.groupby("sector_name").agg(items=("items", "sum"), funding=("funding_wan", "sum")).reindex(sectors)
    for col, field, fmt in ((1, "items", "{:,.0f}"), (2, "funding", "{:,.0f}")):
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
    # on the right the legend of item types at the chart's right edge, with room before it for the
    # totals drawn past the bars
    fixed_margins(fig, sectors, right=int(12 * max(_units(t) for t in colors)) + 48 + 56)
    fig.update_layout(barmode="stack", bargap=max(0.3, 1 - 36 / (plot_h / len(sectors))),
                      legend=dict(orientation="v", xref="container", x=1.0, xanchor="right", y=1.0, yanchor="top",
                                  yref="paper", title_text="事项类别", font=dict(size=12), tracegroupgap=0))
    return finish(fig, title, sub, height=height)


def _count_heatmap(df: pd.DataFrame, rows: str, cols: str, row_order: list, col_order: list,
                   tickangle: int) -> go.Figure:
    """Item counts (项) as a heatmap: rows x columns in the given order, zero cells left blank."""
    z = df.pivot_table(index=rows, columns=cols, values="items", aggfunc="sum").reindex(
        index=row_order, columns=col_order).fillna(0)
    text = [[("" if v == 0 else f"{int(v):,}") for v in row] for row in z.to_numpy()]
    top, step = nice_scale(0, max(float(z.to_numpy().max()), 1.0))  # the top label covers the largest cell
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy(), x=col_order, y=row_order, text=text, texttemplate="%{text}", colorscale=HEAT_SCALE,
        zmin=0, zmax=top, xgap=2, ygap=2, colorbar=dict(title=dict(text="事项数（项）"), thickness=12, tick0=0, dtick=step),
        hovertemplate="%{y} · %{x}<br>%{z:,} 项<extra></extra>"))
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
    labels = [end_phrase(d) for d in dates]  # 「2019年6月底」「2019年底」, as on the trend charts
    sectors = [s for s in (sector_order or []) if s in set(df["sector_name"])] or sorted(df["sector_name"].unique())
    fig = go.Figure()
    for i, s in enumerate(sectors):
        part = df[df["sector_name"] == s].set_index("at_date").reindex(dates)
        fig.add_scatter(x=labels, y=part["items"].fillna(0), name=s, mode="lines+markers",
                        line=dict(color=SEQUENCE[i % len(SEQUENCE)], width=2), marker=dict(size=6),
                        customdata=[part["sector_code"].dropna().iloc[0]] * len(dates),
                        text=[f"{int(n)}个单位有报表" for n in part["units_with_return"].fillna(0)],
                        hovertemplate=f"{s}<br>%{{x}}：%{{y:,}} 项<br>%{{text}}<extra></extra>")
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
    clickable (customdata = ISO3). Nothing is fetched (geo.offline_geo).
    """
    title = f"{scope}科技合作伙伴国家分布"
    sub = subtitle(scope, as_of, extra)
    world = _map_features("world")
    df = df[df["kind"] == "foreign"] if "kind" in df else df
    ids = {f["id"] for f in world}
    on_map = df[df["partner_code"].isin(ids)]
    fig = go.Figure()
    fig.add_trace(_geo.anchor_trace(MAP_CENTER_LON, 0.0))  # first (geo.offline_geo)
    partner_ids = set(on_map["partner_code"])
    rest = _collection(f for f in world if f["id"] != "CHN" and f["id"] not in partner_ids)
    others = [f["id"] for f in rest["features"]]
    fig.add_choropleth(geojson=rest, locations=others, z=[0] * len(others), featureidkey="id",
                       colorscale=[[0, LAND_FILL], [1, LAND_FILL]], showscale=False, hoverinfo="skip",
                       marker_line_color="#ffffff", marker_line_width=0.4, name="其他国家")
    china = _collection(f for f in world if f["id"] == "CHN")
    fig.add_choropleth(geojson=china, locations=["CHN"], z=[0], featureidkey="id",
                       colorscale=[[0, CHINA_FILL], [1, CHINA_FILL]], showscale=False, name="中国",
                       marker_line_color=BORDER, marker_line_width=0.8,
                       hovertemplate="中国<extra></extra>")
    outline = _collection(_map_features("outline"))
    fig.add_choropleth(geojson=outline, locations=[f["id"] for f in outline["features"]],
                       z=[0] * len(outline["features"]), featureidkey="id",
                       colorscale=[[0, IM_FILL], [1, IM_FILL]], showscale=False, name="内蒙古自治区",
                       marker_line_color="#953800", marker_line_width=0.6,
                       hovertemplate="内蒙古自治区<extra></extra>")
    if not on_map.empty:
        feats = _collection(f for f in world if f["id"] in partner_ids)
        top, step = nice_scale(0, max(int(on_map["items"].max()), 1))  # the top label covers the largest value
        fig.add_choropleth(
            geojson=feats, locations=on_map["partner_code"], z=on_map["items"], featureidkey="id",
            colorscale=WORLD_MAP_SCALE, zmin=0, zmax=top,
            marker_line_color="#ffffff", marker_line_width=0.6, name="合作国家",
            customdata=on_map["partner_code"], text=on_map["name"],
            hovertemplate="%{text}<br>在册合作事项 %{z:,} 项<extra></extra>",
            colorbar=dict(title=dict(text="事项数（项）"), thickness=12, len=0.6, y=0.5, tick0=0, dtick=step))
    lons, lats = _geo.maritime_line_lonlat()  # last: over every fill
    fig.add_scattergeo(lon=lons, lat=lats, mode="lines", line=dict(color="#57606a", width=1.4),
                       hoverinfo="skip", showlegend=False, name="南海断续线")
    # Pacific-centred, as on China's standard world map (an SVG map: geo.offline_geo)
    missing = df[~df["partner_code"].isin(ids)]
    note = "<br>" + _geo.boundary_caption()
    if not missing.empty:
        note = "<br>地图上未能显示：" + "、".join(missing["name"]) + note
    _geo.offline_geo(fig, [MAP_CENTER_LON - 180.0, MAP_CENTER_LON + 180.0], [-55.0, 80.0],
                     projection="miller", rotation_lon=MAP_CENTER_LON)
    fig.update_layout(margin=dict(l=10, r=10, t=90), showlegend=False)
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
                    text=part["items"], texttemplate="%{text:,}", textposition="outside", cliponaxis=False,
                    hovertemplate="%{y}（" + (cont or "其他") + "）<br>%{x:,} 项<extra></extra>")
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
                    marker_color=color, customdata=part["group_code"], text=part["items"], texttemplate="%{text:,}",
                    textposition="outside", cliponaxis=False,
                    hovertemplate="%{y}<br>%{x:,} 项（一项事项在同一分组只计一次）<extra></extra>")
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
        customdata=df["partner_code"], text=df["items"], texttemplate="%{text:,}", textposition="outside",
        cliponaxis=False, hovertemplate="%{y}<br>%{x:,} 项<extra></extra>", name="国内合作"))
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
