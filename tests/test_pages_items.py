"""按领域, 按国别 and 明细查询 on the demo database (AppTest: the real scripts, no browser),
with filters taken from the URL as a copied link would carry them."""
from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.store import connect
from tests.dbfixtures import demo_db_copy
from tests.factories import load_values

REPO = Path(__file__).resolve().parent.parent
LATEST = date(2020, 12, 31)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One private demo copy for this module: the pages only read it."""
    return demo_db_copy(tmp_path_factory.mktemp("demo_items"))


def run_page(monkeypatch, db, page: str, **params) -> AppTest:
    monkeypatch.setenv("KJHZ_DB", str(db))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def live_items_sql(db, where: str = "TRUE", params=(), as_of: date = LATEST) -> int:
    """Independent count: live items in each unit's latest current return on or before as_of."""
    with connect(db) as con:
        return con.execute(f"""
            WITH latest AS (
                SELECT s.submission_id FROM v_submissions s
                WHERE s.period_end = (SELECT max(period_end) FROM v_submissions t
                                      WHERE t.unit_code = s.unit_code AND t.period_end <= ?))
            SELECT count(*) FROM items i JOIN latest USING (submission_id)
            WHERE i.is_live AND ({where})""", [as_of, *params]).fetchone()[0]


def arr(v) -> list:
    """A plotly JSON array: a list, or a typed array {"dtype", "bdata"} (base64)."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        import numpy as np
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def chart_specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def chart(at, title_part: str) -> dict:
    hits = [s for s in chart_specs(at) if title_part in s["layout"]["title"]["text"]]
    assert hits, [s["layout"]["title"]["text"] for s in chart_specs(at)]
    return hits[0]


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def members(group_code: str) -> set[str]:
    with open(REPO / "data" / "partner_groups.csv", encoding="utf-8", newline="") as f:
        name = next(r["name"] for r in csv.DictReader(f) if r["code"] == group_code)
    with open(REPO / "data" / "partners.csv", encoding="utf-8", newline="") as f:
        return {r["code"] for r in csv.DictReader(f) if name in r["groups"].split("|")}


# ---------------------------------------------------------------------------
# 按领域
def test_sector_page_shows_counts_charts_and_table(demo, monkeypatch):
    at = run_page(monkeypatch, demo, "sector")
    assert metric(at, "在册合作事项") == f"{live_items_sql(demo):,} 项"
    # one chart at a time: the first by default, each of the others from its choice (or link)
    titles = [s["layout"]["title"]["text"] for s in chart_specs(at)]
    assert titles == ["全区各领域科技合作事项数与投入经费"]
    for view, title in (("units", "全区各领域合作事项的盟市分布"), ("periods", "全区各领域在册合作事项数变化")):
        other = run_page(monkeypatch, demo, "sector", view=view)
        assert [s["layout"]["title"]["text"] for s in chart_specs(other)] == [title]
        assert "截至2020年12月31日" in chart_specs(other)[0]["layout"]["title"]["subtitle"]["text"]
    for s in chart_specs(at):
        assert "截至2020年12月31日" in s["layout"]["title"]["subtitle"]["text"]
    table = at.dataframe[0].value
    assert len(table) == 12 and table["在册事项（项）"].sum() == live_items_sql(demo)


def test_sector_from_url_filters_every_number(demo, monkeypatch):
    at = run_page(monkeypatch, demo, "sector", sector="S04")
    n = live_items_sql(demo, "i.sector_code = ?", ["S04"])
    assert metric(at, "在册合作事项") == f"{n:,} 项"
    table = at.dataframe[0].value
    assert table["领域编码"].tolist() == ["S04"] and int(table["在册事项（项）"].iloc[0]) == n
    bars = chart(at, "各领域科技合作事项数与投入经费")
    assert "领域：稀土新材料" in bars["layout"]["title"]["subtitle"]["text"]
    assert {y for t in bars["data"] if t["type"] == "bar" for y in arr(t["y"])} == {"稀土新材料"}


def test_sector_with_type_from_url(demo, monkeypatch):
    at = run_page(monkeypatch, demo, "sector", type="T04")
    n = live_items_sql(demo, "i.item_type = ?", ["国际科技合作项目"])
    assert metric(at, "在册合作事项") == f"{n:,} 项"
    bars = chart(at, "各领域科技合作事项数与投入经费")
    assert {t["name"] for t in bars["data"] if t["type"] == "bar"} == {"国际科技合作项目"}


def test_unknown_code_in_link_shows_a_notice(demo, monkeypatch):
    at = run_page(monkeypatch, demo, "sector", sector="S99,S04")
    assert any("S99" in i.value and "无法识别" in i.value for i in at.info)
    assert at.dataframe[0].value["领域编码"].tolist() == ["S04"]


def test_sector_page_at_a_period_with_a_missing_unit_says_so(demo, monkeypatch):
    # the demo's 阿拉善盟 sent nothing for 2019H2: its 2019H1 items are carried
    at = run_page(monkeypatch, demo, "sector", as_of="2019-12-31")
    assert any("阿拉善盟沿用2019H1报表" in c.value for c in at.caption)
    sub = chart(at, "各领域科技合作事项数与投入经费")["layout"]["title"]["subtitle"]["text"]
    assert "13个单位中12个当期报送、1个沿用上期" in sub
    assert metric(at, "在册合作事项") == f"{live_items_sql(demo, as_of=date(2019, 12, 31)):,} 项"


# ---------------------------------------------------------------------------
# 按国别
def test_partner_page_map_top_groups_and_domestic(demo, monkeypatch):
    at = run_page(monkeypatch, demo, "partner")
    world = chart(at, "科技合作伙伴国家分布")
    names = {t.get("name") for t in world["data"]}
    assert {"中国", "南海断续线", "合作国家"} <= names
    partner_trace = next(t for t in world["data"] if t.get("name") == "合作国家")
    assert not set(arr(partner_trace["locations"])) & {"CN-HK", "CN-MO", "CN-TW", "TWN", "HKG", "MAC"}
    assert "边界依据" in " ".join(a["text"] for a in world["layout"]["annotations"])
    assert len(chart_specs(at)) == 1  # one chart at a time, the map first
    top = chart(run_page(monkeypatch, demo, "partner", view="top"), "主要合作国家")
    top_names = {y for t in top["data"] for y in arr(t["y"])}
    assert not top_names & {"中国香港", "中国澳门", "中国台湾", "香港", "澳门", "台湾"}
    domestic = chart(run_page(monkeypatch, demo, "partner", view="domestic"), "国内合作省（区、市）分布")
    assert {"中国香港", "中国澳门", "中国台湾"} <= set(arr(domestic["data"][0]["y"]))  # in the demo data
    assert chart(run_page(monkeypatch, demo, "partner", view="sectors"), "主要合作方与领域分布")
    groups = chart(run_page(monkeypatch, demo, "partner", view="groups"), "计划重点合作方向")
    assert {"中俄蒙经济走廊", "以色列", "港澳台"} <= {y for t in groups["data"] for y in arr(t["y"])}
    table = at.dataframe[-1].value
    foreign = table[table["类别"] == "国外"]
    assert not foreign["合作国家（地区）"].str.contains("香港|澳门|台湾").any()
    assert set(table.loc[table["代码"].isin(["CN-HK", "CN-MO", "CN-TW"]), "类别"]) == {"国内（省区市、港澳台）"}


def test_partner_group_from_url(demo, monkeypatch):
    at = run_page(monkeypatch, demo, "partner", partner="G01", view="groups")
    assert any("已按合作方筛选" in i.value for i in at.info)
    g01 = members("G01")
    table = at.dataframe[-1].value
    assert set(table["代码"]) <= g01 and {"RUS", "MNG"} <= set(table["代码"])
    n = live_items_sql(demo, "list_has_any(i.partners, ?::VARCHAR[])", [sorted(g01)])
    groups = chart(at, "计划重点合作方向")
    counts = {y: x for t in groups["data"] for y, x in zip(arr(t["y"]), arr(t["x"]))}
    assert counts["中俄蒙经济走廊"] == n
    assert metric(at, "国内合作事项") == "0 项"


# ---------------------------------------------------------------------------
# 明细查询
def _norm(df: pd.DataFrame) -> list[list[str]]:
    def cell(v) -> str:
        if v is None or (not isinstance(v, (list, str)) and pd.isna(v)):
            return ""
        if isinstance(v, (pd.Timestamp, date)):
            return pd.Timestamp(v).date().isoformat()
        if isinstance(v, float):
            return f"{v:.4f}".rstrip("0").rstrip(".")
        return str(v)
    return [[cell(v) for v in row] for row in df.itertuples(index=False)]


def _excel(entry) -> dict[str, pd.DataFrame]:
    data = entry["data"]() if callable(entry["data"]) else entry["data"]
    return pd.read_excel(io.BytesIO(data), sheet_name=None)


def test_explorer_type_from_url_shows_rows_with_source_and_downloads_them(demo, monkeypatch, downloads):
    at = run_page(monkeypatch, demo, "explorer", type="T04")
    shown = at.dataframe[0].value
    n_all = None
    with connect(demo) as con:
        n_all = con.execute("""
            WITH latest AS (SELECT s.submission_id FROM v_submissions s WHERE s.period_end =
                (SELECT max(period_end) FROM v_submissions t WHERE t.unit_code = s.unit_code AND t.period_end <= ?))
            SELECT count(*) FROM items i JOIN latest USING (submission_id) WHERE i.item_type = '国际科技合作项目'
        """, [LATEST]).fetchone()[0]
    assert len(shown) == n_all and set(shown["事项类别"]) == {"国际科技合作项目"}
    assert {"来源文件", "工作表", "行号", "版本"} <= set(shown.columns)
    assert set(shown["工作表"]) == {"表2 合作事项明细"}
    assert shown["来源文件"].str.endswith(".xlsx").all()
    (entry,) = [d for d in downloads if "下载" in d["label"]]
    sheets = _excel(entry)
    assert list(sheets) == ["说明", "合作事项明细"]
    got = sheets["合作事项明细"]
    assert list(got.columns) == list(shown.columns)
    assert _norm(got) == _norm(shown)
    notes = dict(zip(sheets["说明"]["项目"], sheets["说明"]["说明"]))
    assert notes["截止日期"] == "2020年12月31日" and "国际科技合作项目" in notes["筛选条件"]
    assert notes["行数"] == f"{len(shown)} 行"


def test_explorer_search_and_status_from_url(demo, monkeypatch, downloads):
    at = run_page(monkeypatch, demo, "explorer", search="稀土", status="已终止,在建/在研")
    shown = at.dataframe[0].value
    assert len(shown) > 0
    text = shown["事项名称"] + " " + shown["合作单位"].fillna("") + " " + shown["本地承担单位"].fillna("")
    assert text.str.contains("稀土").all()
    assert set(shown["状态"]) <= {"已终止", "在建/在研"}
    assert at.text_input(key="explorer_search").value == "稀土"
    info = _excel(downloads[-1])["说明"]
    notes = dict(zip(info["项目"], info["说明"]))
    assert "搜索：稀土" in notes["筛选条件"]


def test_explorer_typed_search_goes_to_the_url_and_a_pasted_link_wins(demo, monkeypatch):
    at = run_page(monkeypatch, demo, "explorer")
    at.text_input(key="explorer_search").input("马铃薯").run()
    assert at.query_params["search"] == ["马铃薯"] or at.query_params["search"] == "马铃薯"
    assert at.dataframe[0].value["事项名称"].str.contains("马铃薯").all()
    at.query_params["search"] = "稀土"  # the user pastes another link into the same tab
    at.run()
    assert at.text_input(key="explorer_search").value == "稀土"
    assert at.dataframe[0].value["事项名称"].str.contains("稀土").any()


def test_explorer_large_result_shows_2000_rows_and_downloads_all(tmp_path, monkeypatch, downloads):
    db = tmp_path / "big.duckdb"
    n = 20_100  # above the page's 2,000 shown rows and its 20,000-row threshold for offering CSV too
    items = [{"item_name": f"事项{i:05d}", "item_type": "院士专家工作站", "sector_code": "S04"} for i in range(n)]
    load_values(db, "150200", "2019H1", {"I09": n}, items=items)
    at = run_page(monkeypatch, db, "explorer")
    assert len(at.dataframe[0].value) == 2000
    assert any("只显示前 2,000 行" in w.value and f"{n:,}" in w.value for w in at.warning)
    labels = [d["label"] for d in downloads]
    assert labels == [f"下载以上 {n:,} 行（Excel）", f"下载以上 {n:,} 行（CSV，较快）"]
    data = downloads[1]["data"]()
    got = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert len(got) == n and got["行号"].tolist() == list(range(3, n + 3))
    assert list(got.columns) == list(at.dataframe[0].value.columns)


def test_explorer_no_match_explains(demo, monkeypatch):
    at = run_page(monkeypatch, demo, "explorer", search="没有这样的事项")
    assert any("没有符合条件的事项" in i.value for i in at.info)
    assert not at.dataframe


@pytest.mark.parametrize("page", ["sector", "partner", "explorer"])
def test_pages_on_an_empty_database_say_what_to_do(tmp_path, monkeypatch, page):
    from pipelines.store import init_db
    db = tmp_path / "empty.duckdb"
    init_db(db)
    at = run_page(monkeypatch, db, page)
    assert any("还没有任何报表入库" in i.value for i in at.info)
