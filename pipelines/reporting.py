"""Reporting status (报送情况): who sent which return, and when, as DHIS2 counts it.

Every unit in data/units.csv is expected to send one return for every
reporting period of the plan (data/settings.yaml ``reporting_frequency``)
from the plan's start up to the last period that has ended by ``today``.
For each expected (unit, period):

- the *current* loaded submission for that period end, if any;
- the *first* arrival of any loaded version: timeliness counts the first
  arrival, so a correction sent later does not make an on-time return late,
  and a late return stays late after it is corrected;
- the state: 按时 (first arrival on or before the deadline, the period end
  plus ``deadline_days``), 逾期 (after it), 缺报 (nothing loaded and the
  deadline has passed) or 待报 (nothing loaded yet, deadline still ahead);
- 有提示 when the current version was loaded with warnings, and the number
  of 未通过 (rejected) attempts whose unit and period could be read.

Rates, after DHIS2's "reporting rate" and "reporting rate on time":
完整率 = received / expected, 及时率 = received on time / expected.

Example:
    python -m pipelines.reporting --db var/kjhz.duckdb --deadline-days 20
"""
from __future__ import annotations

if __name__ == "__main__":  # `python -m pipelines.reporting`: the command itself, before this module's imports
    from .cli import run_module

    run_module("reporting")

from datetime import date, timedelta

import pandas as pd

from .normalise import Period, period_from_end
from .progress import reference_end
from .reference import Reference, load_reference
from .store import submission_facts
from .vocab import (  # noqa: F401  (FLAG_WARNINGS re-exported)
    FLAG_WARNINGS, REPORT_LATE as STATE_LATE, REPORT_MISSING as STATE_MISSING, REPORT_ON_TIME as STATE_ON_TIME,
    REPORT_ORDER as STATE_ORDER, REPORT_PENDING as STATE_PENDING, REPORT_RECEIVED as RECEIVED_STATES, date_zh,
    deadline_days as settings_deadline_days, month_day_zh, pct, reporting_frequency as frequency,
)

MATRIX_COLUMNS = [
    "unit_code", "unit_name", "unit_sort", "period_code", "period_label", "period_end", "deadline",
    "state", "flag", "has_warnings", "first_received_at", "days_late", "days_overdue",
    "submission_id", "version", "n_versions", "received_at", "received_by", "file_name", "n_warnings",
    "rejected_attempts", "last_rejected_at",
]
RATE_COLUMNS = ["expected", "received", "on_time", "late", "missing", "pending", "completeness", "timeliness"]


# --------------------------------------------------------------------------
# Expected periods and deadlines
def _next(p: Period) -> Period:
    last = {"Q": 4, "H": 2, "Y": 1}[p.kind]
    return Period(p.kind, p.year, p.n + 1) if p.n < last else Period(p.kind, p.year + 1, 1)


def expected_periods(today: date | None = None, ref: Reference | None = None) -> list[Period]:
    """The plan's reporting periods from its start to the last one ended by ``today``."""
    ref = ref or load_reference()
    today = today or date.today()
    kind = frequency(ref)
    last_end = min(ref.plan.end, reference_end(today, kind))
    out: list[Period] = []
    p = period_from_end(ref.plan.start, kind)
    while p.end <= last_end:
        out.append(p)
        p = _next(p)
    return out


def deadline_of(period_end: date, deadline_days: int) -> date:
    return period_end + timedelta(days=int(deadline_days))


