"""Check a return cell by cell: raw sheets -> typed tables + a Report.

``check_return(data, file_name)`` is the one entry point the upload page, the
command line, the demo generator and the benchmark all use. Columns are
checked a distinct value at a time and rows are flagged with pandas masks, so
a 50,000-row return costs little more than reading it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .issues import ERROR, Issue, Report, hint_from, make_issue
from .normalise import (
    Period, is_blank, parse_date, parse_number, parse_period,
    raw_text, split_partners,
)
from .read import DEFAULT_LIMITS, Limits, RawWorkbook, _col_number, read_workbook
from .reference import Reference, load_reference, norm_key

# --------------------------------------------------------------------------
# The return format's headers (RETURN_FORMAT.md): key -> accepted spellings.
COVER_LABELS = {
    "unit": ("填报单位",),
    "period": ("报告期", "报告期间", "报送期"),
    "filler": ("填报人",),
    "phone": ("联系电话", "电话"),
    "fill_date": ("填报日期",),
}
COVER_REQUIRED = ("unit", "period")

IND_HEADERS = {
    "code": ("指标编码", "编码", "指标代码"),
    "name": ("指标名称",),
    "measure": ("计量单位", "单位"),
    "value": ("截至本期末累计值", "本期末累计值", "累计值", "截至期末累计值"),
    "increase": ("其中：本期新增", "其中:本期新增", "本期新增"),
    "note": ("备注",),
}
ITEM_HEADERS = {
    "seq": ("序号",),
    "name": ("事项名称", "名称", "项目名称"),
    "type": ("事项类别", "类别"),
    "sector": ("所属领域", "领域"),
    "partners": ("合作国家（地区）", "合作国家/地区", "合作国家或地区", "合作国家", "合作国别"),
    "partner_institutions": ("合作单位", "合作机构"),
    "local_institution": ("本地承担单位", "承担单位"),
    "start_date": ("起始日期", "开始日期", "起始时间"),
    "status": ("状态",),
    "funding": ("投入经费（万元）", "投入经费(万元)", "投入经费", "经费（万元）"),
    "note": ("备注",),
}
ITEM_REQUIRED = ("name", "type", "sector")
NON_TEXT = ("seq", "start_date", "funding")  # typed cells: shown as text only in messages
NOTE_PREFIXES = ("注：", "注:", "说明：", "说明:", "填表说明", "填报说明", "备注：", "备注:")
TOTAL_MARKS = {"合计", "总计", "小计", "合计：", "总计："}

PARTNER_KIND_ZH = {"foreign": "外国", "domestic": "国内地区"}
NEED_ZH = {"foreign": "外国合作国家", "domestic": "国内合作省（区、市）", "any": "合作国家（地区）"}


@dataclass
class CheckedReturn:
    file_name: str
    file_hash: str
    unit_code: str | None = None
    period: Period | None = None
    cover: dict = field(default_factory=dict)
    indicators: pd.DataFrame | None = None
    items: pd.DataFrame | None = None
    item_partners: pd.DataFrame | None = None
    report: Report = field(default_factory=Report)
    sheet_names: dict = field(default_factory=dict)
    value_header: str = "截至本期末累计值"  # 表1's value column header as found in the file

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def period_end(self) -> date | None:
        return self.period.end if self.period else None


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------
def _match_headers(row: list, spec: dict[str, tuple[str, ...]]) -> dict[str, tuple[int, str]]:
    """-> key: (column index, header text as found, whitespace removed)."""
    wanted = {norm_key(s): key for key, spellings in spec.items() for s in spellings}
    found: dict[str, tuple[int, str]] = {}
    for idx, cell in enumerate(row):
        k = norm_key(cell)
        key = wanted.get(k)
        if key and key not in found:
            found[key] = (idx, "".join(str(cell).split()))
    return found


def _find_header(rows: list[list], spec: dict, must: tuple[str, ...], scan: int = 30):
    best, best_n = None, 0
    for r in range(min(scan, len(rows))):
        found = _match_headers(rows[r], spec)
        if all(m in found for m in must):
            return r, found
        if len(found) > best_n:
            best, best_n = (r, found), len(found)
    return best if best_n >= 2 else None


# --------------------------------------------------------------------------
def _check_cover(rows: list[list], sheet: str, ref: Reference, out: CheckedReturn, today: date) -> None:
    rep = out.report
    labels = {norm_key(s): key for key, spellings in COVER_LABELS.items() for s in spellings}
    found: dict[str, tuple[int, str, object]] = {}
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            key = labels.get(norm_key(cell)) if isinstance(cell, str) else None
            if key and key not in found:
                value = ""
                for nxt in row[c + 1:c + 4]:  # next non-empty cell to the right
                    if raw_text(nxt):
                        value = nxt
                        break
                found[key] = (r + 1, "".join(str(cell).split()).rstrip("：:"), value)
    for key in COVER_REQUIRED:
        if key not in found:
            rep.add(make_issue("label-missing", sheet=sheet, expected=COVER_LABELS[key][0]))
        elif not raw_text(found[key][2]):
            row, col, _ = found[key]
            rep.add(make_issue("missing-value", sheet=sheet, row=row, column=col, value=""))

    if "unit" in found and raw_text(found["unit"][2]):
        row, col, value = found["unit"]
        text = raw_text(value)
        m = ref.lookups["unit"].resolve(text)
        if m.ok:
            out.unit_code = m.code
        elif m.candidates:
            rep.add(make_issue("ambiguous-unit", sheet=sheet, row=row, column=col, value=text,
                               note=m.note or f"可能是{m.suggestion}", suggestion=m.suggestion))
        else:
            rep.add(make_issue("unknown-unit", sheet=sheet, row=row, column=col, value=text,
                               hint=hint_from(m.suggestion), suggestion=m.suggestion))
    if "period" in found and raw_text(found["period"][2]):
        row, col, value = found["period"]
        text = raw_text(value)
        p = parse_period(value)
        plan = ref.plan
        if p is None:
            rep.add(make_issue("unknown-period", sheet=sheet, row=row, column=col, value=text,
                               suggestion="2019年第二季度、2019年上半年、2019年度"))
        elif p.end < plan.start or p.start > plan.end:
            rep.add(make_issue("period-outside-plan", sheet=sheet, row=row, column=col, value=text,
                               plan=plan.short_name, start=plan.start, end=plan.end))
            out.period = p
        elif p.start > today:
            rep.add(make_issue("period-future", sheet=sheet, row=row, column=col, value=text, today=today))
            out.period = p
        else:
            if p.end > today:
                rep.add(make_issue("period-not-ended", sheet=sheet, row=row, column=col, value=text, end=p.end))
            out.period = p
    for key in ("filler", "phone"):
        if key in found:
            out.cover[key] = raw_text(found[key][2]) or None
    if "fill_date" in found and raw_text(found["fill_date"][2]):
        row, col, value = found["fill_date"]
        d, why = parse_date(value)
        if why:
            rep.add(make_issue("invalid-date", sheet=sheet, row=row, column=col, value=raw_text(value),
                               severity="warning", hint=f"（{why}）"))
        out.cover["fill_date"] = d


# --------------------------------------------------------------------------
def _read_count(cell, sheet: str, row: int, col: str, rep: Report) -> float | None:
    """A non-negative whole number cell; None when blank or invalid."""
    n = parse_number(cell)
    raw = raw_text(cell)
    if n.problem:
        rep.add(make_issue(n.problem, sheet=sheet, row=row, column=col, value=raw,
                           hint="，请填写阿拉伯数字；未填报请留空"))
        return None
    if n.value is None:
        return None
    if n.value < 0:
        rep.add(make_issue("negative-number", sheet=sheet, row=row, column=col, value=raw))
        return None
    if not float(n.value).is_integer():
        rep.add(make_issue("not-whole-number", sheet=sheet, row=row, column=col, value=raw))
        return None
    if n.normalised:
        rep.add(make_issue("number-normalised", sheet=sheet, row=row, column=col, value=raw,
                           number=int(n.value)))
    return n.value


def _check_indicators(rows: list[list], sheet: str, ref: Reference, out: CheckedReturn) -> None:
    rep = out.report
    hit = _find_header(rows, IND_HEADERS, ("value",))
    if hit is None or "value" not in hit[1] or not ({"code", "name"} & hit[1].keys()):
        missing = "截至本期末累计值" if hit and "value" not in hit[1] else "指标编码"
        if hit is None:
            rep.add(make_issue("header-missing", sheet=sheet, expected="指标编码、指标名称、截至本期末累计值"))
        else:
            rep.add(make_issue("column-missing", sheet=sheet, expected=missing if "value" not in hit[1]
                               else "指标编码」或「指标名称"))
        return
    h, cols = hit
    out.value_header = cols["value"][1]
    lookup = ref.lookups["indicator"]
    seen: dict[str, int] = {}
    records = []
    for r in range(h + 1, len(rows)):
        row = rows[r]
        excel_row = r + 1
        code_raw = raw_text(row[cols["code"][0]]) if "code" in cols else ""
        name_raw = raw_text(row[cols["name"][0]]) if "name" in cols else ""
        value_cell = row[cols["value"][0]]
        inc_cell = row[cols["increase"][0]] if "increase" in cols else ""
        if (code_raw or name_raw).startswith(NOTE_PREFIXES):  # a note line under the table
            continue
        if not code_raw and not name_raw:
            if not is_blank(value_cell):
                rep.add(make_issue("unknown-indicator", sheet=sheet, row=excel_row,
                                   column=cols.get("code", cols.get("name"))[1], value="",
                                   hint="：有数值但没有指标编码和名称"))
            continue
        code = None
        if code_raw:
            m = lookup.resolve(code_raw)
            if m.ok:
                code = m.code
                if name_raw:
                    mn = lookup.resolve(name_raw)
                    if mn.code != code:
                        rep.add(make_issue("indicator-name-mismatch", sheet=sheet, row=excel_row,
                                           column=cols["name"][1], value=name_raw, ind=code,
                                           expected=lookup.names[code]))
            elif norm_key(code_raw) in TOTAL_MARKS:
                continue
            else:
                col = cols["code"][1]
                rep.add(make_issue("unknown-indicator", sheet=sheet, row=excel_row, column=col, value=code_raw,
                                   hint=hint_from(m.suggestion), suggestion=m.suggestion))
                continue
        else:
            m = lookup.resolve(name_raw)
            if not m.ok:
                if norm_key(name_raw) in TOTAL_MARKS:
                    continue
                rep.add(make_issue("unknown-indicator", sheet=sheet, row=excel_row, column=cols["name"][1],
                                   value=name_raw, hint=hint_from(m.suggestion), suggestion=m.suggestion))
                continue
            code = m.code
        if code in seen:
            rep.add(make_issue("duplicate-indicator", sheet=sheet, row=excel_row,
                               column=cols.get("code", cols.get("name"))[1], value=code_raw or name_raw,
                               ind=code, other_row=seen[code]))
            continue
        seen[code] = excel_row
        value = _read_count(value_cell, sheet, excel_row, cols["value"][1], rep)
        increase = _read_count(inc_cell, sheet, excel_row, cols["increase"][1], rep) if "increase" in cols else None
        note = raw_text(row[cols["note"][0]]) if "note" in cols else ""
        if value is None and increase is None and not note:
            continue
        records.append({"indicator_code": code, "value": value, "increase": increase,
                        "note": note or None, "row": excel_row})
    df = pd.DataFrame(records, columns=["indicator_code", "value", "increase", "note", "row"])
    df["value"] = df["value"].astype("Int64")
    df["increase"] = df["increase"].astype("Int64")
    out.indicators = df


# --------------------------------------------------------------------------
def _partner_info(ref: Reference):
    lookup = ref.lookups["partner"]
    kinds = dict(zip(ref.partners["code"], ref.partners["kind"]))

    def info(raw):
        parts = split_partners(raw)
        codes, problems = [], []
        for p in parts:
            m = lookup.resolve(p)
            if m.ok:
                if m.code not in codes:
                    codes.append(m.code)
            elif m.candidates or m.note:
                problems.append(("ambiguous-partner", p, m.suggestion, m.note))
            else:
                problems.append(("unknown-partner", p, m.suggestion, None))
        ks = [kinds[c] for c in codes]
        return (codes, tuple(ks), tuple(problems))  # one codes list per distinct cell, shared by its rows
    return info


def _check_items(rows: list[list], sheet: str, ref: Reference, out: CheckedReturn) -> None:
    """表2: one pass per column over plain lists; lookups once per distinct value."""
    rep = out.report
    hit = _find_header(rows, ITEM_HEADERS, ITEM_REQUIRED)
    if hit is None:
        rep.add(make_issue("header-missing", sheet=sheet, expected="事项名称、事项类别、所属领域"))
        return
    h, cols = hit
    missing = [ITEM_HEADERS[k][0] for k in ITEM_REQUIRED if k not in cols]
    for m in missing:
        rep.add(make_issue("column-missing", sheet=sheet, expected=m))
    if missing:
        return
    body = rows[h + 1:]
    first_row = h + 2  # Excel row of body[0]
    columns = list(zip(*body)) if body else [() for _ in rows[h]]  # one transpose, in C
    raw_cols = {k: (list(columns[cols[k][0]]) if k in cols else [""] * len(body)) for k in ITEM_HEADERS}
    text = {k: (_texts(v) if k not in NON_TEXT else _LazyText(v)) for k, v in raw_cols.items()}

    # blank rows, note lines and total rows are skipped
    def is_mark(t: str, marks=TOTAL_MARKS) -> bool:
        return bool(t) and not t[0].isdigit() and norm_key(t) in marks

    present = [text[k] if k not in NON_TEXT else [v != "" and v is not None for v in raw_cols[k]]
               for k in ITEM_HEADERS if k != "seq"]
    filled = [any(t) for t in zip(*present)]  # a row with only a 序号 is blank
    seq = [v.strip() if v.__class__ is str else "" for v in raw_cols["seq"]]  # only text can mark a total
    keep = [i for i, (f, sq, nm) in enumerate(zip(filled, seq, text["name"]))
            if f and not is_mark(sq) and not (not sq and is_mark(nm))
            and not sq.startswith(NOTE_PREFIXES) and not nm.startswith(NOTE_PREFIXES)]
    if len(keep) != len(body):
        raw_cols = {k: [v[i] for i in keep] for k, v in raw_cols.items()}
        text = {k: ([v[i] for i in keep] if k not in NON_TEXT else _LazyText(raw_cols[k])) for k, v in text.items()}
    rowno = [first_row + i for i in keep]
    n = len(rowno)
    col = {k: cols[k][1] for k in cols}

    def add(code: str, idx: list[int], key: str, **fields) -> None:
        for i in idx:
            rep.add(make_issue(code, sheet=sheet, row=rowno[i], column=col[key], value=text[key][i], **fields))

    for key in ITEM_REQUIRED:
        add("missing-value", [i for i in range(n) if not text[key][i]], key)

    # item type
    tl = ref.lookups["item_type"]
    tmatch = _per_distinct(text["type"], tl.resolve)
    item_type = [m.code for m in tmatch]
    for i in range(n):
        if item_type[i] is None and text["type"][i]:
            m = tmatch[i]
            hint = hint_from(m.suggestion, m.note) if m.suggestion else "；计划所列类别之外的事项请填「其他合作事项」"
            rep.add(make_issue("unknown-item-type", sheet=sheet, row=rowno[i], column=col["type"],
                               value=text["type"][i], hint=hint, suggestion=m.suggestion or "其他合作事项"))
    feeds = {r.name: (r.indicator_code or None) for r in ref.item_types.itertuples()}
    needs = dict(zip(ref.item_types["name"], ref.item_types["partner_required"]))
    indicator = [feeds.get(t) for t in item_type]

    # sector
    smatch = _per_distinct(text["sector"], ref.lookups["sector"].resolve)
    sector = [m.code for m in smatch]
    for i in range(n):
        if sector[i] is None and text["sector"][i]:
            m = smatch[i]
            rep.add(make_issue("unknown-sector", sheet=sheet, row=rowno[i], column=col["sector"],
                               value=text["sector"][i], hint=hint_from(m.suggestion), suggestion=m.suggestion))

    # partners
    pinfo = _per_distinct(text["partners"], _partner_info(ref))
    partner_col = col.get("partners", ITEM_HEADERS["partners"][0])
    pcodes: list[list[str]] = []
    for i in range(n):
        codes, kinds, probs = pinfo[i]
        pcodes.append(codes)
        for code, part, sugg, note in probs:
            rep.add(make_issue(code, sheet=sheet, row=rowno[i], column=partner_col, value=text["partners"][i],
                               part=part, hint=hint_from(sugg), note=note or "", suggestion=sugg))
        need = needs.get(item_type[i])
        if probs or need not in NEED_ZH:
            continue
        ok = bool(kinds) if need == "any" else need in kinds
        if ok:
            continue
        t = item_type[i]
        if codes:  # partners given, but of the other kind
            rep.add(make_issue("partner-wrong-kind", sheet=sheet, row=rowno[i], column=partner_col,
                               value=text["partners"][i], part_name=ref.partner_name(codes[0]),
                               part_kind=PARTNER_KIND_ZH[kinds[0]]
                               + ("（中国的地区，不是外国）" if kinds[0] == "domestic" else ""),
                               item_type=t, need=NEED_ZH[need],
                               suggestion="国内科技合作项目" if t == "国际科技合作项目" else None))
        else:
            rep.add(make_issue("partner-required", sheet=sheet, row=rowno[i], column=partner_col,
                               value=text["partners"][i], item_type=t, need=NEED_ZH[need]))

    # status
    stl = ref.lookups["status"]
    status = [m.code for m in _per_distinct(text["status"], stl.resolve)]
    add("unknown-status", [i for i in range(n) if status[i] is None and text["status"][i]], "status",
        expected="、".join(stl.names))
    live_status = dict(zip(ref.statuses["name"], ref.statuses["is_live"]))
    is_live = [bool(live_status.get(s, True)) for s in status]

    # start date
    dparsed = _per_distinct(raw_cols["start_date"], parse_date)
    start = [d for d, _ in dparsed]
    for i, (_, why) in enumerate(dparsed):
        if why:
            rep.add(make_issue("invalid-date", sheet=sheet, row=rowno[i], column=col["start_date"],
                               value=text["start_date"][i], hint=f"（{why}），请写成 2019-03-15 或 2019年3月15日"))
    if out.period is not None and "start_date" in col:
        end = out.period.end
        for i, d in enumerate(start):
            if d is not None and d > end:
                rep.add(make_issue("date-after-period", sheet=sheet, row=rowno[i], column=col["start_date"],
                                   value=text["start_date"][i], date=d, end=end))

    # funding
    fparsed = _per_distinct(raw_cols["funding"], parse_number)
    funding: list[float | None] = []
    for i, num in enumerate(fparsed):
        if num.problem:
            rep.add(make_issue("not-a-number", sheet=sheet, row=rowno[i], column=col["funding"],
                               value=text["funding"][i], hint="，投入经费请填写数字（万元）"))
            funding.append(None)
        elif num.value is not None and num.value < 0:
            rep.add(make_issue("negative-funding", sheet=sheet, row=rowno[i], column=col["funding"],
                               value=text["funding"][i]))
            funding.append(None)
        else:
            funding.append(num.value)

    # duplicates: same name and type (names compared as norm_key does, in one vectorised pass)
    names = pa.array(text["name"], pa.string())
    name_key = pc.utf8_lower(pc.replace_substring_regex(pc.utf8_normalize(names, "NFKC"), r"[\s:：]+", ""))
    dkey = pc.binary_join_element_wise(name_key, pa.array([t or text["type"][i] for i, t in enumerate(item_type)],
                                                          pa.string()), "\x1f").to_pylist()
    first_seen: dict[str, int] = {}
    for i, k in enumerate(dkey):
        if not text["name"][i]:
            continue
        if k in first_seen:
            rep.add(make_issue("duplicate-item", sheet=sheet, row=rowno[i], column=col["name"], value=text["name"][i],
                               item_type=item_type[i] or text["type"][i], other_row=first_seen[k]))
        else:
            first_seen[k] = rowno[i]

    def objects(values: list) -> pd.Series:
        return pd.Series(values, dtype=object)

    def texts(key: str) -> pd.Series:
        return objects([v or None for v in text[key]])

    out.items = pd.DataFrame({
        "row": pd.Series(rowno, dtype="int64"),
        "item_name": objects(text["name"]),
        "item_type": objects(item_type),
        "indicator_code": objects(indicator),
        "sector_code": objects(sector),
        "partners": objects(pcodes),
        "partner_institutions": texts("partner_institutions"),
        "local_institution": texts("local_institution"),
        "start_date": objects(start),
        "status": objects(status),
        "is_live": pd.Series(is_live, dtype=bool),
        "funding_wan": pd.Series([np.nan if f is None else f for f in funding], dtype="float64"),
        "note": texts("note"),
    })
    kinds = dict(zip(ref.partners["code"], ref.partners["kind"]))
    pairs = [(r, c) for r, codes in zip(rowno, pcodes) for c in codes]
    out.item_partners = pd.DataFrame({
        "row": pd.Series([r for r, _ in pairs], dtype="int64"),
        "partner_code": objects([c for _, c in pairs]),
        "partner_kind": objects([kinds[c] for _, c in pairs]),
    })


def _texts(values: list) -> list[str]:
    """raw_text for a column of (mostly) strings: strings are only trimmed."""
    return [v.strip() if v.__class__ is str else raw_text(v) for v in values]


class _LazyText:
    """raw_text of a number or date column, computed only for the cells a message shows."""

    def __init__(self, values: list):
        self.values = values

    def __getitem__(self, i: int) -> str:
        return raw_text(self.values[i])

    def __len__(self) -> int:
        return len(self.values)


def _per_distinct(values: list, fn) -> list:
    """``fn`` applied once per distinct value; cells are str, float, int, bool, date or ''."""
    table = {v: fn(v) for v in set(values)}
    return [table[v] for v in values]


def _check_totals(out: CheckedReturn, ref: Reference, ind_sheet: str, items_sheet: str) -> None:
    if out.indicators is None or out.items is None:
        return
    reported = out.indicators.dropna(subset=["value"])
    if reported.empty:
        return
    items = out.items
    if items.empty:
        out.report.add(make_issue("items-empty", sheet=items_sheet, count=len(reported)))
        return
    counts = items[items["is_live"]].groupby("indicator_code").size()
    for r in reported.itertuples():
        c = int(counts.get(r.indicator_code, 0))
        if c != int(r.value):
            out.report.add(make_issue("totals-mismatch", sheet=ind_sheet, row=int(r.row), column=out.value_header,
                                      value=str(r.value), ind=r.indicator_code,
                                      expected=ref.indicator_name(r.indicator_code), number=int(r.value), count=c))


def _column_title(rows: list[list], role: str, row: int, col: int) -> str | None:
    """The header (表1, 表2) or label (封面) naming the cell at Excel (row, col), as found."""
    if not 1 <= row <= len(rows):
        return None
    if role == "cover":
        label = next((c for c in reversed(rows[row - 1][:col - 1]) if raw_text(c)), None)
        return None if label is None else "".join(str(label).split()).rstrip("：:")
    spec, must = (IND_HEADERS, ("value",)) if role == "indicators" else (ITEM_HEADERS, ITEM_REQUIRED)
    hit = _find_header(rows, spec, must)
    if hit is None or row <= hit[0] + 1 or col > len(rows[hit[0]]):
        return None
    return "".join(str(rows[hit[0]][col - 1]).split()) or None


def _name_formula_columns(wb: RawWorkbook) -> list[Issue]:
    """read.py locates a formula or error cell by its column letter; name its header instead."""
    role_of = {sheet: role for role, sheet in wb.names.items()}
    out = []
    for issue in wb.issues:
        rows = wb.sheets.get(role_of.get(issue.sheet, ""))
        if issue.code in ("formula-no-value", "cell-error") and rows:
            title = _column_title(rows, role_of[issue.sheet], issue.row, _col_number(issue.column))
            if title:
                issue = make_issue(issue.code, sheet=issue.sheet, row=issue.row, column=title,
                                   value=issue.value, cell=f"{issue.column}{issue.row}")
        out.append(issue)
    return out


def check_workbook(wb: RawWorkbook, data_hash: str, ref: Reference | None = None,
                   today: date | None = None) -> CheckedReturn:
    ref = ref or load_reference()
    today = today or date.today()
    out = CheckedReturn(file_name=wb.file_name, file_hash=data_hash, sheet_names=dict(wb.names))
    out.report.extend(_name_formula_columns(wb))
    if "cover" in wb.sheets:
        _check_cover(wb.sheets["cover"], wb.names["cover"], ref, out, today)
    if "indicators" in wb.sheets:
        _check_indicators(wb.sheets["indicators"], wb.names["indicators"], ref, out)
    if "items" in wb.sheets:
        _check_items(wb.sheets["items"], wb.names["items"], ref, out)
    _check_totals(out, ref, wb.names.get("indicators", ""), wb.names.get("items", ""))
    if (out.indicators is not None and out.items is not None and out.report.ok
            and out.indicators["value"].isna().all() and out.items.empty):
        out.report.add(make_issue("empty-return", sheet=None))
    return out


def check_return(data: bytes, file_name: str, ref: Reference | None = None, today: date | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> CheckedReturn:
    """Read and check one return. Never raises on bad input."""
    wb = read_workbook(data, file_name, limits)
    return check_workbook(wb, file_hash(data), ref, today)


def has_errors(issues: list[Issue]) -> bool:
    return any(i.severity == ERROR for i in issues)
