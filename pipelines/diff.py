"""What an uploaded return is, and what loading it would change.

``preview(db_path, checked)`` answers, before anything is written: which unit
and period the file is, the version it would become, whether it replaces a
current version (and which), whether the very same file was loaded before,
and, when it replaces a version, the items added, removed and changed and
the indicator values before and after. It adds the checks that need what is
already loaded (``store.history_issues``), so the preview shows the warnings
the load will record.

``check_upload`` (read + check + preview) and ``confirm_load`` (the guarded
load) are the two calls the upload page makes; tests call them directly.
Read-only connections only, through ``store.connect``; a database that does
not exist yet is an empty one.

Example:
    >>> p = check_upload("var/kjhz.duckdb", data, "包头市_2019年上半年.xlsx")
    >>> p.status, p.version, p.replaces
    ('warnings', 2, ReplacedVersion(submission_id=17, version=1, ...))
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from . import admin, store
from .checks import CheckedReturn, check_return, failed_return, item_key
from .faults import log_exception
from .issues import ERROR, SEVERITY_ZH, WARNING, HasIssues, Issue
from .read import DEFAULT_LIMITS, SHEETS, Limits
from .reference import Reference, load_reference, norm_key

STATUS_OK, STATUS_WARNINGS, STATUS_ERRORS, STATUS_DUPLICATE = "ok", "warnings", "errors", "duplicate"
STATUS_LABELS = {
    STATUS_OK: "可以载入",
    STATUS_WARNINGS: "有提示",
    STATUS_ERRORS: "有错误不能载入",
    STATUS_DUPLICATE: "重复文件",
}

# Item fields compared between versions: column in CheckedReturn.items / v_items -> label.
ITEM_FIELDS = {
    "sector_code": "所属领域",
    "partners": "合作国家（地区）",
    "status": "状态",
    "start_date": "起始日期",
    "funding_wan": "投入经费（万元）",
}
ITEM_COLUMNS = ["item_name", "item_type", "sector", "partners", "status"]
CHANGE_COLUMNS = ["item_name", "item_type", "field", "before", "after"]
INDICATOR_COLUMNS = ["indicator_code", "name", "measure", "before", "after", "change"]
ISSUE_TABLE_COLUMNS = ["严重程度", "工作表", "行", "列", "值", "说明", "建议"]
BLANK = "—"


@dataclass(frozen=True)
class ReplacedVersion:
    """The current version a load would supersede."""

    submission_id: int
    version: int
    file_name: str
    received_at: datetime | None
    received_by: str | None
    period_code: str | None = None  # may differ from the new file's (2019H1 and 2019Q2 both end 2019-06-30)


@dataclass(frozen=True)
class LoadedCopy:
    """A loaded submission with exactly the same bytes."""

    submission_id: int
    version: int
    unit_code: str | None
    period_code: str | None
    file_name: str
    received_at: datetime | None
    received_by: str | None
    is_current: bool


@dataclass
class Preview(HasIssues):
    file_name: str
    file_hash: str
    checked: CheckedReturn = field(repr=False)
    unit_code: str | None = None
    unit_name: str | None = None
    period_code: str | None = None
    period_label: str | None = None
    period_end: date | None = None
    version: int | None = None  # the version number a load would get
    replaces: ReplacedVersion | None = None
    duplicate: LoadedCopy | None = None
    issues: list[Issue] = field(default_factory=list)
    added: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ITEM_COLUMNS))
    removed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ITEM_COLUMNS))
    changed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHANGE_COLUMNS))
    indicators: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INDICATOR_COLUMNS))


    @property
    def status(self) -> str:
        if self.duplicate is not None:
            return STATUS_DUPLICATE
        if self.errors:
            return STATUS_ERRORS
        if self.warnings:
            return STATUS_WARNINGS
        return STATUS_OK

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def loadable(self) -> bool:
        return self.status in (STATUS_OK, STATUS_WARNINGS)

    @property
    def n_changed_items(self) -> int:
        return int(self.changed[["item_name", "item_type"]].drop_duplicates().shape[0])

    @property
    def removes_items(self) -> bool:
        """Whether loading would drop items the current version lists (the load needs
        ``removals_accepted``)."""
        return self.loadable and self.replaces is not None and len(self.removed) > 0

    @property
    def has_changes(self) -> bool:
        return bool(len(self.added) or len(self.removed) or len(self.changed)
                    or self.indicators["change"].fillna(1).ne(0).any())

    def describe(self) -> str:
        """One line: 「包头市 · 2019年上半年 · 将成为第2版（取代第1版）」."""
        parts = [self.unit_name or "填报单位未识别", self.period_label or "报告期未识别"]
        if self.duplicate is not None:
            parts.append(f"与已载入的第{self.duplicate.version}版完全相同")
        elif self.loadable and self.version:
            parts.append(f"将成为第{self.version}版" + (f"（取代第{self.replaces.version}版）" if self.replaces else "（首次报送）"))
        return " · ".join(parts)


# --------------------------------------------------------------------------
def preview(db_path: Path | str, checked: CheckedReturn, ref: Reference | None = None) -> Preview:
    """What ``checked`` is and what loading it into ``db_path`` would change (reads only)."""
    ref = ref or load_reference()
    p = checked.period
    out = Preview(
        file_name=checked.file_name, file_hash=checked.file_hash, checked=checked,
        unit_code=checked.unit_code, unit_name=ref.unit_name(checked.unit_code) if checked.unit_code else None,
        period_code=p.code if p else None, period_label=p.label if p else None, period_end=p.end if p else None,
        issues=list(checked.report.issues),
    )
    known = checked.unit_code is not None and p is not None
    before_items = pd.DataFrame()
    before_values: dict[str, int] = {}
    db_path = Path(db_path)
    if db_path.exists():
        with store.connect(db_path, on_wait=None) as con:
            if store.table_exists(con, "v_submissions"):
                out.duplicate = _loaded_copy(con, checked.file_hash)
                out.issues += store.history_issues(con, checked)
                if known:
                    out.version = store.next_version(con, checked.unit_code, p.end)
                    cur = store.current_submission(con, checked.unit_code, p.end)
                    if cur is not None:
                        out.replaces = ReplacedVersion(**{k: cur[k] for k in _REPLACED_FIELDS})
                        before_items = store.version_items(con, cur["submission_id"])
                        before_values = store.version_values(con, cur["submission_id"])
            elif known:
                out.version = 1
    elif known:
        out.version = 1
    if out.duplicate is not None:
        out.version = None
    if out.replaces is not None and checked.items is not None:
        out.added, out.removed, out.changed = compare_items(before_items, checked.items, ref)
    out.indicators = compare_values(before_values if out.replaces is not None else None, checked.indicators, ref)
    return out


def check_upload(db_path: Path | str, data: bytes, file_name: str, ref: Reference | None = None,
                 today: date | None = None, limits: Limits = DEFAULT_LIMITS) -> Preview:
    """Read and check an uploaded file, then preview it against the database. Never writes.

    A fault of the checker itself (not of the file) becomes the file's ``internal-error`` and its
    traceback goes to the log beside the database (``faults.log_exception``): a bug must not cost
    the user the page.
    """
    ref = ref or load_reference()
    admin.apply_from(db_path, ref)  # aliases and settings an administrator added take effect at once
    try:
        checked = check_return(data, file_name, ref=ref, today=today, limits=limits)
    except Exception as exc:  # check_return answers for every file itself; this guards the guard
        checked = failed_return(data, file_name, exc)
    if checked.failure is None:
        try:
            return preview(db_path, checked, ref=ref)
        except store.BusyError:
            raise  # the database, not the file: the page says so
        except Exception as exc:  # a bug in the preview: this file's error, the log has why
            checked = failed_return(data, file_name, exc)
    log_exception(db_path, checked.failure, f"upload check {file_name} ({checked.file_hash})")
    return preview(db_path, checked, ref=ref)


class LoadRefused(ValueError):
    """The page asked to load a file that must not be loaded (yet)."""


def confirm_load(db_path: Path | str, pv: Preview, data: bytes, *, who,
                 warnings_accepted: bool = False, removals_accepted: bool = False, source: str = "web",
                 on_wait=None) -> store.LoadResult:
    """Load a previewed file as the new current version, after the user confirmed.

    ``who`` is the logged-in ``accounts.Account`` (from the web page it must
    be one, allowed to send for the file's own 填报单位: ``PermissionDenied``
    otherwise; a plain name is a run on the server).
    Refused (``LoadRefused``, nothing written) when the file has errors, is a
    duplicate, has warnings the user did not accept, or would remove items of the
    current version without ``removals_accepted`` (checked again inside the load, so
    a version loaded meanwhile by someone else cannot slip through).
    """
    if pv.errors:
        raise LoadRefused(f"「{pv.file_name}」有{len(pv.errors)}个错误，不能载入；请修改后重新上传。")
    if pv.duplicate is not None:
        raise LoadRefused(f"「{pv.file_name}」与已载入的第{pv.duplicate.version}版完全相同，无需再次载入。")
    if pv.warnings and not warnings_accepted:
        raise LoadRefused(f"「{pv.file_name}」有{len(pv.warnings)}个提示，请先核对并勾选「我已核对以上提示，确认无误」。")
    if pv.removes_items and not removals_accepted:
        raise LoadRefused(f"「{pv.file_name}」未载入：本次报送将删除当前版本中的{len(pv.removed)}项事项，"
                          "请先核对并勾选确认。")
    kwargs = {"on_wait": on_wait} if on_wait is not None else {}
    r = store.save_checked(db_path, pv.checked, data, who=who.strip() or None if isinstance(who, str) else who, source=source,
                           record_rejected=False, refuse_removals=not removals_accepted, **kwargs)
    if r.status == "rejected" and any(i.code == "items-removed" for i in r.errors):
        raise LoadRefused(f"「{pv.file_name}」未载入：当前版本已变化，本次报送将删除其中的{len(r.removed_items)}项事项，"
                          "请重新检查并确认。")
    return r


# --------------------------------------------------------------------------
_REPLACED_FIELDS = ("submission_id", "version", "file_name", "received_at", "received_by", "period_code")
_COPY_FIELDS = ("submission_id", "version", "unit_code", "period_code", "file_name", "received_at", "received_by",
                "is_current")


def _loaded_copy(con, digest: str) -> LoadedCopy | None:
    hit = store.find_loaded(con, digest)
    row = None if hit is None else store.submission_row(con, hit[0])
    return None if row is None else LoadedCopy(**{k: row[k] for k in _COPY_FIELDS})


def _missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _partner_tuple(v) -> tuple[str, ...]:
    if v is None or isinstance(v, float):
        return ()
    if isinstance(v, str):
        return (v,) if v else ()
    try:
        return tuple(str(x) for x in v if not _missing(x))
    except TypeError:
        return ()


def _norm_value(col: str, v):
    """A comparable form of a field value."""
    if col == "partners":
        return tuple(sorted(_partner_tuple(v)))
    if _missing(v):
        return None
    if col == "start_date":
        return pd.Timestamp(v).date()
    if col == "funding_wan":
        return round(float(v), 4)
    return str(v)


def _show(col: str, v, ref: Reference) -> str:
    """A field value as the page shows it (names, not codes)."""
    if col == "partners":
        codes = _partner_tuple(v)
        return "、".join(ref.partner_name(c) for c in codes) or BLANK
    if _missing(v):
        return BLANK
    if col == "sector_code":
        return ref.sector_name(str(v))
    if col == "start_date":
        return pd.Timestamp(v).date().isoformat()
    if col == "funding_wan":
        f = float(v)
        return str(int(f)) if f.is_integer() else f"{f:g}"
    return str(v)


def _item_frame(items: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    if items.empty:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    return pd.DataFrame({
        "item_name": items["item_name"].astype(object).tolist(),
        "item_type": [BLANK if _missing(t) else t for t in items["item_type"]],
        "sector": [_show("sector_code", v, ref) for v in items["sector_code"]],
        "partners": [_show("partners", v, ref) for v in items["partners"]],
        "status": [_show("status", v, ref) for v in items["status"]],
    }, columns=ITEM_COLUMNS)


def compare_items(before: pd.DataFrame, after: pd.DataFrame, ref: Reference | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """-> (added, removed, changed). Items match by name (as the checker compares
    names) and type; ``changed`` has one row per changed field, in the new file's order."""
    ref = ref or load_reference()
    before = before if len(before) else pd.DataFrame(columns=["item_name", "item_type", *ITEM_FIELDS])
    after = after if len(after) else pd.DataFrame(columns=["item_name", "item_type", *ITEM_FIELDS])
    bkeys = [item_key(n, t) for n, t in zip(before["item_name"], before["item_type"])]
    akeys = [item_key(n, t) for n, t in zip(after["item_name"], after["item_type"])]
    bpos: dict[tuple, int] = {}
    for i, k in enumerate(bkeys):
        bpos.setdefault(k, i)
    apos: dict[tuple, int] = {}
    for i, k in enumerate(akeys):
        apos.setdefault(k, i)
    added_idx = [i for k, i in apos.items() if k not in bpos]
    removed_idx = [i for k, i in bpos.items() if k not in apos]
    changes = []
    for k, i in apos.items():
        j = bpos.get(k)
        if j is None:
            continue
        a, b = after.iloc[i], before.iloc[j]
        for col, label in ITEM_FIELDS.items():
            av = a[col] if col in after.columns else None
            bv = b[col] if col in before.columns else None
            if _norm_value(col, av) != _norm_value(col, bv):
                changes.append({"item_name": a["item_name"], "item_type": a["item_type"], "field": label,
                                "before": _show(col, bv, ref), "after": _show(col, av, ref)})
    added = _item_frame(after.iloc[added_idx], ref).reset_index(drop=True)
    removed = _item_frame(before.iloc[removed_idx], ref).reset_index(drop=True)
    changed = pd.DataFrame(changes, columns=CHANGE_COLUMNS)
    return added, removed, changed