# --------------------------------------------------------------------------
# The matrix
def reporting_matrix(con, today: date | None = None, deadline_days: int | None = None,
                     units: tuple[str, ...] | list[str] | None = None,
                     start: date | None = None, end: date | None = None,
                     ref: Reference | None = None) -> pd.DataFrame:
    """One row per expected (unit, period), units in data/units.csv order, periods in time order.

    ``deadline_days`` overrides data/settings.yaml; ``units`` restricts the
    units; ``start``/``end`` keep the periods whose end lies between them.
    """
    ref = ref or load_reference()
    today = today or date.today()
    days = settings_deadline_days(ref) if deadline_days is None else int(deadline_days)
    periods = [p for p in expected_periods(today, ref)
               if (start is None or p.end >= start) and (end is None or p.end <= end)]
    unit_df = ref.units[["code", "name", "sort"]].rename(
        columns={"code": "unit_code", "name": "unit_name", "sort": "unit_sort"})
    if units:
        unit_df = unit_df[unit_df["unit_code"].isin(list(units))]
    per_df = pd.DataFrame({"period_code": [p.code for p in periods], "period_label": [p.label for p in periods],
                           "period_end": [p.end for p in periods]})
    grid = unit_df.merge(per_df, how="cross")
    if grid.empty:
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    facts, current = submission_facts(con)
    out = grid.merge(facts, how="left", on=["unit_code", "period_end"]).merge(
        current, how="left", on=["unit_code", "period_end"])
    out["deadline"] = [deadline_of(e, days) for e in out["period_end"]]
    first_day = pd.to_datetime(out["first_received_at"]).dt.date
    received = out["submission_id"].notna() & out["first_received_at"].notna()
    late_by = [(f - d).days if r else None for f, d, r in zip(first_day, out["deadline"], received)]
    overdue = [(today - d).days for d in out["deadline"]]
    states = []
    for r, lb, od in zip(received, late_by, overdue):
        if r:
            states.append(STATE_LATE if lb > 0 else STATE_ON_TIME)
        else:
            states.append(STATE_MISSING if od > 0 else STATE_PENDING)
    out["state"] = states
    out["days_late"] = pd.array([lb if (lb is not None and lb > 0) else None for lb in late_by], dtype="Int64")
    out["days_overdue"] = pd.array([od if s == STATE_MISSING else None for od, s in zip(overdue, states)],
                                   dtype="Int64")
    out["n_warnings"] = out["n_warnings"].fillna(0).astype(int)
    out["has_warnings"] = received & (out["n_warnings"] > 0)
    out["flag"] = [FLAG_WARNINGS if w else "" for w in out["has_warnings"]]
    for col in ("n_versions", "rejected_attempts"):
        out[col] = out[col].fillna(0).astype(int)
    out["version"] = out["version"].astype("Int64")
    out["submission_id"] = out["submission_id"].astype("Int64")
    out = out.sort_values(["unit_sort", "period_end"]).reset_index(drop=True)
    return out[MATRIX_COLUMNS]


# --------------------------------------------------------------------------
# Rates
def rates(matrix: pd.DataFrame, by: str) -> pd.DataFrame:
    """完整率 and 及时率 per period (``by="period"``), per unit (``"unit"``) or overall (``"all"``)."""
    keys = {"period": ["period_code", "period_label", "period_end"],
            "unit": ["unit_code", "unit_name", "unit_sort"], "all": []}[by]
    m = matrix.assign(
        _received=matrix["state"].isin(RECEIVED_STATES), _on_time=matrix["state"] == STATE_ON_TIME,
        _late=matrix["state"] == STATE_LATE, _missing=matrix["state"] == STATE_MISSING,
        _pending=matrix["state"] == STATE_PENDING)
    aggs = dict(expected=("state", "size"), received=("_received", "sum"), on_time=("_on_time", "sum"),
                late=("_late", "sum"), missing=("_missing", "sum"), pending=("_pending", "sum"))
    if keys:
        out = m.groupby(keys, sort=False).agg(**aggs).reset_index()
    else:
        out = pd.DataFrame([{k: (len(m) if f == "size" else int(m[c].sum())) for k, (c, f) in aggs.items()}])
    for col in ("expected", "received", "on_time", "late", "missing", "pending"):
        out[col] = out[col].astype(int)
    denom = out["expected"].where(out["expected"] > 0)
    out["completeness"] = out["received"] / denom
    out["timeliness"] = out["on_time"] / denom
    if by == "unit":
        out = out.sort_values("unit_sort")
    elif by == "period":
        out = out.sort_values("period_end")
    return out[keys + RATE_COLUMNS].reset_index(drop=True)


