"""Map and chart layout a reader notices: every unit labelled, no label on another, captions not cut
off, legends clear of annotations. Geometry is checked in screen pixels at the figure's own zoom."""
from __future__ import annotations

import math
from datetime import date
from itertools import combinations

import pandas as pd
import pytest

from pipelines import figures as F
from pipelines import geo
from pipelines.progress import progress_table
from pipelines.reference import load_reference
from pipelines.store import connect
from tests.factories import load_values

LABEL_PX = 12  # the unit labels' font size


def _width(line: str) -> float:
    """Rendered width of a label line: CJK glyphs one em, Latin letters and digits about 0.6 em."""
    return sum(LABEL_PX if ord(ch) >= 0x2E80 else 0.6 * LABEL_PX for ch in line)


def _px(lon: float, lat: float, fig) -> tuple[float, float]:
    """Screen px from the centre of the figure's Mercator map, drawn as plotly draws a geo subplot
    whose lat range fills the plot area's height (the figure's height less its margins)."""
    (lon0, lon1), (lat0, lat1) = fig.layout.geo.lonaxis.range, fig.layout.geo.lataxis.range
    y0, y1 = geo._mercator_y(lat0), geo._mercator_y(lat1)
    per_rad = (fig.layout.height - fig.layout.margin.t - fig.layout.margin.b) / (y1 - y0)
    return (math.radians(lon - (lon0 + lon1) / 2) * per_rad, -(geo._mercator_y(lat) - (y0 + y1) / 2) * per_rad)


