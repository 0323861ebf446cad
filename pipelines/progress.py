"""Progress against target and against elapsed time (完成率 vs 时间进度).

Rules (DOMAIN.md "Values at an as-of date"): for an as-of date D, a unit's
value of an indicator is the value in its current return for the latest
period ending on or before D in which it reported that indicator. The figure
is *current* only when it comes from the return for the period that CONTAINS
D; otherwise it is *carried forward* (and every table says from which
period). A period ending on or before D contains D only when it ends on D, so
at 2019-09-30 a half-year reporter's 2019年上半年 figures are carried forward
while a quarterly reporter's 2019年第三季度 figures are current, and at a date
inside a period (2019-08-15) every figure is carried forward. Whatever the
unit's reporting frequency, the rule is the same. The reporting schedule (on
time, late, not yet due; ``reference_end``) is a different question, answered
on 报送情况 (pipelines/reporting.py).

Region-wide values are sums over units; a region verdict (超前/略滞后/滞后)
needs the figures of enough units (data/settings.yaml
``verdict_min_coverage``, default all of them): otherwise the figures are
shown with the number of units they rest on and the status is 数据不全.

Example:
    python -m pipelines progress --db var/kjhz.duckdb --as-of 2019-06-30 --json
"""
from __future__ import annotations

if __name__ == "__main__":  # `python -m pipelines.progress`: the command itself, before this module's imports
    from .cli import run_module

    run_module("progress")

import calendar
import math
from datetime import date

import pandas as pd

from .normalise import time_progress
from .reference import Reference, load_reference
from .vocab import (  # noqa: F401  (the statuses are re-exported: callers import them from here)
    STATE_CARRIED, STATE_CURRENT, STATE_NO_RETURN, STATUS_AHEAD, STATUS_BEHIND, STATUS_DONE, STATUS_NO_TARGET,
    STATUS_NONE, STATUS_ORDER, STATUS_PARTIAL, STATUS_SLIGHT, STATUS_SUBSET, VERDICTS, date_phrase, end_phrase,
    month_day_zh, verdict_min_coverage,
)

PROGRESS_COLUMNS = ["indicator_code", "value", "baseline", "target", "completion_rate", "time_progress",
                    "gap_pp", "status", "units_current", "units_carried"]
# Added after the original ten (the CLI's JSON keeps those first): on what the figures rest.
BASIS_COLUMNS = ["units_reporting", "units_missing", "units_total", "latest_period_end", "latest_period",
                 "earliest_period_end"]


def status_of(completion_rate: float | None, gap_pp: float | None) -> str:
    """DOMAIN.md: 已完成 >= 100%; 超前 gap >= 0; 略滞后 -10 <= gap < 0; 滞后 gap < -10."""
    if completion_rate is None or gap_pp is None or (isinstance(completion_rate, float) and math.isnan(completion_rate)):
        return STATUS_NONE
    if completion_rate >= 1 - 1e-12:
        return STATUS_DONE
    if gap_pp >= -1e-9:
        return STATUS_AHEAD
    if gap_pp >= -10 - 1e-9:
        return STATUS_SLIGHT
    return STATUS_BEHIND