def reporting_rates(con, by: str = "period", today: date | None = None, deadline_days: int | None = None,
                    units=None, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """``rates`` of ``reporting_matrix`` with the same arguments."""
    return rates(reporting_matrix(con, today, deadline_days, units, start, end), by)


# --------------------------------------------------------------------------
# Reminders
def reminders(matrix: pd.DataFrame) -> pd.DataFrame:
    """Missing and late returns, most overdue first within each unit.

    ``days_overdue``: for a missing return, days since the deadline as of
    today; for a late one, how many days after the deadline it first arrived.
    """
    cols = ["unit_code", "unit_name", "unit_sort", "period_code", "period_label", "period_end", "deadline",
            "state", "days_overdue", "first_received_at", "rejected_attempts"]
    m = matrix[matrix["state"].isin([STATE_MISSING, STATE_LATE])].copy()
    if m.empty:
        return pd.DataFrame(columns=cols)
    m["days_overdue"] = m["days_overdue"].fillna(m["days_late"]).astype("Int64")
    m["_rank"] = m["state"].map({STATE_MISSING: 0, STATE_LATE: 1})
    m = m.sort_values(["_rank", "unit_sort", "period_end"])
    return m[cols].reset_index(drop=True)


def reporting_reminders(con, today: date | None = None, deadline_days: int | None = None,
                        units=None, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    return reminders(reporting_matrix(con, today, deadline_days, units, start, end))


def reminder_texts(todo: pd.DataFrame, due: date, today: date | None = None) -> pd.DataFrame:
    """One copyable Chinese reminder per unit: missing returns to send by ``due``; late ones noted.

    「请阿拉善盟于3月8日前补报2019年下半年报表（原定报送截止日期为2020年1月14日）。」
    """
    today = today or date.today()
    rows = []
    if todo.empty:
        return pd.DataFrame(columns=["unit_code", "unit_name", "missing", "late", "text"])
    # plain Python over the rows: a pandas groupby and filters per unit cost ~30 ms on every rerun
    groups: dict[tuple, list] = {}
    for r in todo.itertuples():
        groups.setdefault((r.unit_code, r.unit_name), []).append(r)
    for (code, name), g in groups.items():
        miss = sorted((r for r in g if r.state == STATE_MISSING), key=lambda r: r.period_end)
        late = sorted((r for r in g if r.state == STATE_LATE), key=lambda r: r.period_end)
        parts = []
        if len(miss):
            labels = "、".join(r.period_label for r in miss)
            deadlines = "、".join(date_zh(r.deadline) for r in miss)
            parts.append(f"请{name}于{month_day_zh(due, today)}前补报{labels}报表"
                         f"（原定报送截止日期为{deadlines}，目前仍未收到）。")
        if len(late):
            bits = [f"{r.period_label}报表于{date_zh(r.first_received_at)}报送，比截止日期（{date_zh(r.deadline)}）"
                    f"晚{int(r.days_overdue)}天" for r in late]
            lead = "另，" if parts else f"{name}："
            parts.append(lead + "；".join(bits) + "。请今后在每个报告期结束后按时报送。")
        rows.append({"unit_code": code, "unit_name": name, "missing": len(miss), "late": len(late),
                     "text": "".join(parts)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# The page's tables, computed once per (data, arguments) and cached by the page
def cell_word(r) -> str:
    """The 报送情况表 cell: 「按时 7月10日 第2版 · 有提示 · 未通过1次」, 「缺报（已逾期30天）」, 「待报」."""
    if r.state in RECEIVED_STATES:
        first_day = pd.Timestamp(r.first_received_at)
        word = f"{r.state} {first_day.month}月{first_day.day}日"
        if r.state == STATE_LATE:
            word += f"（晚{int(r.days_late)}天）"
        if not pd.isna(r.version) and int(r.version) > 1:
            word += f" 第{int(r.version)}版"
    elif r.state == STATE_MISSING:
        word = f"{STATE_MISSING}（已逾期{int(r.days_overdue)}天）"
    else:
        word = STATE_PENDING
    if r.flag:
        word += f" · {r.flag}"
    if r.rejected_attempts:
        word += f" · 未通过{int(r.rejected_attempts)}次"
    return word


def rate_table(r: pd.DataFrame, by: str) -> pd.DataFrame:
    """``rates(matrix, by)`` with Chinese headers and formatted rates, as shown and exported."""
    key, label = {"period": ("period_label", "报告期"), "unit": ("unit_name", "单位")}[by]
    return pd.DataFrame({
        label: r[key], "应报": r["expected"], "已报": r["received"], "按时": r["on_time"], "逾期": r["late"],
        "缺报": r["missing"], "待报": r["pending"],
        "完整率": r["completeness"].map(pct), "及时率": r["timeliness"].map(pct),
    })


def reporting_tables(con, today: date | None = None, deadline_days: int | None = None,
                     units=None, start: date | None = None, end: date | None = None) -> dict[str, pd.DataFrame]:
    """Everything the 报送情况 page shows, from one ``reporting_matrix``:

    ``matrix``; rates ``by_period``, ``by_unit``, ``overall`` (one row);
    ``grid`` (单位 x 报告期 cell words, the 报送情况表); ``details`` (逐份明细);
    ``rate_period``/``rate_unit`` (Chinese rate tables); ``reminders`` and
    ``listing`` (the 催报清单 as shown).
    """
    today = today or date.today()
    m = reporting_matrix(con, today, deadline_days, units, start, end)
    by_period, by_unit = rates(m, "period"), rates(m, "unit")
    words = pd.Series([cell_word(r) for r in m.itertuples()], index=m.index, dtype=object)
    if len(m):
        grid = m.assign(cell=words).pivot(index="unit_name", columns="period_label", values="cell")
        grid = grid.reindex(index=m["unit_name"].unique(),
                            columns=m.drop_duplicates("period_end").sort_values("period_end")["period_label"])
    else:
        grid = pd.DataFrame(index=pd.Index([], dtype=object))
    grid.index.name = "单位"
    grid.columns.name = None
    details = pd.DataFrame({
        "单位": m["unit_name"], "报告期": m["period_label"], "报告期末": m["period_end"].map(date_zh),
        "报送截止日期": m["deadline"].map(date_zh), "状态": m["state"], "提示": m["flag"],
        "首次报送": m["first_received_at"].map(date_zh), "晚于截止（天）": m["days_late"],
        "缺报已逾期（天）": m["days_overdue"], "当前版本": m["version"], "共几版": m["n_versions"],
        "当前版本入库": m["received_at"].map(date_zh), "报送人": m["received_by"].fillna("—"),
        "文件名": m["file_name"].fillna("—"), "未通过次数": m["rejected_attempts"],
    })
    todo = reminders(m)
    listing = pd.DataFrame({
        "单位": todo["unit_name"], "报告期": todo["period_label"], "情况": todo["state"],
        "报送截止日期": todo["deadline"].map(date_zh), "逾期天数": todo["days_overdue"],
        "首次报送日期": todo["first_received_at"].map(date_zh), "未通过次数": todo["rejected_attempts"],
    })
    return {"matrix": m, "by_period": by_period, "by_unit": by_unit, "overall": rates(m, "all"),
            "grid": grid, "details": details, "rate_period": rate_table(by_period, "period"),
            "rate_unit": rate_table(by_unit, "unit"), "reminders": todo, "listing": listing}


# --------------------------------------------------------------------------
def reporting_text(m: pd.DataFrame) -> str:
    """The command line's text: unit x period states, then one line of totals and rates."""
    table = m.pivot(index="unit_name", columns="period_code", values="state").reindex(m["unit_name"].unique())
    r = rates(m, "all").iloc[0]
    return (table.to_string() + "\n"
            + f"应报{int(r.expected)}份，已报{int(r.received)}份（按时{int(r.on_time)}，逾期{int(r.late)}），"
              f"缺报{int(r.missing)}份；完整率{pct(r.completeness)}，及时率{pct(r.timeliness)}")


def reporting_json(m: pd.DataFrame, today: date) -> dict:
    """The command line's JSON: the totals and rates, and one entry per unit x period."""
    def num(v):
        return None if pd.isna(v) else (int(v) if float(v).is_integer() else float(v))

    r = rates(m, "all").iloc[0]
    cells = [{"unit_code": c.unit_code, "unit_name": c.unit_name, "period_code": c.period_code,
              "period_end": c.period_end.isoformat(), "deadline": c.deadline.isoformat(), "state": c.state,
              "version": num(c.version), "days_late": num(c.days_late), "days_overdue": num(c.days_overdue)}
             for c in m.itertuples()]
    return {"today": today.isoformat(), **{k: num(r[k]) for k in RATE_COLUMNS}, "cells": cells}


def main(argv: list[str] | None = None) -> int:
    """``python -m pipelines.reporting`` in-process: the same as ``python -m pipelines reporting``."""
    from .cli import run_command

    return run_command("reporting", argv, prog="python -m pipelines.reporting")
