"""Progress arithmetic against hand-computed cases (DOMAIN.md, 'Progress')."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date

import pytest

from pipelines.progress import (
    carried_figures, coverage_phrase, indicator_sentence, progress_table, reference_end, return_basis,
    sentences_for, status_of, summary_sentence,
)
from pipelines.normalise import time_progress
from pipelines.reference import load_reference
from pipelines.store import connect
from tests.factories import load_values

REPO = __import__("pathlib").Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path):
    return tmp_path / "p.duckdb"


def lowered(ref=None, share=0.0):
    """The reference with data/settings.yaml's verdict_min_coverage lowered (any unit's figures suffice)."""
    ref = ref or load_reference()
    return dataclasses.replace(ref, settings={**ref.settings, "verdict_min_coverage": share})


def load_everyone_else(db, period, values, but=()):
    """Every other unit reports these values too (complete coverage for a region verdict)."""
    for code in load_reference().unit_codes:
        if code not in but:
            load_values(db, code, period, values)


def table_at(db, as_of, **kw):
    with connect(db) as con:
        return progress_table(con, as_of, **kw).set_index("indicator_code")


def test_time_progress_is_18_of_36_at_mid_2019():
    assert time_progress(date(2018, 1, 1), date(2020, 12, 31), date(2019, 6, 30)) == 0.5


def test_time_progress_counts_days_inside_a_month():
    # 17 full months + 15/30 of June 2019
    assert time_progress(date(2018, 1, 1), date(2020, 12, 31), date(2019, 6, 15)) == pytest.approx(17.5 / 36)


@pytest.mark.parametrize("rate,gap,expected", [
    (1.0, -30.0, "已完成"), (1.2, 5.0, "已完成"), (0.999, 0.0, "超前"), (0.6, 0.0, "超前"),
    (0.5, -0.01, "略滞后"), (0.4, -10.0, "略滞后"), (0.39, -10.01, "滞后"), (None, None, "无数据"),
])
def test_status_boundaries(rate, gap, expected):
    assert status_of(rate, gap) == expected


def test_region_value_is_sum_over_units_with_current_and_carried_counts(db):
    load_values(db, "150100", "2019H1", {"I09": 40, "I04": 10})
    load_values(db, "150200", "2019H1", {"I09": 50})
    load_values(db, "150300", "2018H2", {"I09": 36})  # did not report 2019H1: carried
    t = table_at(db, date(2019, 6, 30), ref=lowered())  # verdicts on 3 of 13 units only with the setting
    row = t.loc["I09"]
    assert int(row["value"]) == 126
    assert row["units_current"] == 2 and row["units_carried"] == 1
    assert row["completion_rate"] == pytest.approx(126 / 180)
    assert row["time_progress"] == 0.5
    assert row["gap_pp"] == pytest.approx(20.0)
    assert row["status"] == "超前"
    assert t.loc["I04", "value"] == 10 and t.loc["I04", "units_current"] == 1
    assert t.loc["I01", "status"] == "无数据"


def test_briefing_sentence_matches_domain_example(db):
    load_values(db, "150100", "2019H1", {"I09": 126})
    load_everyone_else(db, "2019H1", {"I09": 0}, but=("150100",))
    ref = load_reference()
    with connect(db) as con:
        t = progress_table(con, date(2019, 6, 30))
    row = next(r for r in t.itertuples() if r.indicator_code == "I09")
    assert indicator_sentence(row, date(2019, 6, 30), "全区", sentences_for(ref)) == \
        "截至2019年6月底，全区累计建成院士专家工作站126家，完成目标的70.0%，高于时间进度20.0个百分点。"


def test_unit_value_comes_from_latest_period_that_reported_the_indicator(db):
    load_values(db, "150100", "2018H2", {"I09": 30, "I07": 4})
    load_values(db, "150100", "2019H1", {"I09": 35})  # I07 left blank this time
    t = table_at(db, date(2019, 6, 30))
    assert t.loc["I09", "value"] == 35 and t.loc["I09", "units_current"] == 1
    assert t.loc["I07", "value"] == 4 and t.loc["I07", "units_carried"] == 1
    # an as-of date before the later return ignores it
    assert table_at(db, date(2018, 12, 31)).loc["I09", "value"] == 30


def test_unit_with_no_return_is_missing_from_basis(db):
    load_values(db, "150100", "2019H1", {"I09": 3})
    load_values(db, "150200", "2018H2", {"I09": 2})
    with connect(db) as con:
        b = return_basis(con, date(2019, 6, 30)).set_index("unit_code")
    assert b.loc["150100", "state"] == "当期"
    assert b.loc["150200", "state"] == "结转"
    assert b.loc["152900", "state"] == "缺报"
    assert len(b) == 13


def test_stock_indicator_with_baseline(db):
    ref = load_reference()
    ind = ref.plan.indicators.copy()
    ind.loc[ind["code"] == "I09", "baseline"] = 60.0
    ref2 = lowered(dataclasses.replace(ref, plan=dataclasses.replace(ref.plan, indicators=ind)))
    load_values(db, "150100", "2019H1", {"I09": 120})
    t = table_at(db, date(2019, 6, 30), ref=ref2)
    # (120 - 60) / (180 - 60) = 50%, exactly on time
    assert t.loc["I09", "baseline"] == 60
    assert t.loc["I09", "completion_rate"] == pytest.approx(0.5)
    assert t.loc["I09", "gap_pp"] == pytest.approx(0.0)
    assert t.loc["I09", "status"] == "超前"


def test_reference_end_follows_reporting_frequency():
    assert reference_end(date(2019, 9, 30), "H") == date(2019, 6, 30)
    assert reference_end(date(2019, 6, 30), "H") == date(2019, 6, 30)
    assert reference_end(date(2019, 5, 1), "H") == date(2018, 12, 31)
    assert reference_end(date(2019, 9, 30), "Q") == date(2019, 9, 30)
    assert reference_end(date(2019, 9, 29), "Q") == date(2019, 6, 30)


def test_resubmission_replaces_figures(db):
    load_values(db, "150100", "2019H1", {"I09": 10})
    load_values(db, "150100", "2019H1", {"I09": 12}, tag="v2")
    t = table_at(db, date(2019, 6, 30))
    assert t.loc["I09", "value"] == 12


def progress_cli(db, as_of: str, *extra: str) -> dict:
    """``python -m pipelines.progress --json`` as a user runs it."""
    out = subprocess.run([sys.executable, "-m", "pipelines.progress", "--db", str(db), "--as-of", as_of, "--json",
                          *extra], capture_output=True, text=True, cwd=REPO, check=True)
    return json.loads(out.stdout)


def test_progress_cli_json_matches_function(db):
    load_values(db, "150100", "2019H1", {"I09": 40})
    load_values(db, "150300", "2018H2", {"I09": 5})
    doc = progress_cli(db, "2019-06-30")
    rows = {r["indicator_code"]: r for r in doc["indicators"]}
    assert set(rows["I09"]) >= {"indicator_code", "value", "baseline", "target", "completion_rate", "time_progress",
                                "gap_pp", "status", "units_current", "units_carried"}
    assert rows["I09"]["value"] == 45 and rows["I09"]["units_current"] == 1 and rows["I09"]["units_carried"] == 1
    assert rows["I09"]["time_progress"] == 0.5
    assert rows["I01"]["value"] is None and rows["I01"]["status"] == "无数据"
    unit = subprocess.run([sys.executable, "-m", "pipelines.progress", "--db", str(db), "--as-of", "2019-06-30",
                           "--unit", "150100", "--json"], capture_output=True, text=True, cwd=REPO, check=True)
    assert {r["indicator_code"]: r for r in json.loads(unit.stdout)["indicators"]}["I09"]["value"] == 40


def test_progress_cli_rejects_bad_date(db):
    out = subprocess.run([sys.executable, "-m", "pipelines.progress", "--db", str(db), "--as-of", "2019/13/01"],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 2 and "无法识别日期" in out.stderr


# ---------------------------------------------------------------------------
# Current vs carried forward (DOMAIN.md "Values at an as-of date"): current only from the return
# for the period that contains the as-of date.

def test_quarter_end_half_year_reporter_is_carried_quarterly_reporter_is_current(db):
    load_values(db, "150100", "2019H1", {"I09": 40})  # half-year reporter: its latest return ends 6-30
    load_values(db, "150200", "2019Q3", {"I09": 50})  # quarterly reporter: 2019Q3 contains 9-30
    t = table_at(db, date(2019, 9, 30))
    r = t.loc["I09"]
    assert (r["units_current"], r["units_carried"], r["units_reporting"], r["units_missing"]) == (1, 1, 2, 11)
    assert r["latest_period_end"] == date(2019, 9, 30) and r["latest_period"] == "2019Q3"
    assert r["earliest_period_end"] == date(2019, 6, 30)
    with connect(db) as con:
        b = return_basis(con, date(2019, 9, 30)).set_index("unit_code")
        carried = carried_figures(con, date(2019, 9, 30))
    assert b.loc["150100", "state"] == "结转" and b.loc["150200", "state"] == "当期"
    assert b.loc["150300", "state"] == "缺报"
    assert carried[["unit_code", "period_code"]].values.tolist() == [["150100", "2019H1"]]


def test_at_half_year_end_the_half_year_return_is_current(db):
    load_values(db, "150100", "2019H1", {"I09": 40})
    load_values(db, "150200", "2019Q2", {"I09": 10})  # a quarterly return ending the same day
    r = table_at(db, date(2019, 6, 30)).loc["I09"]
    assert (r["units_current"], r["units_carried"]) == (2, 0)


def test_mid_period_every_figure_is_carried_and_the_sentence_says_from_when(db):
    load_everyone_else(db, "2019H1", {"I09": 10})
    ref = load_reference()
    with connect(db) as con:
        t = progress_table(con, date(2019, 8, 15))
        basis = return_basis(con, date(2019, 8, 15))
    r = next(x for x in t.itertuples() if x.indicator_code == "I09")
    assert (r.units_current, r.units_carried, r.units_missing) == (0, 13, 0)
    assert r.latest_period_end == date(2019, 6, 30)
    s = indicator_sentence(r, date(2019, 8, 15), "全区", sentences_for(ref))
    assert s.startswith("截至2019年8月15日（数据截至6月30日），全区累计建成院士专家工作站130家，完成目标的72.2%")
    assert set(basis["state"]) == {"结转"}
    head = summary_sentence(t, date(2019, 8, 15), "全区", coverage_phrase(basis))
    assert head.startswith("截至2019年8月15日（数据截至6月30日），全区14项指标中，")
    assert "13个填报单位中0个当期报送、13个沿用上期" in head


def test_headline_at_quarter_end_says_figures_are_from_june(db):
    load_everyone_else(db, "2019H1", {"I09": 10, "I04": 1})
    with connect(db) as con:
        t = progress_table(con, date(2019, 9, 30))
    head = summary_sentence(t, date(2019, 9, 30))
    assert head.startswith("截至2019年9月底（数据截至6月30日），全区14项指标中，")
    # data from an earlier year names the year
    with connect(db) as con:
        t2 = progress_table(con, date(2020, 3, 31))
    assert summary_sentence(t2, date(2020, 3, 31)).startswith("截至2020年3月底（数据截至2019年6月30日）")


def test_with_units_missing_region_gets_figures_but_no_verdict(db):
    load_values(db, "150100", "2019H1", {"I09": 10, "I04": 1})  # 1 of 13 units reported
    with connect(db) as con:
        t = progress_table(con, date(2019, 6, 30))
    r = t.set_index("indicator_code").loc["I09"]
    assert int(r["value"]) == 10 and r["status"] == "数据不全"
    assert (r["units_reporting"], r["units_total"], r["units_missing"]) == (1, 13, 12)
    assert set(t["status"]) == {"数据不全", "无数据"}
    head = summary_sentence(t, date(2019, 6, 30))
    assert "滞后" not in head and "超前" not in head
    assert "13个填报单位中的1个" in head and "暂不判断" in head
    sent = indicator_sentence(next(x for x in t.itertuples() if x.indicator_code == "I09"), date(2019, 6, 30),
                              "全区", sentences_for(load_reference()))
    assert "低于时间进度" not in sent and "13个填报单位中的1个有数字，12个缺报" in sent


def test_setting_lowers_the_coverage_needed_for_a_verdict(db):
    for code in load_reference().unit_codes[:10]:
        load_values(db, code, "2019H1", {"I09": 1})
    assert table_at(db, date(2019, 6, 30)).loc["I09", "status"] == "数据不全"
    assert table_at(db, date(2019, 6, 30), ref=lowered(share=0.75)).loc["I09", "status"] == "滞后"  # 10 >= 9.75
    assert table_at(db, date(2019, 6, 30), ref=lowered(share=0.8)).loc["I09", "status"] == "数据不全"  # 10 < 10.4


def test_carried_figures_count_as_coverage(db):
    load_everyone_else(db, "2019H1", {"I09": 20}, but=("152900",))
    load_values(db, "152900", "2018H2", {"I09": 3})
    r = table_at(db, date(2019, 6, 30)).loc["I09"]
    assert (r["units_current"], r["units_carried"], r["units_missing"]) == (12, 1, 0)
    assert r["status"] in ("超前", "已完成", "略滞后", "滞后")


def test_one_unit_scope_is_complete_with_its_own_return(db):
    load_values(db, "150100", "2019H1", {"I09": 10})
    r = table_at(db, date(2019, 6, 30), unit="150100").loc["I09"]
    assert (r["units_reporting"], r["units_total"]) == (1, 1)
    assert r["status"] == "未设目标"  # no allocated target: figures only


def test_unit_filter_chart_has_no_time_line(db):
    from pipelines.figures import progress_bars

    load_values(db, "150100", "2019H1", {"I09": 10})
    sub = table_at(db, date(2019, 6, 30), units=["150100"]).reset_index()
    assert set(sub.loc[sub["value"].notna(), "status"]) == {"不作判断"}
    fig = progress_bars(sub, date(2019, 6, 30), "呼和浩特市")
    assert not fig.layout.shapes  # no 时间进度 line against a share of the region's target
    full = table_at(db, date(2019, 6, 30)).reset_index()
    assert len(progress_bars(full, date(2019, 6, 30)).layout.shapes) == 1


def test_progress_cli_json_says_what_the_figures_rest_on(db):
    load_values(db, "150100", "2019H1", {"I09": 40})
    load_values(db, "150200", "2019Q3", {"I09": 5})
    doc = progress_cli(db, "2019-09-30")
    assert (doc["units_total"], doc["units_current"], doc["units_carried"], doc["units_missing"]) == (13, 1, 1, 11)
    assert doc["data_as_of"] == "2019-09-30"
    i09 = {r["indicator_code"]: r for r in doc["indicators"]}["I09"]
    assert list(i09)[:10] == ["indicator_code", "value", "baseline", "target", "completion_rate", "time_progress",
                              "gap_pp", "status", "units_current", "units_carried"]
    assert i09["latest_period_end"] == "2019-09-30" and i09["latest_period"] == "2019Q3"
    assert i09["earliest_period_end"] == "2019-06-30"
    assert (i09["units_current"], i09["units_carried"], i09["units_missing"]) == (1, 1, 11)
    assert i09["status"] == "数据不全"
    assert doc["headline"].startswith("截至2019年9月底，全区")


def test_charts_say_when_figures_are_older_and_draw_no_time_line_for_a_part_of_the_region(db):
    from pipelines import queries as Q
    from pipelines.figures import progress_bars, trend_chart, trend_small_multiples

    load_everyone_else(db, "2019H1", {"I09": 10})
    full = table_at(db, date(2019, 9, 30)).reset_index()
    assert "数据截至2019年6月30日" in progress_bars(full, date(2019, 9, 30)).layout.title.subtitle.text
    with connect(db) as con:
        part = Q.region_series(con, units=["150100"])
        whole = Q.region_series(con)
    ref = load_reference()
    one = part[part["indicator_code"] == "I09"]
    names = {tr.name for tr in trend_chart(one, None, ref.plan.start, ref.plan.end, date(2019, 6, 30), "呼和浩特市").data}
    assert not any("时间进度" in (n or "") for n in names)
    assert any("时间进度" in (tr.name or "") for tr in trend_chart(
        whole[whole["indicator_code"] == "I09"], None, ref.plan.start, ref.plan.end, date(2019, 6, 30)).data)
    grid = trend_small_multiples(part, date(2019, 6, 30), "呼和浩特市")
    assert not any(tr.name == "时间进度" for tr in grid.data) and "占全区目标" in grid.layout.title.text