def label_boxes(fig) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(text, (x0, y0, x1, y1)) of every map label, in px from the map centre, as plotly places it
    (textposition: the side of the point the text is written on)."""
    out = []
    for t in fig.data:
        if t.type != "scattergeo" or not t.mode or "text" not in t.mode:
            continue
        pos = t.textposition or "middle center"
        for lon, lat, text in zip(t.lon, t.lat, t.text):
            x, y = _px(lon, lat, fig)
            lines = text.split("<br>")
            w, h = max(_width(s) for s in lines), 1.2 * LABEL_PX * len(lines)
            vert, horiz = pos.split(" ")
            x0 = {"left": x - w - 6, "center": x - w / 2, "right": x + 6}[horiz]
            y0 = {"top": y - h - 6, "middle": y - h / 2, "bottom": y + 6}[vert]
            out.append((text, (x0, y0, x0 + w, y0 + h)))
    return out


def _overlap(a, b, pad: float = 2.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def unit_frame(display: str, with_values: bool = True) -> pd.DataFrame:
    ref = load_reference()
    u = ref.units[ref.units["on_map"].astype(str).str.lower() == "true"]
    return pd.DataFrame({"unit_code": u["code"], "unit_name": u["name"], "unit_short": u["short_name"],
                         "metric": [float(i) if with_values else None for i in range(len(u))],
                         "display": display, "detail": ""})


def footer(fig):
    src = fig.layout.meta["source"]
    return next(a for a in fig.layout.annotations if (a.text or "").startswith(src))


def assert_footer_fits(fig, max_width: int = 92):
    """Every footer line is inside the bottom margin and short enough for a half-screen map."""
    ann = footer(fig)
    lines = ann.text.split("<br>")
    assert -ann.yshift + F.FOOTER_LINE_PX * len(lines) <= fig.layout.margin.b
    for line in lines:
        assert geo._display_width(line) <= max_width, line


# --------------------------------------------------------------------------- 按盟市 map
@pytest.mark.parametrize("display", ["20家", "100.0%", "1,234项", "无数据"])
def test_every_unit_is_labelled_and_no_label_covers_another(display):
    df = unit_frame(display, with_values=display != "无数据")
    fig = F.unit_map(df, "内蒙古各盟市院士专家工作站累计值", "全区", "累计值（家）", selected=("150100",),
                     note="13/13个单位当期报送")
    boxes = label_boxes(fig)
    texts = [t for t, _ in boxes]
    # one label per unit, with its full name (as in every table) and value; none on another
    assert len(texts) == 12
    for name in df["unit_name"]:
        assert sum(t.startswith(name) and display in t for t in texts) == 1, name
    clashes = [(a, b) for (a, ba), (b, bb) in combinations(boxes, 2) if _overlap(ba, bb)]
    assert not clashes
    # all inside the plot area of the map width the zoom was chosen for
    half_h = (fig.layout.height - fig.layout.margin.t - fig.layout.margin.b) / 2
    for text, (x0, y0, x1, y1) in boxes:
        assert -260 <= x0 and x1 <= 260 and -half_h <= y0 and y1 <= half_h, text


def test_crowded_units_are_labelled_beside_the_region_with_a_leader_line():
    fig = F.unit_map(unit_frame("20家"), "t", "s", "累计值（家）")
    lines = next(t for t in fig.data if t.name == "引线")
    ends = [(lines.lon[k], lines.lat[k]) for k in range(0, len(lines.lon), 3)]
    cent = geo.unit_centroids()
    assert sorted(ends) == sorted(cent[c] for c in geo.UNIT_LABEL_CALLOUTS)
    assert set(geo.UNIT_LABEL_CALLOUTS) <= set(cent)


def test_unit_labels_are_readable_on_the_darkest_fill():
    def lum(hex_: str) -> float:
        c = [int(hex_[k:k + 2], 16) / 255 for k in (1, 3, 5)]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    fig = F.unit_map(unit_frame("20家"), "t", "s", "累计值（家）")
    darkest = next(t for t in fig.data if t.type == "choropleth").colorscale[-1][1]
    ratio = (lum(darkest) + 0.05) / (lum(F.MAP_LABEL_COLOR) + 0.05)
    assert ratio >= 4.5


def test_map_captions_are_whole_wrapped_and_inside_the_figure():
    fig = F.unit_map(unit_frame("无数据", with_values=False), "t", "s", "累计值（家）", selected=("150200",),
                     note="0/13个单位当期报送，13个未报")
    text = footer(fig).text
    assert geo.BOUNDARY_NOTE in text.replace("<br>", "")
    assert "灰色" in text and "黑框：所选单位" in text
    assert_footer_fits(fig)
    world = F.partner_world_map(pd.DataFrame({"partner_code": ["RUS", "XXX"], "name": ["俄罗斯", "某国"],
                                              "kind": "foreign", "items": [3, 1]}), date(2019, 12, 31))
    assert geo.BOUNDARY_NOTE in footer(world).text.replace("<br>", "")
    assert "地图上未能显示：某国" in footer(world).text
    assert_footer_fits(world)


def test_boundary_caption_breaks_only_after_punctuation():
    lines = geo.boundary_caption(60).split("<br>")
    assert len(lines) > 2 and "".join(lines) == geo.BOUNDARY_NOTE
    assert all(line[-1] in "，；。" for line in lines)
    assert geo.boundary_caption(1000) == geo.BOUNDARY_NOTE


# --------------------------------------------------------------------------- ranking, heatmap
def test_two_line_ranking_title_gets_room_and_a_plain_file_name():
    df = unit_frame("20家").assign(state="当期")
    one = F.unit_ranking(df, "各盟市排名", "s", "累计值（家）")
    two = F.unit_ranking(df, "各盟市国际科技创新园<br>累计值排名", "s", "累计值（家）", note="a<br>b")
    assert two.layout.margin.t >= one.layout.margin.t + 20
    assert two.layout.meta["title"] == "各盟市国际科技创新园累计值排名"
    assert_footer_fits(two)


def test_heatmap_footer_fits():
    m = pd.DataFrame({"unit_code": ["150100"], "unit_name": ["呼和浩特市"], "indicator_code": ["I01"],
                      "short_name": ["国家级基地"], "indicator_name": ["国家级国际合作基地"], "value": [3],
                      "measure": ["家"], "period_label": ["2019年下半年"], "state": ["当期"],
                      "completion_rate": [0.5], "share_of_target": [0.1], "share_of_region": [0.2]})
    fig = F.unit_indicator_heatmap(m, "share_region", "t", "s", note="格中为该单位累计值 ÷ 全区各单位合计")
    assert_footer_fits(fig)


# --------------------------------------------------------------------------- overview bars
def test_time_progress_label_and_legend_do_not_share_a_row(tmp_path):
    db = tmp_path / "f.duckdb"
    load_values(db, "150100", "2019H1", {"I09": 126, "I04": 10, "I01": 1})
    with connect(db) as con:
        table = progress_table(con, date(2019, 6, 30))
    fig = F.progress_bars(table, date(2019, 6, 30))
    assert len({t.name for t in fig.data}) >= 2  # a legend is shown
    leg = fig.layout.legend
    assert leg.yref == "container" and leg.yanchor == "top"
    legend_bottom = (1 - leg.y) * fig.layout.height + 26  # one row of legend items
    label = next(a for a in fig.layout.annotations if (a.text or "").startswith("时间进度"))
    assert label.yref.endswith("domain") or label.yref == "paper"
    assert legend_bottom <= fig.layout.margin.t - 22  # the label sits in the 22 px above the bars


@pytest.mark.parametrize("top_value", [21.0, 20.0, 0.87, 33.0])
def test_map_colour_scale_labels_cover_the_largest_value(top_value):
    """The colour bar's top label is at or above the largest unit (包头 21 under a bar ending at 20
    reads as off the scale)."""
    df = unit_frame("1家")
    df["metric"] = [top_value * k / (len(df) - 1) for k in range(len(df))]
    fig = F.unit_map(df, "内蒙古各盟市院士专家工作站累计值", "全区", "累计值（家）")
    tr = next(t for t in fig.data if t.type == "choropleth" and t.colorbar and t.colorbar.dtick)
    top_label = tr.colorbar.tick0 + tr.colorbar.dtick * round((tr.zmax - tr.colorbar.tick0) / tr.colorbar.dtick)
    assert tr.zmax >= top_value and abs(top_label - tr.zmax) < 1e-9


def test_unit_labels_are_drawn_over_every_outline():
    """The selected unit's dark outline (and the white borders) never cover a label: an SVG map paints
    its traces in order, so every label trace comes after every shape, with a white halo."""
    fig = F.unit_map(unit_frame("20家"), "t", "s", "累计值（家）", selected=("150200",))
    kinds = [(k, t) for k, t in enumerate(fig.data)]
    shapes = [k for k, t in kinds if t.type == "choropleth"]
    labels = [k for k, t in kinds if t.type == "scattergeo" and t.mode and "text" in t.mode]
    assert any(t.name == "所选单位" for t in fig.data) and labels
    assert min(labels) > max(shapes)
    assert all("#fff" in fig.data[k].textfont.shadow for k in labels)


def test_maps_fetch_nothing_from_the_internet():
    """Both maps are offline SVG maps: no base layers, and a lon/lat trace first (plotly.js would
    otherwise download a base map for a choropleth that comes first)."""
    world = F.partner_world_map(pd.DataFrame({"partner_code": ["RUS"], "name": ["俄罗斯"], "kind": "foreign",
                                              "items": [3]}), date(2019, 12, 31))
    for fig in (F.unit_map(unit_frame("20家"), "t", "s", "累计值（家）"), world):
        assert fig.layout.geo.visible is False
        assert fig.data[0].type == "scattergeo" and fig.data[0].locations is None
        assert not [t for t in fig.data if t.type in ("choroplethmap", "scattermap")]