def compare_values(before: dict[str, int] | None, indicators: pd.DataFrame | None,
                   ref: Reference | None = None) -> pd.DataFrame:
    """Indicator values before (the replaced version; None: nothing replaced) and after, in plan order.

    Only indicators reported in either version are listed; ``change`` is
    after - before where both are reported.
    """
    ref = ref or load_reference()
    after: dict[str, int] = {}
    if indicators is not None and len(indicators):
        for code, v in zip(indicators["indicator_code"], indicators["value"]):
            if not _missing(v):
                after[code] = int(v)
    before = before or {}
    rows = []
    for r in ref.plan.indicators.itertuples():
        if r.code not in after and r.code not in before:
            continue
        b, a = before.get(r.code), after.get(r.code)
        rows.append({"indicator_code": r.code, "name": r.name, "measure": r.unit, "before": b, "after": a,
                     "change": None if a is None or b is None else a - b})
    df = pd.DataFrame(rows, columns=INDICATOR_COLUMNS)
    for c in ("before", "after", "change"):
        df[c] = df[c].astype("Int64")
    return df


def _sheet_rank(sheet: str | None) -> int:
    """File-level problems first, then 封面, 表1, 表2 (however the sheets are spelled)."""
    if not sheet:
        return 0
    key = norm_key(sheet)
    for rank, role in enumerate(("cover", "indicators", "items"), 1):
        if key in {norm_key(s) for s in SHEETS[role]}:
            return rank
    return 4


def _body(i: Issue) -> str:
    """The message without its location prefix (the table has sheet, row and column columns)."""
    for prefix in (f"{i.sheet} 第{i.row}行「{i.column}」：", f"{i.sheet} 第{i.row}行：", f"{i.sheet}「{i.column}」：",
                   f"{i.sheet}："):
        if i.sheet and i.message.startswith(prefix) and len(i.message) > len(prefix):
            return i.message[len(prefix):]
    return i.message


def issues_table(issues: list[Issue]) -> pd.DataFrame:
    """The problems as the upload page lists them: errors first, then by sheet and row."""
    order = {ERROR: 0, WARNING: 1}
    ranked = sorted(enumerate(issues), key=lambda t: (order.get(t[1].severity, 2), _sheet_rank(t[1].sheet),
                                                      t[1].row or 0, t[0]))
    rows = [[SEVERITY_ZH.get(i.severity, i.severity), i.sheet or "", i.row, i.column or "",
             i.value if i.value not in (None, "") else "", _body(i), i.suggestion or ""] for _, i in ranked]
    df = pd.DataFrame(rows, columns=ISSUE_TABLE_COLUMNS)
    df["行"] = df["行"].astype("Int64")
    return df
