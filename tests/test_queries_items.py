"""Item queries (按领域, 按国别, 明细查询) against a small database with known contents.

Every number the pages show for a filter is checked against an independent
count: ``expected_items`` below applies DOMAIN.md's rule ("a unit's live
items at D are those of its current return for the latest period ending on
or before D") in plain Python over the same fixture the database was built
from, and partner groups are read from data/partners.csv with the csv module.
"""
from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines import figures, queries
from pipelines.geo import BOUNDARY_NOTE
from pipelines.store import connect
from tests.factories import load_values

DATA = Path(__file__).resolve().parent.parent / "data"


def it(name, type_, sector, partners=(), funding=None, status="在建/在研", live=True, inst=None, local=None):
    return {"item_name": name, "item_type": type_, "sector_code": sector, "partners": list(partners),
            "funding_wan": funding, "status": status, "is_live": live, "partner_institutions": inst,
            "local_institution": local}


POTATO = it("中俄蒙马铃薯种薯繁育", "国际科技合作项目", "S05", ["RUS", "MNG"], 50.0, inst="俄罗斯农业科学院",
            local="内蒙古农业大学")
BEIJING = it("京蒙装备协同创新", "国内科技合作项目", "S06", ["CN-BJ"], 30.0)
STATION = it("稀土院士专家工作站", "院士专家工作站", "S04", [], None, status="已建成/已认定")
HK = it("港蒙稀土催化合作", "国内科技合作项目", "S04", ["CN-HK"], 20.0, inst="香港科技大学")
ISRAEL = it("中以节水灌溉", "国际科技合作项目", "S05", ["ISR"], 10.0, status="已终止", live=False)
MAGNET = it("中德俄稀土永磁联合研究", "国际科技合作项目", "S04", ["DEU", "RUS"], 100.0)
TW_LAB = it("包头台湾稀土联合实验室", "联合实验室", "S04", ["CN-TW"], 15.5)
FORUM = it("包头稀土国际论坛", "国际科技会议", "S12", [], None, status="已完成")
GRASS = it("中蒙草原遥感监测", "国际科技合作项目", "S10", ["MNG"], 40.0)
USA = it("中美乳业技术引进", "引进技术成果", "S05", ["USA"], 25.0)
MACAO = it("澳门中医药合作", "国内科技合作项目", "S09", ["CN-MO"], 5.0)

# (unit, period, period end, items, tag): loaded in this order; a repeated
# (unit, period) is a re-sent return and replaces the earlier one.
RETURNS = [
    ("150100", "2019H1", date(2019, 6, 30), [POTATO, BEIJING, STATION], ""),
    ("150100", "2019H1", date(2019, 6, 30), [POTATO, STATION, HK, ISRAEL], "resent"),
    ("150100", "2019H2", date(2019, 12, 31), [POTATO, STATION, HK, MAGNET], ""),
    ("150200", "2018H2", date(2018, 12, 31), [TW_LAB, FORUM], ""),
    ("150200", "2019H1", date(2019, 6, 30), [TW_LAB, FORUM, GRASS], ""),  # no 2019H2: carried forward
    ("150300", "2019H1", date(2019, 6, 30), [USA, MACAO], ""),
    ("150300", "2019H2", date(2019, 12, 31), [], ""),  # latest return lists no items
    ("150400", "2020H1", date(2020, 6, 30), [USA], ""),  # nothing before 2020
]
DATES = [date(2019, 3, 31), date(2019, 6, 30), date(2019, 12, 31), date(2020, 6, 30)]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("items") / "items.duckdb"
    for unit, period, _, items, tag in RETURNS:
        load_values(path, unit, period, {"I04": 1}, items=items, tag=tag)
    return path


@pytest.fixture
def con(db):
    with connect(db) as c:
        yield c


# ---------------------------------------------------------------------------
# the independent model
def expected_items(as_of: date, live_only: bool = True) -> list[dict]:
    """Items of each unit's latest return (latest load wins) for the latest period ending on or before as_of."""
    latest: dict[str, tuple[date, list, int]] = {}
    for n, (unit, _, end, items, _) in enumerate(RETURNS):
        if end <= as_of and (unit not in latest or end >= latest[unit][0]):
            latest[unit] = (end, items, n)
    out = []
    for unit, (end, items, _) in latest.items():
        for row, i in enumerate(items, start=3):
            if live_only and not i["is_live"]:
                continue
            out.append({**i, "unit": unit, "period_end": end, "row": row})
    return out


