"""Progress arithmetic against hand-computed cases (DOMAIN.md, 'Progress')."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date

import pytest

from pipelines.progress import (
    indicator_sentence, progress_table, reference_end, return_basis, sentences_for, status_of,
)
from pipelines.normalise import time_progress
from pipelines.reference import load_reference
from pipelines.store import connect
from tests.factories import load_values

REPO = __import__("pathlib").Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path):
    return tmp_path / "p.duckdb"


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
    t = table_at(db, date(2019, 6, 30))
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
    ref2 = dataclasses.replace(ref, plan=dataclasses.replace(ref.plan, indicators=ind))
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


def test_progress_cli_json_matches_function(db):
    load_values(db, "150100", "2019H1", {"I09": 40})
    load_values(db, "150300", "2018H2", {"I09": 5})
    out = subprocess.run([sys.executable, "-m", "pipelines.progress", "--db", str(db), "--as-of", "2019-06-30",
                          "--json"], capture_output=True, text=True, cwd=REPO, check=True)
    doc = json.loads(out.stdout)
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
