"""按盟市 and 进度趋势 pages (AppTest: the real scripts, no browser), filters from the URL."""
from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from pipelines import queries as Q
from tests.dbfixtures import demo_db_copy
from tests.factories import load_values

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo(tmp_path):
    return demo_db_copy(tmp_path)


def open_page(monkeypatch, db, page: str, **params) -> AppTest:
    monkeypatch.setenv("KJHZ_DB", str(db))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py")  # before the first run: a pasted link opens this page directly
    at.run()
    assert not at.exception, at.exception
    return at


def _decode(x):
    """plotly JSON with its typed arrays ({"dtype", "bdata"}) turned into plain lists."""
    if isinstance(x, dict):
        if "bdata" in x and "dtype" in x:
            arr = np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
            shape = tuple(int(v) for v in str(x.get("shape", len(arr))).split(","))
            return arr.reshape(shape).tolist()
        return {k: _decode(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_decode(v) for v in x]
    return x


def figures(at) -> list[dict]:
    return [_decode(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]


def titles(at) -> list[str]:
    return [f["layout"]["title"]["text"] for f in figures(at)]


def texts(at, kind: str = "markdown") -> str:
    return " ".join(e.value for e in getattr(at, kind))


# --------------------------------------------------------------------------- 按盟市
def test_region_page_draws_12_units_on_the_map_and_13_in_the_ranking(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "region", as_of="2019-12-31")
    figs = figures(at)
    maps = [f for f in figs if any(t["type"] == "choropleth" for t in f["data"])]
    assert len(maps) == 1
    locs = {loc for t in maps[0]["data"] if t["type"] == "choropleth" for loc in t["locations"]}
    assert len(locs) == 12 and "150000" not in locs
    assert "边界依据" in json.dumps(maps[0]["layout"]["annotations"], ensure_ascii=False)
    assert maps[0]["layout"]["geo"]["visible"] is False and maps[0]["data"][0]["type"] == "scattergeo"  # fetches nothing
    ranking = next(f for f in figs if "排名" in f["layout"]["title"]["text"])
    assert len(ranking["data"][0]["y"]) == 13 and "自治区本级" in ranking["data"][0]["y"]
    # 自治区本级 is shown beside the map as a metric
    assert any("自治区本级" in m.label for m in at.metric)
    assert any("阿拉善盟" in c.value and "沿用" in c.value for c in at.caption)
    # what the map shows equals the query for the same filter
    want = Q.unit_metric(connect_ro(demo), date(2019, 12, 31), "value", "I09").set_index("unit_code")["metric"]
    coloured = next(t for t in maps[0]["data"] if t["type"] == "choropleth" and t.get("colorbar"))
    z = dict(zip(coloured["locations"], coloured["z"]))
    assert all(z[c] == want[c] for c in z)
    # the page's own state goes into the URL too, so a copied link restores it
    assert at.query_params["measure"] in ("value", ["value"]) and at.query_params["indicator"] in ("I09", ["I09"])
    assert "单位详情" in texts(at, "subheader")


def connect_ro(db):
    import duckdb
    return duckdb.connect(str(db), read_only=True)


def test_unit_from_url_opens_its_view(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "region", as_of="2019-12-31", unit="150200")
    md = texts(at)
    assert "包头市（150200）" in md
    assert at.selectbox(key="region_pick_150200").value == "150200"
    tables = [d.value for d in at.dataframe]
    indicators, items = tables[0], tables[1]
    assert len(indicators) == 14 and "累计值" in indicators.columns
    assert "分解目标" not in indicators.columns  # no allocations: no empty target columns
    con = connect_ro(demo)
    live = Q.unit_items(con, date(2019, 12, 31), "150200")
    assert len(items) == int(live["is_live"].sum())
    history = next(t for t in tables if "报告期" in t.columns and "报送截止" in t.columns)
    assert list(history["报告期"]) == ["2018年上半年", "2018年下半年", "2019年上半年", "2019年下半年"]
    # the demo re-sent 包头市's 2019H1 return: two versions
    assert history.set_index("报告期").loc["2019年上半年", "版本数"] == 2
    # the selected unit is outlined on the map and the ranking
    mp = next(f for f in figures(at) if any(t["type"] == "choropleth" for t in f["data"]))
    assert any(t.get("name") == "所选单位" and t["locations"] == ["150200"] for t in mp["data"])


def test_every_version_of_a_unit_is_listed_once_its_box_is_opened(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "region", as_of="2019-12-31", unit="150200")
    box = next(e for e in at.expander if e.label.startswith("全部报送版本"))
    assert box.label == "全部报送版本（5份）" and not any("接收时间" in d.value.columns for d in at.dataframe)
    at.session_state["region_versions_150200"] = True  # opened, as a click on it does
    at.run()
    versions = next(d.value for d in at.dataframe if "接收时间" in d.value.columns)
    # four half-years, 2019H1 sent twice (the demo's correction)
    assert len(versions) == 5 and sorted(versions["版本"].tolist()) == [1, 1, 1, 1, 2]


def test_unit_carried_forward_is_said(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "region", as_of="2019-12-31", unit="152900")
    assert "阿拉善盟（152900）" in texts(at)
    assert any("没有报送" in i.value and "沿用" in i.value for i in at.info)
    assert any(m.label == "报送情况" and m.value == "沿用上期" for m in at.metric)


def test_unknown_unit_code_in_link_shows_notice(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "region", unit="999999", measure="nonsense")
    notices = texts(at, "info")
    assert "999999" in notices and "无法识别" in notices
    assert "nonsense" in notices
    assert "尚未选择单位" in texts(at, "caption")


def test_rate_without_allocations_says_so_and_shows_shares(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "region", as_of="2019-06-30", measure="rate", indicator="I04")
    assert "尚未把" in texts(at, "info") and "分解" in texts(at, "info")
    assert any("占全区合计的比例" in t for t in titles(at))


def test_item_counts_follow_sidebar_filters(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "region", as_of="2019-12-31", measure="items", sector="S04",
                   partner="G01")
    mp = next(f for f in figures(at) if any(t["type"] == "choropleth" for t in f["data"]))
    assert "事项" in mp["layout"]["title"]["text"]
    assert "稀土新材料" in mp["layout"]["title"]["subtitle"]["text"]
    from pipelines.reference import load_reference
    ref = load_reference()
    g01 = ref.partner_groups.set_index("code").loc["G01", "name"]
    members = tuple(ref.partners[ref.partners["groups_list"].map(lambda gs: g01 in gs)]["code"])
    want = Q.unit_item_counts(connect_ro(demo), date(2019, 12, 31), sectors=("S04",), partner_codes=members)
    want = want.set_index("unit_code")["items"]
    z = {loc: v for t in mp["data"] if t["type"] == "choropleth" and t.get("name") != "所选单位"
         for loc, v in zip(t["locations"], t["z"])}
    assert {c: int(v) for c, v in z.items()} == {c: int(want[c]) for c in z}
    assert sum(z.values()) < Q.unit_item_counts(connect_ro(demo), date(2019, 12, 31))["items"].sum()


def test_unit_without_any_return_says_so(tmp_path, monkeypatch):
    db = tmp_path / "small.duckdb"
    load_values(db, "150100", "2019H1", {"I09": 40})
    at = open_page(monkeypatch, db, "region", unit="150300")
    assert any("还没有任何报表入库" in w.value for w in at.warning)
    mp = next(f for f in figures(at) if any(t["type"] == "choropleth" for t in f["data"]))
    grey = [t for t in mp["data"] if t.get("name") == "无数据"]
    assert grey and len(grey[0]["locations"]) == 11


def test_region_page_on_empty_database(tmp_path, monkeypatch):
    from pipelines.store import init_db
    db = tmp_path / "empty.duckdb"
    init_db(db)
    at = open_page(monkeypatch, db, "region")
    assert "还没有任何报表入库" in texts(at, "info")
    assert not at.get("plotly_chart")


# --------------------------------------------------------------------------- 进度趋势
def test_trends_grid_of_all_indicators_at_plan_end(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "trends")
    figs = figures(at)
    assert len(figs) == 1 and "各项指标完成率走势" in figs[0]["layout"]["title"]["text"]
    panels = {a["text"] for a in figs[0]["layout"]["annotations"]}
    assert {"I01 国家级国际合作基地", "I14 国别中心"} <= panels
    table = at.dataframe[0].value
    assert len(table) == 14 and set(table["结论"]) <= {"已完成", "未完成"}
    assert "计划期末完成情况" in texts(at, "subheader")


def test_trends_projection_sentences_at_mid_plan(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "trends", as_of="2019-06-30")
    table = at.dataframe[0].value
    assert {"平均速度推算值", "近一年速度推算值", "结论"} <= set(table.columns)
    assert set(table["结论"]) <= {"可按期完成", "将无法按期完成", "暂无数据"}
    assert not at.code  # the quotable sentences are drawn on demand
    at = at.toggle(key="trends_sentences").set_value(True).run()
    sentences = " ".join(c.value for c in at.code)
    assert "预计到2020年底可达到约" in sentences and "按最近一年（2018年6月底至2019年6月底）的速度" in sentences
    proj = Q.trend_projection(connect_ro(demo), date(2019, 6, 30)).set_index("indicator_code")
    shown = table.set_index("编码")
    assert shown.loc["I09", "平均速度推算值"] == f'{int(proj.loc["I09", "proj_avg"]):,}'  # thousands separators


def test_trends_one_indicator_discloses_carried_units(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "trends", as_of="2019-12-31", indicator="I09")
    fig = figures(at)[0]
    assert "院士专家工作站" in fig["layout"]["title"]["text"]
    names = {t.get("name") for t in fig["data"]}
    assert {"实际累计", "按时间进度应达到（基期值→目标值）", "按计划以来平均速度推算"} <= names
    per = at.dataframe[0].value
    assert len(per) == 4
    assert per.iloc[-1]["沿用更早报告期"] == "阿拉善盟（沿用2019年上半年）"
    assert "按目前进度" in texts(at)
    # the series on the chart equals progress_table at each period end
    from pipelines.progress import progress_table
    con = connect_ro(demo)
    actual = next(t for t in fig["data"] if t.get("name") == "实际累计")
    for d, v in zip(actual["x"][1:], actual["y"][1:]):
        pt = progress_table(con, date.fromisoformat(d[:10])).set_index("indicator_code")
        assert v == int(pt.loc["I09", "value"])


def test_trends_unknown_indicator_and_unit_filter(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "trends", indicator="I99", unit="150200")
    info = texts(at, "info")
    assert "I99" in info and "只统计所选单位" in info
    assert "包头市" in figures(at)[0]["layout"]["title"]["text"]
    # a part of the region is not judged against the whole region's target
    at = open_page(monkeypatch, demo, "trends", as_of="2019-06-30", unit="150200")
    assert set(at.dataframe[0].value["结论"]) == {"不作判断（只含所选单位）"}
    at = at.toggle(key="trends_sentences").set_value(True).run()
    assert "相当于全区目标的" in " ".join(c.value for c in at.code)


def test_trends_on_empty_database(tmp_path, monkeypatch):
    from pipelines.store import init_db
    db = tmp_path / "empty.duckdb"
    init_db(db)
    at = open_page(monkeypatch, db, "trends")
    assert "还没有任何报表入库" in texts(at, "info")


def test_choosing_a_unit_in_the_selector_or_the_card_opens_it_and_goes_into_the_url(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "region", as_of="2019-12-31")
    at.selectbox(key="region_pick_all").select("150600").run()
    assert not at.exception
    assert at.query_params["unit"] in ("150600", ["150600"])
    assert "鄂尔多斯市（150600）" in texts(at)
    # 自治区本级 has no polygon: its card beside the map opens it
    at.button(key="open_150000").click().run()
    assert "自治区本级（150000）" in texts(at)
    # and back to the whole region
    next(b for b in at.button if "返回全区" in b.label).click().run()
    assert "unit" not in at.query_params and "尚未选择单位" in texts(at, "caption")


def test_heatmap_measure_comes_from_and_goes_into_the_url(demo, monkeypatch):
    at = open_page(monkeypatch, demo, "region", as_of="2019-12-31", heatmap="share_region")
    assert at.radio(key="region_heatmap").value == "share_region"
    assert any("占全区合计的比例" in t and "各项指标" in t for t in titles(at))
    at.radio(key="region_heatmap").set_value("share_target").run()
    assert not at.exception
    assert at.query_params["heatmap"] in ("share_target", ["share_target"])
    assert any("占全区目标的比例" in t for t in titles(at))
    # a link with a measure this plan cannot show (no allocations: no 完成率) says so and falls back
    at = open_page(monkeypatch, demo, "region", heatmap="completion")
    assert "completion" in texts(at, "info") and at.radio(key="region_heatmap").value == "share_target"


@pytest.mark.parametrize("indicator", ["I02", "I12"])
def test_ranking_title_lines_fit_the_narrow_column(demo, monkeypatch, indicator):
    at = open_page(monkeypatch, demo, "region", as_of="2019-12-31", indicator=indicator, measure="share")
    title = next(t for t in titles(at) if "排名" in t)
    # the ranking sits in a third of the page (≈ 280 px): at most 14 characters of 18 px a line
    assert all(len(line) <= 14 for line in title.split("<br>")), title