def reference_end(as_of: date, frequency: str = "H") -> date:
    """The end of the latest expected reporting period ending on or before ``as_of``."""
    step = {"Q": 3, "H": 6, "Y": 12}[frequency]
    y, m = as_of.year, as_of.month
    last_month = ((m - 1) // step + 1) * step  # the month the current period ends
    end = date(y, last_month, calendar.monthrange(y, last_month)[1])
    if end <= as_of:
        return end
    pm = last_month - step
    if pm <= 0:
        return date(y - 1, 12, 31)
    return date(y, pm, calendar.monthrange(y, pm)[1])


def is_current(period_end, as_of: date) -> bool:
    """A figure from the return for the period ending ``period_end`` (on or before ``as_of``) is
    current at ``as_of`` only when that period contains ``as_of``, i.e. ends on it."""
    if period_end is None or pd.isna(period_end):
        return False
    return pd.Timestamp(period_end).date() == as_of


def has_coverage(units_reporting: int, units_total: int, min_share: float) -> bool:
    return units_total > 0 and units_reporting >= math.ceil(min_share * units_total - 1e-9)


def unit_values(con, as_of: date) -> pd.DataFrame:
    """Each unit's value per indicator at ``as_of``, with the period it comes from."""
    from .store import latest_values

    return latest_values(con, as_of)


def _targets(ref: Reference, unit: str | None) -> pd.DataFrame:
    ind = ref.plan.indicators[["code", "name", "short_name", "unit", "target", "baseline", "kind", "sort"]].copy()
    ind = ind.rename(columns={"code": "indicator_code", "unit": "measure"})
    if unit is None:
        return ind
    alloc = ref.plan.allocations
    alloc = alloc[alloc["unit_code"] == unit].set_index("indicator_code")
    ind["target"] = ind["indicator_code"].map(alloc["target"]) if len(alloc) else float("nan")
    ind["baseline"] = ind["indicator_code"].map(alloc["baseline"]).fillna(0.0) if len(alloc) else 0.0
    return ind


def progress_table(con, as_of: date, unit: str | None = None, ref: Reference | None = None,
                   units: list[str] | None = None) -> pd.DataFrame:
    """One row per plan indicator: value, target, 完成率, 时间进度, 差距, status, basis.

    ``unit``: one unit's own progress against its allocated target (NaN target
    when none is allocated). ``units``: restrict the region-wide sum to these units;
    the rate is then their share of the region's target and the status 不作判断.
    Region-wide, an indicator whose figures come from fewer units than
    ``verdict_min_coverage`` asks gets status 数据不全 (figures, no verdict).

    Basis columns: units_current (figure from the return for the period containing
    ``as_of``), units_carried (from an earlier period), units_reporting, units_missing
    (no figure at all), units_total (units in scope), latest_period_end / latest_period
    (the latest period the figures come from) and earliest_period_end.
    """
    ref = ref or load_reference()
    plan = ref.plan
    vals = unit_values(con, as_of)
    if unit is not None:
        universe = [unit]
    elif units is not None:
        universe = list(units)
    else:
        universe = ref.unit_codes
    vals = vals[vals["unit_code"].isin(universe)]
    vals = vals.assign(is_current=[is_current(p, as_of) for p in vals["period_end"]])
    agg = vals.groupby("indicator_code").agg(
        value=("value", "sum"),
        units_current=("is_current", "sum"),
        units_reporting=("unit_code", "nunique"),
        latest_period_end=("period_end", "max"),
        earliest_period_end=("period_end", "min"),
    )
    if len(vals):
        last = vals.sort_values("period_end").groupby("indicator_code").tail(1).set_index("indicator_code")
        agg["latest_period"] = last["period_code"]
    else:
        agg["latest_period"] = pd.Series(dtype=object)
    agg["units_carried"] = agg["units_reporting"] - agg["units_current"]
    out = _targets(ref, unit).merge(agg, how="left", left_on="indicator_code", right_index=True)
    for c in ("units_current", "units_carried", "units_reporting"):
        out[c] = out[c].fillna(0).astype(int)
    out["units_total"] = len(universe)
    out["units_missing"] = out["units_total"] - out["units_reporting"]
    for c in ("latest_period_end", "earliest_period_end"):
        out[c] = pd.to_datetime(out[c]).dt.date.astype(object).where(out[c].notna(), None)
    tp = time_progress(plan.start, plan.end, as_of)
    out["time_progress"] = tp
    span = out["target"] - out["baseline"]
    has = out["value"].notna() & span.notna() & (span != 0)
    out["completion_rate"] = ((out["value"] - out["baseline"]) / span).where(has)
    out["gap_pp"] = ((out["completion_rate"] - tp) * 100).where(has)
    out["status"] = [status_of(None if pd.isna(c) else c, None if pd.isna(g) else g)
                     for c, g in zip(out["completion_rate"], out["gap_pp"])]
    no_target = out["value"].notna() & ~has
    out.loc[no_target, "status"] = STATUS_NO_TARGET
    if unit is None and units is not None:
        # part of the region against the whole region's target: a share, not a verdict
        out.loc[out["value"].notna(), "status"] = STATUS_SUBSET
    else:
        min_share = verdict_min_coverage(ref)
        short = [not has_coverage(r, t, min_share) for r, t in zip(out["units_reporting"], out["units_total"])]
        out.loc[has & pd.Series(short, index=out.index), "status"] = STATUS_PARTIAL
    out["value"] = out["value"].astype("Int64")
    cols = PROGRESS_COLUMNS + BASIS_COLUMNS + ["name", "short_name", "measure", "kind"]
    return out.sort_values("sort")[cols].reset_index(drop=True)


def data_end(table: pd.DataFrame):
    """The latest period end any figure of ``table`` comes from (None without figures)."""
    ends = [d for d in table["latest_period_end"] if d is not None and not pd.isna(d)]
    return max(ends) if ends else None


def carried_figures(con, as_of: date, ref: Reference | None = None) -> pd.DataFrame:
    """Figures not from the return for the period containing ``as_of``: unit, indicator, from which period."""
    ref = ref or load_reference()
    vals = unit_values(con, as_of)
    if vals.empty:
        return vals.assign(unit_name=[], indicator_name=[])
    carried = vals[[not is_current(p, as_of) for p in vals["period_end"]]].copy()
    carried["unit_name"] = carried["unit_code"].map(ref.unit_name)
    carried["indicator_name"] = carried["indicator_code"].map(ref.indicator_name)
    return carried.sort_values(["unit_code", "indicator_code"]).reset_index(drop=True)


def return_basis(con, as_of: date, ref: Reference | None = None) -> pd.DataFrame:
    """Per unit: the latest current return on or before ``as_of`` and whether it is current.

    state: 当期 (the return for the period containing ``as_of``), 结转 (only an earlier one;
    its figures are carried forward), 缺报 (none). ``reference_end`` is kept for callers:
    the as-of date itself, the end of the only period whose returns are current.
    """
    ref = ref or load_reference()
    from .store import latest_returns

    latest = latest_returns(con, as_of)
    units = ref.units[["code", "name", "sort"]].rename(columns={"code": "unit_code", "name": "unit_name"})
    out = units.merge(latest, how="left", on="unit_code")
    out["state"] = [STATE_NO_RETURN if pd.isna(p) else (STATE_CURRENT if is_current(p, as_of) else STATE_CARRIED)
                    for p in out["period_end"]]
    out["reference_end"] = as_of
    return out.sort_values("sort").drop(columns="sort").reset_index(drop=True)


def coverage_phrase(basis: pd.DataFrame) -> str:
    """「13个填报单位中12个当期报送、1个沿用上期」 from return_basis (rows in scope)."""
    n = len(basis)
    cur = int((basis["state"] == STATE_CURRENT).sum())
    car = int((basis["state"] == STATE_CARRIED).sum())
    mis = int((basis["state"] == STATE_NO_RETURN).sum())
    return f"{n}个填报单位中{cur}个当期报送" + (f"、{car}个沿用上期" if car else "") + (f"、{mis}个缺报" if mis else "")


# --------------------------------------------------------------------------
def _wording(wording: dict | None) -> dict:
    """The plan file's sentence templates (data/plans/*.yaml ``wording``)."""
    return wording if wording is not None else load_reference().plan.wording


def as_of_phrase(d: date, data_as_of: date | None = None, wording: dict | None = None) -> str:
    """「截至2019年9月底」, or with older figures 「截至2019年9月底（数据截至6月30日）」."""
    w = _wording(wording)
    if data_as_of is not None and not pd.isna(data_as_of) and pd.Timestamp(data_as_of).date() < d:
        return w["when_stale"].format(date=date_phrase(d), data_date=month_day_zh(data_as_of, d))
    return w["when"].format(date=date_phrase(d))


def gap_phrase(gap_pp: float, wording: dict | None = None) -> str:
    w = _wording(wording)
    if abs(gap_pp) < 0.05:
        return w["gap_level"]
    return w["gap_above" if gap_pp > 0 else "gap_below"].format(pp=f"{abs(gap_pp):.1f}")


def pct_text(x) -> str:
    return f"{x * 100:.1f}%"


def indicator_sentence(row, as_of: date, scope: str = "全区", sentences: dict | None = None,
                       wording: dict | None = None) -> str:
    """「截至2019年6月底，全区累计建成院士专家工作站126家，完成目标的70.0%，高于时间进度20.0个百分点。」

    When the figures come from a period before ``as_of`` the date says so:
    「截至2019年9月底（数据截至6月30日），…」. No gap phrase without a verdict.
    """
    w = _wording(wording)
    template = (sentences or {}).get(row.indicator_code) or f"{row.name}累计{{value}}{row.measure}"
    when = as_of_phrase(as_of, getattr(row, "latest_period_end", None), w)
    if pd.isna(row.value):
        return w["indicator_no_data"].format(when=as_of_phrase(as_of, None, w), scope=scope, name=row.name)
    fields = dict(when=when, scope=scope, body=template.format(value=int(row.value)))
    if pd.isna(row.completion_rate):
        return w["indicator_no_target"].format(**fields)
    fields["rate"] = pct_text(row.completion_rate)
    if row.status == STATUS_SUBSET:
        return w["indicator_share"].format(**fields)
    if row.status == STATUS_PARTIAL:
        return w["indicator_partial"].format(**fields, reporting=int(row.units_reporting),
                                             total=int(row.units_total), missing=int(row.units_missing))
    return w["indicator"].format(**fields, gap=gap_phrase(row.gap_pp, w))


def summary_sentence(table: pd.DataFrame, as_of: date, scope: str = "全区", coverage: str | None = None,
                     wording: dict | None = None) -> str:
    """The headline; ``coverage`` (e.g. 「13个填报单位中12个当期报送、1个沿用上期」) is added when not all are current.

    Counts verdicts only over indicators with complete coverage; when no indicator has one
    (units missing), it says on how many units the figures rest and gives no verdict.
    """
    w = _wording(wording)
    tail = w["coverage_tail"].format(coverage=coverage) if coverage else ""
    counts = table["status"].value_counts()
    tp = pct_text(table["time_progress"].iloc[0] if len(table) else 0)
    when = as_of_phrase(as_of, data_end(table) if "latest_period_end" in table else None, w)
    if counts.get(STATUS_SUBSET, 0):
        return w["headline_share"].format(when=when, scope=scope, n=int(counts[STATUS_SUBSET]), tp=tp, tail=tail)
    if not table["value"].notna().any():
        return w["headline_no_data"].format(when=when, scope=scope, tp=tp)
    if counts.get(STATUS_PARTIAL, 0) and not any(counts.get(s, 0) for s in VERDICTS):
        rep = table.loc[table["status"] == STATUS_PARTIAL, "units_reporting"]
        total = int(table["units_total"].iloc[0])
        lo, hi = int(rep.min()), int(rep.max())
        return w["headline_partial"].format(when=when, scope=scope, n=int(counts[STATUS_PARTIAL]), total=total,
                                            reporting=str(hi) if lo == hi else f"{lo}～{hi}",
                                            tp=tp, tail=tail)
    parts = [f"{s}{int(counts.get(s, 0))}项" for s in STATUS_ORDER if counts.get(s, 0)]
    return w["headline"].format(when=when, scope=scope, n=len(table), parts="，".join(parts), tp=tp, tail=tail)


def sentences_for(ref: Reference) -> dict:
    ind = ref.plan.indicators
    if "sentence" not in ind:
        return {}
    return {c: s for c, s in zip(ind["code"], ind["sentence"]) if isinstance(s, str)}


# --------------------------------------------------------------------------
# --------------------------------------------------------------------------
# Where an indicator will end at the current pace (进度趋势 page, briefing)
def _year_before(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def _fmt_count(x: float) -> str:
    return f"{int(round(x)):,}"


def trend_projection(con, as_of: date, units=None, scope: str = "全区") -> pd.DataFrame:
    """Per plan indicator: where it will end at the current pace, and whether that reaches the target.

    Two paces, both linear: the average since the plan start (baseline at the start through the
    value at ``as_of``) and the last year's (value a year before ``as_of`` through the value at
    ``as_of``; from the plan start when the plan is younger than a year). Projections are rounded
    to whole counts; proj_*_rate uses the 完成率 formula. ``sentence`` (average pace) and
    ``sentence_recent`` are the Chinese sentences a briefing uses. At or after the plan end
    ``finished`` is true and the sentence states the final result instead. With ``units`` (a part
    of the region) the projection is compared with the region's target without a verdict.
    """
    from .queries import region_series  # the series over the reporting periods (SQL)

    plan = load_reference().plan
    end_txt = end_phrase(plan.end)
    prev = _year_before(as_of)
    recent_from = prev if prev > plan.start else plan.start
    dates = [as_of] + ([prev] if prev > plan.start else [])
    s = region_series(con, dates, units=units)
    now = s[s["as_of"] == as_of].set_index("indicator_code")
    before = s[s["as_of"] == prev].set_index("indicator_code") if prev > plan.start else None
    tp = time_progress(plan.start, plan.end, as_of)
    tp_prev = time_progress(plan.start, plan.end, recent_from)
    finished = as_of >= plan.end
    start_txt = f"{plan.start.year}年{plan.start.month}月"
    rows = []
    for code, r in now.iterrows():
        b, t, m = float(r["baseline"]), float(r["target"]), r["measure"]
        span = t - b
        v = None if pd.isna(r["value"]) else float(r["value"])
        v_prev = b if before is None else (None if pd.isna(before.loc[code, "value"]) else float(before.loc[code, "value"]))
        row = {"indicator_code": code, "short_name": r["short_name"], "name": r["name"], "measure": m,
               "baseline": b, "target": t, "as_of": as_of, "value": v, "time_progress": tp,
               "completion_rate": r["completion_rate"], "finished": finished, "recent_from": recent_from,
               "value_recent_from": v_prev, "proj_avg": None, "proj_recent": None}

        def rate(x):
            return None if x is None or span == 0 else (x - b) / span

        head = f"{scope}{r['name']}"
        partial = r["status"] == STATUS_PARTIAL
        row["partial"] = partial
        if v is None:
            sent = f"{head}暂无报送数据，无法推算。"
            sent_recent = ""
        elif finished:
            row["proj_avg"] = row["proj_recent"] = v
            cr = rate(v)
            tail = ("，已完成目标。" if cr is not None and cr >= 1 - 1e-12
                    else f"，未完成目标，还差{_fmt_count(t - v)}{m}。")
            sent = f"截至{end_txt}，{head}实际达到{_fmt_count(v)}{m}" + (
                f"，完成目标的{cr * 100:.1f}%" if cr is not None else "") + tail
            sent_recent = ""
        else:
            if tp > 0:
                row["proj_avg"] = float(round(b + (v - b) / tp))
            if v_prev is not None and tp > tp_prev:
                row["proj_recent"] = float(round(v + (v - v_prev) / (tp - tp_prev) * (1 - tp)))

            def say(p, pace):
                if p is None:
                    return ""
                cr = rate(p)
                txt = f"按{pace}，预计到{end_txt}可达到约{_fmt_count(p)}{m}"
                if cr is None:
                    return txt + "。"
                if units:  # a part of the region measured against the region's target: no verdict
                    return txt + f"，相当于全区目标的{cr * 100:.1f}%。"
                if partial:  # units missing: the sum of those reporting, no verdict
                    return txt + (f"，相当于全区目标的{cr * 100:.1f}%（仅{int(r['units_reporting'])}个单位有数字，"
                                  "暂不判断能否完成）。")
                txt += f"，达到目标的{cr * 100:.1f}%"
                return txt + ("。" if p >= t else f"，将无法按期完成，还差约{_fmt_count(t - p)}{m}。")

            done_now = rate(v) is not None and rate(v) >= 1 - 1e-12
            lead = f"{head}已提前完成目标（现为{_fmt_count(v)}{m}）；" if done_now else f"{head}："
            sent = lead + say(row["proj_avg"], f"目前进度（{start_txt}以来的平均速度）")
            if before is None:
                sent_recent = "计划实施不足一年，最近一年的速度即为计划以来的平均速度。"
            elif v_prev is None:
                sent_recent = f"{end_phrase(prev)}尚无报送数据，无法按最近一年的速度推算。"
            else:
                sent_recent = say(row["proj_recent"], f"最近一年（{end_phrase(prev)}至{end_phrase(as_of)}）的速度")
        row["proj_avg_rate"] = rate(row["proj_avg"])
        row["proj_recent_rate"] = rate(row["proj_recent"])
        row["reaches_avg"] = None if row["proj_avg"] is None or partial else row["proj_avg"] >= t
        row["reaches_recent"] = None if row["proj_recent"] is None else row["proj_recent"] >= t
        row["sentence"], row["sentence_recent"] = sent, sent_recent
        rows.append(row)
    return pd.DataFrame(rows)



def _json_value(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def progress_json(table: pd.DataFrame, basis: pd.DataFrame, as_of: date, unit: str | None,
                  ref: Reference) -> dict:
    """The CLI's JSON: as_of, unit, indicators (the original ten fields, then the basis fields),
    and on what the figures rest (units current / carried / missing, the data's own date)."""
    rows = []
    for r in table.to_dict("records"):
        row = {k: _json_value(r[k]) for k in PROGRESS_COLUMNS + BASIS_COLUMNS}
        for k in ("latest_period_end", "earliest_period_end"):
            row[k] = row[k].isoformat() if row[k] is not None else None
        rows.append(row)
    end = data_end(table)
    scope = ref.unit_name(unit) if unit else "全区"
    n_cur = int((basis["state"] == STATE_CURRENT).sum())
    return {
        "as_of": as_of.isoformat(), "unit": unit, "indicators": rows,
        "units_total": int(len(basis)), "units_current": n_cur,
        "units_carried": int((basis["state"] == STATE_CARRIED).sum()),
        "units_missing": int((basis["state"] == STATE_NO_RETURN).sum()),
        "data_as_of": end.isoformat() if end else None,
        "headline": summary_sentence(table, as_of, scope,
                                     coverage_phrase(basis) if n_cur < len(basis) else None, ref.plan.wording),
    }


def scope_arguments(ap, args, ref: Reference) -> tuple[date, str | None]:
    """--as-of, --unit and --db of a command line checked, with Chinese errors (exit code 2):
    the date, and the unit's code (None for the region)."""
    try:
        as_of = date.fromisoformat(args.as_of)
    except ValueError:
        ap.error(f"无法识别日期「{args.as_of}」，请写成 2019-06-30")
    unit = None
    if args.unit:
        m = ref.lookups["unit"].resolve(args.unit)
        if not m.ok:
            ap.error(f"无法识别单位「{args.unit}」" + (f"，是否为「{m.suggestion}」？" if m.suggestion else ""))
        unit = m.code
    from pathlib import Path

    if not Path(args.db).exists():
        ap.error(f"数据库不存在：{args.db}")
    return as_of, unit


def progress_text(table: pd.DataFrame) -> str:
    """The command line's table: the PROGRESS_COLUMNS with the short name, rates as percentages."""
    show = table[PROGRESS_COLUMNS].copy()
    show.insert(1, "name", table["short_name"])
    for c in ("completion_rate", "time_progress"):
        show[c] = show[c].map(lambda x: "" if pd.isna(x) else f"{x * 100:.1f}%")
    show["gap_pp"] = show["gap_pp"].map(lambda x: "" if pd.isna(x) else f"{x:+.1f}")
    return show.to_string(index=False)


def main(argv: list[str] | None = None) -> int:
    """``python -m pipelines.progress`` in-process: the same as ``python -m pipelines progress``."""
    from .cli import run_command

    return run_command("progress", argv, prog="python -m pipelines.progress")
