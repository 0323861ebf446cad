"""Reporting status (报送情况): the unit x period matrix, rates, reminders and the page."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipelines import demo
from pipelines.ingest import ingest_bytes
from pipelines.normalise import Period, parse_period
from pipelines.reference import load_reference
from pipelines.reporting import (
    expected_periods, rates, reminder_texts, reminders, reporting_matrix, reporting_tables,
)
from pipelines.store import connect, init_db
from pipelines.template import write_return
from tests.dbfixtures import demo_db_copy
from tests.factories import load_values

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2019, 3, 1)  # 2018H1 and 2018H2 have ended; deadlines 2018-07-15 and 2019-01-15


def at(y, m, d, hh=10):
    return datetime(y, m, d, hh, 0)


@pytest.fixture
def db(tmp_path):
    """A small history: on time, late, missing, corrected versions."""
    path = tmp_path / "r.duckdb"
    load_values(path, "150100", "2018H1", {"I04": 1}, received_at=at(2018, 7, 10))
    load_values(path, "150100", "2018H2", {"I04": 2}, received_at=at(2019, 1, 15, 23))  # the deadline day itself
    load_values(path, "150200", "2018H1", {"I04": 1}, received_at=at(2018, 7, 16))      # one day late
    # late first version, corrected in time for nothing: still late (first arrival counts)
    load_values(path, "150400", "2018H1", {"I04": 1}, received_at=at(2018, 7, 20))
    load_values(path, "150400", "2018H1", {"I04": 2}, received_at=at(2018, 8, 1), tag="v2")
    # on-time first version, corrected after the deadline: stays on time
    load_values(path, "150500", "2018H1", {"I04": 1}, received_at=at(2018, 7, 1))
    load_values(path, "150500", "2018H1", {"I04": 3}, received_at=at(2018, 9, 1), tag="v2")
    return path


def matrix(db, **kw) -> pd.DataFrame:
    with connect(db) as con:
        return reporting_matrix(con, kw.pop("today", TODAY), **kw)


def cell(m: pd.DataFrame, unit: str, period: str) -> pd.Series:
    hit = m[(m["unit_code"] == unit) & (m["period_code"] == period)]
    assert len(hit) == 1, (unit, period)
    return hit.iloc[0]


def test_every_unit_expected_for_every_ended_period(db):
    m = matrix(db)
    ref = load_reference()
    assert m["unit_code"].unique().tolist() == ref.unit_codes
    assert m["period_code"].unique().tolist() == ["2018H1", "2018H2"]
    assert len(m) == len(ref.unit_codes) * 2
    assert cell(m, "150100", "2018H1")["deadline"] == date(2018, 7, 15)


def test_states_on_time_late_missing(db):
    m = matrix(db)
    assert cell(m, "150100", "2018H1")["state"] == "按时"
    assert cell(m, "150100", "2018H2")["state"] == "按时"  # 23:00 on the deadline day is on time
    late = cell(m, "150200", "2018H1")
    assert (late["state"], late["days_late"]) == ("逾期", 1)
    miss = cell(m, "150300", "2018H2")
    assert miss["state"] == "缺报"
    assert miss["days_overdue"] == (TODAY - date(2019, 1, 15)).days
    assert pd.isna(miss["submission_id"])


def test_first_arrival_decides_timeliness_not_the_correction(db):
    m = matrix(db)
    corrected_late = cell(m, "150400", "2018H1")
    assert corrected_late["state"] == "逾期"
    assert (corrected_late["version"], corrected_late["n_versions"], corrected_late["days_late"]) == (2, 2, 5)
    assert corrected_late["received_at"] == pd.Timestamp(at(2018, 8, 1))  # the current version is shown
    assert cell(m, "150500", "2018H1")["state"] == "按时"


def test_deadline_override_changes_states(db):
    assert cell(matrix(db, deadline_days=30), "150200", "2018H1")["state"] == "按时"
    assert cell(matrix(db, deadline_days=30), "150400", "2018H1")["state"] == "按时"
    short = matrix(db, deadline_days=5)
    assert cell(short, "150100", "2018H1")["state"] == "逾期"
    assert cell(short, "150100", "2018H1")["deadline"] == date(2018, 7, 5)
    assert cell(short, "150500", "2018H1")["state"] == "按时"  # 1 July


def test_completeness_and_timeliness_per_period_and_unit(db):
    m = matrix(db)
    n = len(load_reference().unit_codes)
    per = rates(m, "period").set_index("period_code")
    assert per.loc["2018H1", ["expected", "received", "on_time", "late", "missing"]].tolist() == [n, 4, 2, 2, n - 4]
    assert per.loc["2018H1", "completeness"] == pytest.approx(4 / n)
    assert per.loc["2018H1", "timeliness"] == pytest.approx(2 / n)
    assert per.loc["2018H2", "completeness"] == pytest.approx(1 / n)
    unit = rates(m, "unit").set_index("unit_code")
    assert unit.loc["150100", ["completeness", "timeliness"]].tolist() == [1.0, 1.0]
    assert unit.loc["150200", ["completeness", "timeliness"]].tolist() == [0.5, 0.0]
    assert unit.loc["150300", ["completeness", "timeliness"]].tolist() == [0.0, 0.0]
    total = rates(m, "all").iloc[0]
    assert (total["expected"], total["received"], total["on_time"]) == (2 * n, 5, 3)


def test_before_the_deadline_a_return_not_yet_sent_is_pending_not_missing(db):
    m = matrix(db, today=date(2019, 1, 10))
    assert cell(m, "150300", "2018H2")["state"] == "待报"
    assert cell(m, "150300", "2018H1")["state"] == "缺报"
    todo = reminders(m)
    assert "2018H2" not in set(todo["period_code"])
    assert rates(m, "period").set_index("period_code").loc["2018H2", "pending"] == len(load_reference().unit_codes) - 1


def test_filters_units_and_period_range(db):
    m = matrix(db, units=("150200", "150300"), start=date(2018, 12, 31))
    assert m[["unit_code", "period_code"]].values.tolist() == [["150200", "2018H2"], ["150300", "2018H2"]]


def test_expected_periods_follow_plan_and_today():
    assert expected_periods(date(2018, 6, 29)) == []
    assert [p.code for p in expected_periods(date(2018, 6, 30))] == ["2018H1"]
    # after the plan's end: all six half-years, none after 2020
    assert [p.code for p in expected_periods(date(2023, 5, 1))] == [
        "2018H1", "2018H2", "2019H1", "2019H2", "2020H1", "2020H2"]


def test_warnings_flag_and_rejected_attempts_through_the_real_pipeline(tmp_path):
    db = tmp_path / "w.duckdb"
    p = Period("H", 2018, 1)
    # 表1 says 3 projects, 表2 lists none: loaded with a warning
    warn = write_return(unit_code="150600", period=p, values={"I04": 3}, validation=False)
    r = ingest_bytes(db, warn, "w.xlsx", today=TODAY, received_at=at(2018, 7, 5))
    assert r.status == "loaded" and r.warnings
    # a negative number: rejected, but its unit and period were readable
    bad = write_return(unit_code="150700", period=p, values={"I04": -1}, validation=False)
    r = ingest_bytes(db, bad, "bad.xlsx", today=TODAY, received_at=at(2018, 7, 6))
    assert r.status == "rejected"
    m = matrix(db)
    flagged = cell(m, "150600", "2018H1")
    assert (flagged["state"], flagged["flag"], bool(flagged["has_warnings"])) == ("按时", "有提示", True)
    refused = cell(m, "150700", "2018H1")
    assert (refused["state"], refused["rejected_attempts"]) == ("缺报", 1)
    assert cell(m, "150100", "2018H1")["flag"] == ""


def test_reminder_list_and_text(db):
    todo = reminders(matrix(db))
    assert set(todo["state"]) == {"缺报", "逾期"}
    assert todo["state"].iloc[0] == "缺报"  # missing first
    late = todo[(todo["unit_code"] == "150200") & (todo["period_code"] == "2018H1")].iloc[0]
    assert (late["state"], late["days_overdue"]) == ("逾期", 1)
    texts = reminder_texts(todo, due=date(2019, 3, 8), today=TODAY).set_index("unit_code")["text"]
    assert texts["150300"].startswith("请乌海市于3月8日前补报2018年上半年、2018年下半年报表")
    assert "比截止日期（2018年7月15日）晚1天" in texts["150200"]
    assert texts["150200"].startswith("请包头市于3月8日前补报2018年下半年报表")
    assert "150100" not in texts.index  # all on time, nothing to remind


def test_page_tables_say_what_happened_per_cell(db):
    with connect(db) as con:
        t = reporting_tables(con, TODAY, units=("150100", "150200", "150400", "150500"))
    grid = t["grid"]
    assert grid.columns.tolist() == ["2018年上半年", "2018年下半年"]
    assert grid.loc["包头市", "2018年上半年"] == "逾期 7月16日（晚1天）"
    assert grid.loc["赤峰市", "2018年上半年"] == "逾期 7月20日（晚5天） 第2版"  # corrected, still late
    assert grid.loc["通辽市", "2018年上半年"] == "按时 7月1日 第2版"  # corrected after the deadline
    assert grid.loc["包头市", "2018年下半年"] == f"缺报（已逾期{(TODAY - date(2019, 1, 15)).days}天）"
    assert t["overall"].iloc[0][["expected", "received", "on_time"]].tolist() == [8, 5, 3]
    assert t["listing"][["单位", "报告期", "情况", "报送截止日期"]].values.tolist()[0] == [
        "包头市", "2018年下半年", "缺报", "2019年1月15日"]
    assert t["rate_unit"].set_index("单位").loc["呼和浩特市", ["完整率", "及时率"]].tolist() == ["100.0%", "100.0%"]


# --------------------------------------------------------------------------
# The page
def run_page(monkeypatch, db) -> AppTest:
    monkeypatch.setenv("KJHZ_DB", str(db))
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    app.run()
    app.switch_page("pages/reporting.py")
    app.run()
    assert not app.exception, app.exception
    return app


def _listing(app: AppTest) -> pd.DataFrame:
    for df in app.dataframe:
        v = df.value
        if isinstance(v, pd.DataFrame) and "情况" in v.columns:
            return v
    raise AssertionError("催报清单 not shown")


def test_page_on_demo_lists_the_missing_and_late_returns(tmp_path, monkeypatch):
    app = run_page(monkeypatch, demo_db_copy(tmp_path))
    ref = load_reference()
    listing = _listing(app)
    rows = set(map(tuple, listing[["单位", "报告期", "情况"]].values.tolist()))
    assert ("阿拉善盟", "2019年下半年", "缺报") in rows
    for (unit, period) in demo.LATE:
        assert (ref.unit_name(unit), parse_period(period).label, "逾期") in rows
    assert len(rows) == len(demo.MISSING) + len(demo.LATE)
    assert not app.code  # the reminder texts are drawn on demand
    app.toggle(key="rep_texts").set_value(True).run()
    codes = " ".join(c.value for c in app.code)
    assert "请阿拉善盟于" in codes and "补报2019年下半年报表" in codes
    assert len(app.code) == listing["单位"].nunique()  # one copyable text per unit
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["缺报"] == "1 份" and metrics["逾期"] == f"{len(demo.LATE)} 份"
    assert [c for c in app.get("plotly_chart")]

    # a longer deadline: every demo return was at most 40 days late
    app.number_input(key="rep_deadline_days").set_value(45).run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["逾期"] == "0 份" and metrics["缺报"] == "1 份"
    assert set(_listing(app)["情况"]) == {"缺报"}


def test_page_on_empty_database_explains_what_to_do(tmp_path, monkeypatch):
    db = tmp_path / "empty.duckdb"
    init_db(db)
    app = run_page(monkeypatch, db)
    assert any("还没有任何报表报送记录" in i.value for i in app.info)
    assert not app.dataframe


def open_with_url(monkeypatch, db, **params) -> AppTest:
    """The page opened from a pasted link (query parameters set before the first run)."""
    monkeypatch.setenv("KJHZ_DB", str(db))
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    for k, v in params.items():
        app.query_params[k] = v
    app.switch_page("pages/reporting.py")
    app.run()
    assert not app.exception, app.exception
    return app


def _param(app: AppTest, name: str):
    v = app.query_params.get(name)
    return v[0] if isinstance(v, list) else v


def test_period_range_and_deadline_travel_in_the_url(tmp_path, monkeypatch):
    app = open_with_url(monkeypatch, demo_db_copy(tmp_path), periods="2019H1-2020H1", deadline_days="20")
    ref = load_reference()
    assert [p.code for p in app.select_slider(key="rep_periods").value] == ["2019H1", "2020H1"]
    assert app.number_input(key="rep_deadline_days").value == 20
    in_range = {"2019H1", "2019H2", "2020H1"}
    late = {(ref.unit_name(u), parse_period(p).label) for (u, p), d in demo.LATE.items() if p in in_range and d > 20}
    missing = {(ref.unit_name(u), parse_period(p).label) for (u, p) in demo.MISSING if p in in_range}
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["应报"] == f"{len(ref.unit_codes) * 3} 份"
    assert metrics["逾期"] == f"{len(late)} 份" and metrics["缺报"] == f"{len(missing)} 份"
    listing = _listing(app)
    assert set(map(tuple, listing[["单位", "报告期"]].values.tolist())) == late | missing
    assert _param(app, "periods") == "2019H1-2020H1" and _param(app, "deadline_days") == "20"

    # changing the view rewrites the link; the defaults (all periods, settings' days) leave it out
    app.select_slider(key="rep_periods").set_range(parse_period("2018H2"), parse_period("2018H2")).run()
    app.number_input(key="rep_deadline_days").set_value(30).run()
    assert not app.exception
    assert (_param(app, "periods"), _param(app, "deadline_days")) == ("2018H2", "30")
    assert {m.label: m.value for m in app.metric}["应报"] == f"{len(ref.unit_codes)} 份"
    app.select_slider(key="rep_periods").set_range(parse_period("2018H1"), parse_period("2020H2")).run()
    app.number_input(key="rep_deadline_days").set_value(ref.deadline_days).run()
    assert "periods" not in app.query_params and "deadline_days" not in app.query_params


def test_unreadable_url_values_fall_back_to_the_defaults_with_a_notice(tmp_path, monkeypatch):
    app = open_with_url(monkeypatch, demo_db_copy(tmp_path), periods="2020H2-2018H1", deadline_days="abc")
    notices = " ".join(i.value for i in app.info).replace("\\", "")  # link text is escaped (shown as typed)
    assert "链接中的报告期范围「2020H2-2018H1」无法识别" in notices and "报送期限天数「abc」" in notices
    assert [p.code for p in app.select_slider(key="rep_periods").value] == ["2018H1", "2020H2"]
    assert app.number_input(key="rep_deadline_days").value == load_reference().deadline_days