def partner_csv() -> list[dict]:
    with open(DATA / "partners.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def group_codes() -> dict[str, str]:
    with open(DATA / "partner_groups.csv", encoding="utf-8", newline="") as f:
        return {r["name"]: r["code"] for r in csv.DictReader(f)}


def members(group_code: str) -> set[str]:
    name = {v: k for k, v in group_codes().items()}[group_code]
    return {r["code"] for r in partner_csv() if name in r["groups"].split("|")}


def kind_of() -> dict[str, str]:
    return {r["code"]: r["kind"] for r in partner_csv()}


def names(df) -> set[tuple[str, str]]:
    return set(zip(df["unit_code"], df["item_name"]))


def model_names(items) -> set[tuple[str, str]]:
    return {(i["unit"], i["item_name"]) for i in items}


# ---------------------------------------------------------------------------
# which items are live at a date
@pytest.mark.parametrize("as_of", DATES)
def test_items_at_is_each_units_latest_return(con, as_of):
    assert names(queries.items_at(con, as_of)) == model_names(expected_items(as_of))
    assert names(queries.items_at(con, as_of, live_only=False)) == model_names(expected_items(as_of, False))


def test_items_at_mid_2019_by_hand(con):
    got = names(queries.items_at(con, date(2019, 6, 30)))
    assert got == {("150100", POTATO["item_name"]), ("150100", STATION["item_name"]), ("150100", HK["item_name"]),
                   ("150200", TW_LAB["item_name"]), ("150200", FORUM["item_name"]), ("150200", GRASS["item_name"]),
                   ("150300", USA["item_name"]), ("150300", MACAO["item_name"])}


def test_resent_return_replaces_the_first_version(con):
    df = queries.items_at(con, date(2019, 6, 30), units=("150100",))
    assert BEIJING["item_name"] not in set(df["item_name"])  # only in version 1
    assert set(df["version"]) == {2}
    assert set(df["file_name"]) == {"150100_2019H1resent.xlsx"}


def test_terminated_item_is_listed_only_when_asked(con):
    live = queries.items_at(con, date(2019, 6, 30))
    every = queries.items_at(con, date(2019, 6, 30), live_only=False)
    ended = queries.items_at(con, date(2019, 6, 30), live_only=False, ended_only=True)
    assert ISRAEL["item_name"] not in set(live["item_name"])
    assert set(ended["item_name"]) == {ISRAEL["item_name"]}
    assert len(every) == len(live) + 1
    row = every[every["item_name"] == ISRAEL["item_name"]].iloc[0]
    assert (bool(row["is_live"]), row["status"]) == (False, "已终止")


def test_carried_unit_keeps_its_items_and_empty_latest_return_has_none(con):
    df = queries.items_at(con, date(2019, 12, 31))
    carried = df[df["unit_code"] == "150200"]
    assert set(carried["period_code"]) == {"2019H1"} and len(carried) == 3
    assert "150300" not in set(df["unit_code"])  # its 2019H2 return lists nothing: no fallback to 2019H1
    assert "150400" not in set(df["unit_code"])  # first return only in 2020


def test_items_carry_their_source(con):
    df = queries.items_at(con, date(2019, 12, 31), units=("150100",)).set_index("item_name")
    magnet = df.loc[MAGNET["item_name"]]
    assert magnet["file_name"] == "150100_2019H2.xlsx"
    assert magnet["sheet"] == "表2 合作事项明细"
    assert magnet["source_row"] == 6  # the 4th item: Excel row 6 under the header in row 2
    assert (magnet["period_code"], magnet["period_label"], magnet["version"]) == ("2019H2", "2019年下半年", 1)
    assert magnet["partner_names"] == "德国、俄罗斯"
    assert magnet["unit_name"] == "呼和浩特市" and magnet["sector_name"] == "稀土新材料"


def test_limit_keeps_the_first_rows_in_unit_then_row_order(con):
    full = queries.items_at(con, date(2019, 6, 30))
    assert full["unit_code"].tolist() == sorted(full["unit_code"])
    head = queries.items_at(con, date(2019, 6, 30), limit=3)
    assert head["item_name"].tolist() == full["item_name"].head(3).tolist()


# ---------------------------------------------------------------------------
# filters
FILTERS = [
    dict(units=("150100", "150300")),
    dict(sectors=("S04",)),
    dict(type_names=("国际科技合作项目", "联合实验室")),
    dict(partner_codes=("RUS", "MNG")),
    dict(partner_codes=("CN-HK", "CN-TW", "CN-MO")),
    dict(sectors=("S04", "S05"), partner_codes=("RUS",)),
]


def apply_model_filter(items, units=(), sectors=(), type_names=(), partner_codes=()):
    return [i for i in items
            if (not units or i["unit"] in units) and (not sectors or i["sector_code"] in sectors)
            and (not type_names or i["item_type"] in type_names)
            and (not partner_codes or set(i["partners"]) & set(partner_codes))]


@pytest.mark.parametrize("flt", FILTERS)
@pytest.mark.parametrize("as_of", [date(2019, 6, 30), date(2019, 12, 31)])
def test_filters_select_the_same_items_as_the_model(con, as_of, flt):
    want = apply_model_filter(expected_items(as_of), **flt)
    assert names(queries.items_at(con, as_of, **flt)) == model_names(want)
    s = queries.items_summary(con, as_of, **flt).iloc[0]
    assert s["items"] == len(want)
    assert s["funding_wan"] == pytest.approx(sum(i["funding_wan"] or 0 for i in want))
    assert s["funded_items"] == sum(i["funding_wan"] is not None for i in want)
    assert s["units"] == len({i["unit"] for i in want})


def test_group_filter_expands_to_its_members(con):
    g01 = members("G01")
    assert {"RUS", "MNG"} <= g01
    got = names(queries.items_at(con, date(2019, 12, 31), partner_codes=tuple(sorted(g01))))
    assert got == model_names(apply_model_filter(expected_items(date(2019, 12, 31)), partner_codes=g01))


def test_search_matches_name_institutions_and_partner_names(con):
    d = date(2019, 6, 30)
    assert set(queries.items_at(con, d, search="马铃薯")["item_name"]) == {POTATO["item_name"]}
    assert set(queries.items_at(con, d, search="农业科学院")["item_name"]) == {POTATO["item_name"]}  # partner inst.
    assert set(queries.items_at(con, d, search="内蒙古农业大学")["item_name"]) == {POTATO["item_name"]}  # local
    # a partner's name finds its items; every word must match
    assert set(queries.items_at(con, d, search="香港")["item_name"]) == {HK["item_name"]}
    assert set(queries.items_at(con, d, search="稀土 包头")["item_name"]) == {TW_LAB["item_name"], FORUM["item_name"]}
    assert queries.items_at(con, d, search="不存在的词").empty
    assert set(queries.items_at(con, d, live_only=False, statuses=("已终止",))["item_name"]) == {ISRAEL["item_name"]}


# ---------------------------------------------------------------------------
# 按领域
@pytest.mark.parametrize("flt", [{}] + FILTERS)
def test_sector_by_type_counts_and_funding(con, flt):
    d = date(2019, 12, 31)
    want = apply_model_filter(expected_items(d), **flt)
    df = queries.items_by_sector_type(con, d, **flt)
    got = {(r.sector_code, r.item_type): (r.items, r.funding_wan) for r in df.itertuples()}
    model: dict = {}
    for i in want:
        n, f = model.get((i["sector_code"], i["item_type"]), (0, 0.0))
        model[(i["sector_code"], i["item_type"])] = (n + 1, f + (i["funding_wan"] or 0))
    assert got.keys() == model.keys()
    for k, (n, f) in model.items():
        assert got[k][0] == n and got[k][1] == pytest.approx(f)
    assert set(df["type_code"].dropna()) <= {f"T{n:02d}" for n in range(1, 17)}


def test_sector_unit_matrix(con):
    d = date(2019, 12, 31)
    df = queries.items_by_sector_unit(con, d)
    got = {(r.sector_code, r.unit_code): r.items for r in df.itertuples()}
    assert got == dict(Counter((i["sector_code"], i["unit"]) for i in expected_items(d)))


def test_sector_growth_counts_each_period_end(con):
    as_of = date(2020, 6, 30)
    df = queries.items_by_sector_period(con, as_of)
    period_ends = sorted({end for _, _, end, _, _ in RETURNS if end <= as_of})
    assert sorted(set(df["at_date"])) == period_ends
    for end in period_ends:
        want = Counter(i["sector_code"] for i in expected_items(end))
        part = df[df["at_date"] == end]
        got = {r.sector_code: r.items for r in part.itertuples() if r.items}
        assert got == dict(want), end
    # 150200 carried into 2019-12-31: its 2019H1 items count there
    s10 = df[(df["at_date"] == date(2019, 12, 31)) & (df["sector_code"] == "S10")]["items"].iloc[0]
    assert s10 == 1
    units_2019h2 = df[df["at_date"] == date(2019, 12, 31)]["units_with_return"].iloc[0]
    assert units_2019h2 == 3  # 150100, 150200 (carried), 150300 (empty return)


def test_sector_growth_stops_at_as_of(con):
    df = queries.items_by_sector_period(con, date(2019, 6, 30))
    assert max(df["at_date"]) == date(2019, 6, 30)


# ---------------------------------------------------------------------------
# 按国别
def partner_count_model(items, partner_codes=()):
    c = Counter()
    for i in items:
        for p in set(i["partners"]):
            if not partner_codes or p in partner_codes:
                c[p] += 1
    return c


@pytest.mark.parametrize("as_of", [date(2019, 6, 30), date(2019, 12, 31)])
def test_partner_counts_split_foreign_and_domestic(con, as_of):
    model = partner_count_model(expected_items(as_of))
    kinds = kind_of()
    foreign = queries.items_by_partner(con, as_of, kind="foreign")
    domestic = queries.items_by_partner(con, as_of, kind="domestic")
    assert dict(zip(foreign["partner_code"], foreign["items"])) == {p: n for p, n in model.items()
                                                                   if kinds[p] == "foreign"}
    assert dict(zip(domestic["partner_code"], domestic["items"])) == {p: n for p, n in model.items()
                                                                     if kinds[p] == "domestic"}
    assert foreign["items"].tolist() == sorted(foreign["items"], reverse=True)


def test_hong_kong_macao_taiwan_are_never_foreign(con):
    for d in DATES:
        foreign = queries.items_by_partner(con, d, kind="foreign")
        assert not set(foreign["partner_code"]) & {"CN-HK", "CN-MO", "CN-TW"}
        assert not foreign["name"].str.contains("香港|澳门|台湾").any()
    dom = queries.items_by_partner(con, date(2019, 6, 30), kind="domestic").set_index("partner_code")
    assert dom.loc["CN-HK", "name"] == "中国香港" and dom.loc["CN-TW", "name"] == "中国台湾"
    assert dom.loc["CN-MO", "name"] == "中国澳门"
    kinds = queries.items_by_partner_kind(con, date(2019, 6, 30)).set_index("kind")
    # foreign: POTATO, GRASS, USA; domestic: HK, TW_LAB, MACAO
    assert kinds.loc["foreign", "items"] == 3 and kinds.loc["domestic", "items"] == 3
    assert kinds.loc["foreign", "partners"] == 3  # RUS, MNG, USA
    assert kinds.loc["domestic", "partners"] == 3  # CN-HK, CN-TW, CN-MO


def test_item_with_two_partners_counts_once_for_each(con):
    df = queries.items_by_partner(con, date(2019, 6, 30)).set_index("partner_code")
    # POTATO (RUS, MNG) and GRASS (MNG)
    assert df.loc["RUS", "items"] == 1 and df.loc["MNG", "items"] == 2
    assert df.loc["MNG", "funding_wan"] == pytest.approx(90.0)


@pytest.mark.parametrize("as_of", [date(2019, 6, 30), date(2019, 12, 31)])
def test_group_counts_count_an_item_once_per_group(con, as_of):
    items = expected_items(as_of)
    df = queries.items_by_partner_group(con, as_of).set_index("group_code")
    assert set(df.index) == set(group_codes().values())
    for g in df.index:
        m = members(g)
        assert df.loc[g, "items"] == sum(1 for i in items if set(i["partners"]) & m), g
    # by hand, end of 2019: POTATO (RUS+MNG), MAGNET (DEU+RUS), GRASS (MNG) -> 3 in 中俄蒙经济走廊, not 4
    if as_of == date(2019, 12, 31):
        assert df.loc["G01", "items"] == 3
        assert df.loc["G09", "items"] == 2  # 港澳台: HK, TW_LAB
        assert df.loc["G09", "kind"] == "domestic"


def test_partner_filter_limits_the_partner_breakdown_to_it(con):
    d = date(2019, 12, 31)
    df = queries.items_by_partner(con, d, partner_codes=("RUS",))
    assert dict(zip(df["partner_code"], df["items"])) == {"RUS": 2}  # co-partners MNG, DEU not listed
    groups = queries.items_by_partner_group(con, d, partner_codes=("RUS",)).set_index("group_code")
    assert groups.loc["G01", "items"] == 2
    assert groups.loc["G09", "items"] == 0


def test_partner_sector_matrix(con):
    d = date(2019, 12, 31)
    df = queries.items_by_partner_sector(con, d, top=3)
    c = Counter()
    for i in expected_items(d):
        for p in set(i["partners"]):
            c[(p, i["sector_code"])] += 1
    totals = Counter()
    for (p, _), n in c.items():
        totals[p] += n
    top = sorted(totals, key=lambda p: (-totals[p], p))[:3]
    assert df["partner_code"].drop_duplicates().tolist() == top
    assert {(r.partner_code, r.sector_code): r.items for r in df.itertuples()} == \
        {k: n for k, n in c.items() if k[0] in top}


def test_an_empty_database_gives_empty_frames(tmp_path):
    from pipelines.store import init_db
    path = tmp_path / "empty.duckdb"
    init_db(path)
    with connect(path) as c:
        d = date(2019, 6, 30)
        assert queries.items_at(c, d).empty
        assert queries.items_summary(c, d).iloc[0]["items"] == 0
        assert queries.items_by_sector_type(c, d).empty
        assert queries.items_by_sector_period(c, d).empty
        assert queries.items_by_partner(c, d, kind="foreign").empty
        assert queries.items_by_partner_group(c, d)["items"].sum() == 0
        assert queries.items_by_partner_kind(c, d)["items"].tolist() == [0, 0]


# ---------------------------------------------------------------------------
# figures built from these frames
def text_of(fig) -> str:
    return " ".join(a.text for a in fig.layout.annotations if a.text) + " " + fig.layout.title.text


def test_world_map_draws_china_the_dashes_and_partners_only(con):
    d = date(2019, 12, 31)
    every = queries.items_by_partner(con, d)  # domestic rows included on purpose
    fig = figures.partner_world_map(every, d, "全区", None)
    traces = {t.name: t for t in fig.data}
    assert list(traces["中国"].locations) == ["CHN"]
    assert traces["南海断续线"].mode == "lines" and len(traces["南海断续线"].lon) > 10
    partners = traces["合作国家"]
    assert set(partners.locations) == {"RUS", "MNG", "DEU"}  # no CN-HK / CN-TW, no separate TWN
    assert dict(zip(partners.locations, partners.z)) == {"RUS": 2, "MNG": 2, "DEU": 1}
    assert list(partners.customdata) == list(partners.locations)  # clicking yields the ISO3 code
    feature_ids = {f["id"] for t in fig.data if getattr(t, "geojson", None) for f in t.geojson["features"]}
    assert not feature_ids & {"TWN", "HKG", "MAC"}
    assert BOUNDARY_NOTE in text_of(fig).replace("<br>", "")  # the whole caption, wrapped to fit
    # an SVG map that fetches nothing: no base layers, and a lon/lat trace first (geo.offline_geo)
    assert fig.layout.geo.visible is False and fig.data[0].type == "scattergeo" and fig.data[0].locations is None


def test_figures_say_what_and_when_and_explain_empty_data(con):
    d = date(2019, 12, 31)
    f = figures.sector_bars(queries.items_by_sector_type(con, d), d, "全区", None)
    assert "各领域" in f.layout.title.text and "截至2019年12月31日" in f.layout.title.subtitle.text
    assert f.layout.xaxis.title.text == "事项数（项）" and f.layout.xaxis2.title.text == "投入经费（万元）"
    assert "数据来源" in text_of(f)
    empty = pd.DataFrame(columns=["partner_code", "name", "kind", "continent", "items", "funding_wan"])
    for fig in (figures.partner_top(empty, d), figures.domestic_partners_bar(empty, d),
                figures.sector_bars(queries.items_by_sector_type(con, date(2018, 1, 1)), date(2018, 1, 1))):
        assert "没有" in text_of(fig)
    m = figures.partner_world_map(empty, d)
    assert "没有与国外合作" in text_of(m) and BOUNDARY_NOTE in text_of(m).replace("<br>", "")


def test_clicked_codes_reads_customdata():
    event = {"selection": {"points": [{"customdata": "S04", "x": 3}, {"customdata": ["RUS"]}, {"x": 1}]}}
    assert figures.clicked_codes(event) == ["S04", "RUS"]
    assert figures.clicked_codes(None) == [] and figures.clicked_codes({"selection": {"points": []}}) == []
