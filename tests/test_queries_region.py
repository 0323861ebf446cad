"""Queries behind 按盟市 and 进度趋势, against a small database with known totals.

The fixture is written out below (RETURNS): every expectation is either spelled out
by hand or counted independently from RETURNS in plain Python, never read back
from the query under test.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pandas as pd
import pytest

from pipelines import queries as Q
from pipelines.progress import progress_table
from pipelines.reference import load_reference
from pipelines.store import connect
from tests.factories import load_values

AS_OF = date(2019, 6, 30)

# (unit, period, 表1 values, 表2 items); a later entry for the same unit and period is a re-sent version.
RETURNS = [
    ("150100", "2018H2", {"I09": 30, "I04": 5},
     [dict(item_name="旧项目", item_type="国际科技合作项目", indicator_code="I04", sector_code="S05", partners=["RUS"])]),
    ("150100", "2019H1", {"I09": 40, "I04": 10}, [
        dict(item_name="中俄马铃薯", item_type="国际科技合作项目", indicator_code="I04", sector_code="S05",
             partners=["RUS"], funding_wan=50.0),
        dict(item_name="京蒙装备", item_type="国内科技合作项目", indicator_code="I04", sector_code="S06",
             partners=["CN-BJ"], funding_wan=30.0),
        dict(item_name="稀土工作站", item_type="院士专家工作站", indicator_code="I09", sector_code="S04"),
        dict(item_name="中蒙已终止", item_type="国际科技合作项目", indicator_code="I04", sector_code="S05",
             partners=["MNG"], status="已终止", is_live=False),
    ]),
    ("150200", "2019H1", {"I09": 50}, [
        dict(item_name="包头稀土（第1版）", item_type="国际科技合作项目", indicator_code="I04", sector_code="S04",
             partners=["RUS"]),
    ]),
    ("150200", "2019H1", {"I09": 55}, [  # version 2 replaces version 1
        dict(item_name="中德稀土永磁", item_type="国际科技合作项目", indicator_code="I04", sector_code="S04",
             partners=["RUS", "DEU"], funding_wan=100.0),
        dict(item_name="沪蒙技术引进", item_type="引进技术成果", indicator_code="I05", sector_code="S04",
             partners=["CN-SH"]),
    ]),
    ("150300", "2018H2", {"I09": 36}, [  # no 2019H1 return: carried forward at 2019-06-30
        dict(item_name="乌海工作站", item_type="院士专家工作站", indicator_code="I09", sector_code="S04"),
    ]),
    ("150000", "2019H1", {"I09": 20, "I04": 3}, []),
    # 152900 阿拉善盟 sends nothing at all
]


def _current_returns(as_of: date) -> dict[str, tuple]:
    """Independent model of the as-of rule: per unit, the last-loaded return of its latest period <= as_of."""
    from pipelines.normalise import parse_period

    latest: dict[str, tuple] = {}
    for unit, period, values, items in RETURNS:
        end = parse_period(period).end
        if end > as_of:
            continue
        if unit not in latest or end >= latest[unit][0]:
            latest[unit] = (end, period, values, items)
    return latest


def _expected_counts(as_of, sectors=(), types=(), partners=()) -> dict[str, int | None]:
    ref = load_reference()
    cur = _current_returns(as_of)
    out: dict[str, int | None] = {}
    for unit in ref.unit_codes:
        if unit not in cur:
            out[unit] = None
            continue
        n = 0
        for it in cur[unit][3]:
            if not it.get("is_live", True):
                continue
            if sectors and it["sector_code"] not in sectors:
                continue
            if types and it["item_type"] not in types:
                continue
            if partners and not set(it.get("partners", [])) & set(partners):
                continue
            n += 1
        out[unit] = n
    return out


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("region") / "r.duckdb"
    for k, (unit, period, values, items) in enumerate(RETURNS):
        load_values(path, unit, period, values, items=items, tag=f"#{k}", received_at=datetime(2019, 7, 1 + k))
    return path


def run(db, fn, *args, **kw):
    with connect(db) as con:
        return fn(con, *args, **kw)


# --------------------------------------------------------------------------- item counts
@pytest.mark.parametrize("filt", [
    {},
    {"sectors": ("S05",)},
    {"sectors": ("S04",)},
    {"type_names": ("国内科技合作项目",)},
    {"partner_codes": ("RUS",)},
    {"partner_codes": ("RUS", "CN-SH")},
    {"sectors": ("S04",), "partner_codes": ("DEU",)},
    {"type_names": ("国际科技合作项目", "院士专家工作站"), "sectors": ("S04", "S05")},
])
def test_item_counts_per_unit_equal_an_independent_count(db, filt):
    got = run(db, Q.unit_item_counts, AS_OF, **filt).set_index("unit_code")["items"]
    want = _expected_counts(AS_OF, filt.get("sectors", ()), filt.get("type_names", ()), filt.get("partner_codes", ()))
    assert {u: (None if pd.isna(v) else int(v)) for u, v in got.items()} == want


def test_item_counts_spelled_out(db):
    c = run(db, Q.unit_item_counts, AS_OF).set_index("unit_code")
    # 呼和浩特: 3 live of 4 (one terminated); 包头: version 2's two items, not version 1's;
    # 乌海: its 2018H2 return is carried; 本级: a return without items = 0; 阿拉善: no return = unknown
    assert int(c.loc["150100", "items"]) == 3
    assert int(c.loc["150200", "items"]) == 2
    assert int(c.loc["150300", "items"]) == 1 and c.loc["150300", "state"] == "结转"
    assert int(c.loc["150000", "items"]) == 0 and c.loc["150000", "state"] == "当期"
    assert pd.isna(c.loc["152900", "items"]) and c.loc["152900", "state"] == "缺报"
    assert c.loc["150100", "funding_wan"] == pytest.approx(80.0)
    assert c.loc["150200", "funding_wan"] == pytest.approx(100.0)
    assert bool(c.loc["150000", "on_map"]) is False and c["on_map"].sum() == 12


def test_item_counts_at_an_earlier_date_use_that_return(db):
    c = run(db, Q.unit_item_counts, date(2018, 12, 31)).set_index("unit_code")
    assert int(c.loc["150100", "items"]) == 1  # the 2018H2 return's single item
    assert pd.isna(c.loc["150200", "items"])  # nothing sent yet
    assert c.loc["150300", "state"] == "当期"


def test_unit_items_lists_the_current_return_with_names_and_source(db):
    items = run(db, Q.unit_items, AS_OF, "150100")
    assert sorted(items["item_name"]) == ["中俄马铃薯", "中蒙已终止", "京蒙装备", "稀土工作站"]
    assert items["is_live"].sum() == 3
    row = items.set_index("item_name").loc["中俄马铃薯"]
    assert row["sector_name"] == "绿色农畜产品" and row["partner_names"] == "俄罗斯"
    assert row["period_code"] == "2019H1" and row["source_row"] == 3
    live = run(db, Q.unit_items, AS_OF, "150200", partner_codes=("DEU",))
    assert live["item_name"].tolist() == ["中德稀土永磁"]
    assert sorted(live["partner_names"].iloc[0].split("、")) == sorted(["俄罗斯", "德国"])
    assert run(db, Q.unit_items, AS_OF, "152900").empty


# --------------------------------------------------------------------------- unit x indicator
def test_matrix_values_shares_and_states(db):
    m = run(db, Q.unit_indicator_matrix, AS_OF).set_index(["unit_code", "indicator_code"])
    ref = load_reference()
    assert len(m) == len(ref.unit_codes) * len(ref.plan.indicators)
    i09_total = 40 + 55 + 36 + 20
    assert m.loc[("150100", "I09"), "region_value"] == i09_total
    assert m.loc[("150200", "I09"), "value"] == 55  # version 2
    assert m.loc[("150100", "I09"), "share_of_region"] == pytest.approx(40 / i09_total)
    assert m.loc[("150100", "I09"), "share_of_target"] == pytest.approx(40 / 180)
    assert m.loc[("150300", "I09"), "state"] == "结转"
    assert m.loc[("150300", "I09"), "period_label"] == "2018年下半年"
    assert m.loc[("150100", "I09"), "state"] == "当期"
    assert m.loc[("152900", "I09"), "state"] == "未报" and pd.isna(m.loc[("152900", "I09"), "value"])
    assert m.loc[("150200", "I04"), "state"] == "未报"  # left blank in its 表1
    assert m.loc[("150100", "I04"), "share_of_region"] == pytest.approx(10 / 13)
    # no allocations in the plan file: no unit 完成率
    assert m["completion_rate"].isna().all() and m["alloc_target"].isna().all()
    assert set(m.loc[m["value"].notna(), "status"]) == {"未设目标"}


def test_matrix_region_value_equals_progress_table(db):
    m = run(db, Q.unit_indicator_matrix, AS_OF)
    pt = run(db, progress_table, AS_OF).set_index("indicator_code")
    rv = m.drop_duplicates("indicator_code").set_index("indicator_code")["region_value"]
    for code, v in pt["value"].items():
        assert (pd.isna(v) and pd.isna(rv[code])) or int(v) == int(rv[code])


@pytest.fixture
def allocated(monkeypatch):
    """The plan with targets allocated to 呼和浩特 and 包头 for I09 (任务分解)."""
    import pipelines.reference as reference

    ref = load_reference()
    alloc = pd.DataFrame([{"unit_code": "150100", "indicator_code": "I09", "target": 50.0, "baseline": 0.0},
                          {"unit_code": "150200", "indicator_code": "I09", "target": 110.0, "baseline": 0.0}])
    ref2 = dataclasses.replace(ref, plan=dataclasses.replace(ref.plan, allocations=alloc))
    monkeypatch.setattr(reference, "load_reference", lambda: ref2)
    return ref2


def test_completion_against_allocated_target(db, allocated):
    m = run(db, Q.unit_indicator_matrix, AS_OF).set_index(["unit_code", "indicator_code"])
    # 呼和浩特 40/50 = 80% at 时间进度 50%: 超前; 包头 55/110 = 50%: exactly on time, 超前
    assert m.loc[("150100", "I09"), "completion_rate"] == pytest.approx(0.8)
    assert m.loc[("150100", "I09"), "gap_pp"] == pytest.approx(30.0)
    assert m.loc[("150100", "I09"), "status"] == "超前"
    assert m.loc[("150200", "I09"), "completion_rate"] == pytest.approx(0.5)
    assert pd.isna(m.loc[("150300", "I09"), "completion_rate"])
    assert m.loc[("150300", "I09"), "status"] == "未设目标"
    assert Q.allocated_indicators() == ["I09"]
    metric = run(db, Q.unit_metric, AS_OF, "rate", "I09").set_index("unit_code")
    assert metric.loc["150100", "metric"] == pytest.approx(80.0)
    assert metric.loc["150100", "display"] == "80.0%"
    assert metric.loc["150300", "display"] == "未分解目标" and pd.isna(metric.loc["150300", "metric"])
    # the unit view's table: progress_table against the unit's own target agrees
    pt = run(db, progress_table, AS_OF, unit="150100", ref=allocated).set_index("indicator_code")
    assert pt.loc["I09", "target"] == 50 and pt.loc["I09", "completion_rate"] == pytest.approx(0.8)


def test_no_allocation_means_no_allocated_indicators():
    assert Q.allocated_indicators() == []


# --------------------------------------------------------------------------- what the map shows
def test_unit_metric_value_share_and_items(db):
    v = run(db, Q.unit_metric, AS_OF, "value", "I09").set_index("unit_code")
    assert v.loc["150200", "metric"] == 55 and v.loc["150200", "display"] == "55家"
    assert v.loc["150300", "display"] == "36家" and "沿用" in v.loc["150300", "detail"]
    assert pd.isna(v.loc["152900", "metric"]) and v.loc["152900", "display"] == "未报送"
    assert v.loc["150200", "rank"] == 1 and v.loc["150100", "rank"] == 2 and v.loc["150000", "rank"] == 4
    s = run(db, Q.unit_metric, AS_OF, "share", "I09").set_index("unit_code")
    assert s.loc["150000", "metric"] == pytest.approx(20 / 151 * 100)
    assert s.loc["150000", "display"] == f"{20 / 151 * 100:.1f}%"
    assert s["metric"].sum() == pytest.approx(100.0)
    it = run(db, Q.unit_metric, AS_OF, "items", sectors=("S04",)).set_index("unit_code")
    want = _expected_counts(AS_OF, sectors=("S04",))
    assert {u: (None if pd.isna(x) else int(x)) for u, x in it["metric"].items()} == want
    assert it.loc["150200", "display"] == "2项" and it.loc["152900", "display"] == "未报送"


# --------------------------------------------------------------------------- trends
def test_region_series_equals_progress_table_at_every_date(db):
    dates = [date(2018, 6, 30), date(2018, 12, 31), date(2019, 3, 31), AS_OF, date(2019, 12, 31)]
    s = run(db, Q.region_series, dates)
    assert sorted(set(s["as_of"])) == dates
    cols = ["value", "units_current", "units_carried", "units_reporting", "completion_rate", "time_progress",
            "gap_pp", "status"]
    for d in dates:
        got = s[s["as_of"] == d].set_index("indicator_code")
        want = run(db, progress_table, d).set_index("indicator_code")
        assert (got["status"] == want["status"]).all(), d
        for c in cols[:-1]:
            g, w = got[c].astype("float"), want[c].astype("float")
            assert ((g.isna() & w.isna()) | (g - w).abs().lt(1e-9)).all(), (d, c)


def test_region_series_with_units_equals_progress_table_for_those_units(db):
    s = run(db, Q.region_series, [AS_OF], units=["150100", "150300"]).set_index("indicator_code")
    want = run(db, progress_table, AS_OF, units=["150100", "150300"]).set_index("indicator_code")
    assert int(s.loc["I09", "value"]) == int(want.loc["I09", "value"]) == 76
    assert s.loc["I09", "units_missing"] == 0
    assert s.loc["I04", "units_missing"] == 1 and s.loc["I04", "missing_note"] == "乌海市"


def test_region_series_names_carried_and_missing_units(db):
    s = run(db, Q.region_series).set_index(["as_of", "indicator_code"])
    assert sorted({d for d, _ in s.index}) == [date(2018, 12, 31), AS_OF]  # period ends with data
    r = s.loc[(AS_OF, "I09")]
    assert int(r["value"]) == 151
    assert (r["units_current"], r["units_carried"], r["units_missing"]) == (3, 1, 13 - 4)
    assert r["carried_note"] == "乌海市（沿用2018年下半年）"
    assert "阿拉善盟" in r["missing_note"] and "乌海市" not in r["missing_note"]
    assert r["planned_value"] == pytest.approx(90.0)  # 180 x 50%
    early = s.loc[(date(2018, 12, 31), "I09")]
    assert int(early["value"]) == 66 and early["planned_value"] == pytest.approx(60.0)
    assert run(db, Q.region_series, until=date(2018, 6, 30)).empty


@pytest.fixture
def verdicts_on_few_units(monkeypatch):
    """data/settings.yaml's verdict_min_coverage lowered to 0: the fixture's 4 of 13 units suffice."""
    monkeypatch.setitem(load_reference().settings, "verdict_min_coverage", 0.0)


def test_projection_without_complete_coverage_gives_no_verdict(db):
    p = run(db, Q.trend_projection, AS_OF).set_index("indicator_code")
    r = p.loc["I04"]  # 3 of 13 units have figures
    assert r["reaches_avg"] is None and bool(r["partial"])
    assert "将无法按期完成" not in r["sentence"] and "暂不判断" in r["sentence"]


def test_projection_average_and_last_year_pace(db, verdicts_on_few_units):
    p = run(db, Q.trend_projection, AS_OF).set_index("indicator_code")
    r = p.loc["I09"]
    # average pace: 151 at 50% of the plan -> 302 at the end, 167.8% of 180
    assert r["proj_avg"] == 302 and r["reaches_avg"]
    assert r["sentence"] == ("全区院士专家工作站：按目前进度（2018年1月以来的平均速度），预计到2020年底可达到约302家，"
                             "达到目标的167.8%。")
    # a year earlier (2018-06-30) nothing had been reported -> no last-year pace
    assert r["proj_recent"] is None or pd.isna(r["proj_recent"])
    assert "2018年6月底尚无报送数据" in r["sentence_recent"]
    i04 = p.loc["I04"]
    # 13 at 50% -> 26 of 60: 「将无法按期完成，还差约34项」
    assert i04["proj_avg"] == 26 and not i04["reaches_avg"]
    assert i04["sentence"].endswith("预计到2020年底可达到约26项，达到目标的43.3%，将无法按期完成，还差约34项。")
    assert "暂无报送数据" in p.loc["I01", "sentence"]


def test_projection_last_year_pace(db, verdicts_on_few_units):
    p = run(db, Q.trend_projection, date(2019, 12, 31)).set_index("indicator_code")
    r = p.loc["I09"]
    # value at 2019-12-31 = 151 (all carried), a year before (2018-12-31) = 66; tp 2/3 vs 1/3
    # last-year pace: 151 + (151 - 66) / (1/3) x (1/3) = 236
    assert r["value_recent_from"] == 66 and r["proj_recent"] == 236
    assert "最近一年（2018年底至2019年底）" in r["sentence_recent"]
    # average pace: 151 / (2/3) = 226.5, rounded to a whole count
    assert r["proj_avg"] in (226, 227) and r["reaches_avg"]


def test_projection_at_plan_end_states_the_result(db):
    p = run(db, Q.trend_projection, date(2020, 12, 31)).set_index("indicator_code")
    assert bool(p.loc["I09", "finished"])
    assert p.loc["I09", "sentence"] == "截至2020年底，全区院士专家工作站实际达到151家，完成目标的83.9%，未完成目标，还差29家。"


def test_projection_for_some_units_gives_no_verdict_against_the_region_target(db):
    p = run(db, Q.trend_projection, AS_OF, units=["150100"], scope="呼和浩特市").set_index("indicator_code")
    s = p.loc["I09", "sentence"]
    # 40 at 50% -> 80, i.e. 44.4% of the region's 180: said as a share, not as 「将无法按期完成」
    assert s == "呼和浩特市院士专家工作站：按目前进度（2018年1月以来的平均速度），预计到2020年底可达到约80家，相当于全区目标的44.4%。"
