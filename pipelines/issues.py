"""Problems found in a return: codes for programs, Chinese messages for people.

After frictionless' errors: every Issue carries a stable ``code``, where it
is (sheet, Excel row number, column header as found, raw cell value), the
parameters its message was rendered from (``params``) and the message itself.
Checks yield Issues; they never raise on bad input.

An Issue is data from end to end: ``Issue.to_dict()`` / ``Issue.from_dict()``
are the one serialisation, used by the store (the ``issues`` table), the
command line's JSON, the pages, the annotated workbook and the tests.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .normalise import visible

ERROR = "error"
WARNING = "warning"

# code -> (severity, title, template). The template is the part after the
# location prefix; {value} is the cell's text, other fields come from the check.
CATALOGUE: dict[str, tuple[str, str, str]] = {
    # file level
    "file-unreadable": (ERROR, "文件无法读取", "无法读取文件「{value}」：文件已损坏或不是Excel工作簿（{detail}）"),
    "file-encrypted": (ERROR, "文件有密码", "文件「{value}」设置了打开密码，请取消密码后另存再上传"),
    "file-type": (ERROR, "文件类型不支持", "文件「{value}」不是Excel工作簿，只接受 .xlsx、.xlsm、.xls 文件"),
    "file-too-large": (ERROR, "文件过大", "文件「{value}」{detail}，超过上限{limit}，请删除无关内容后再上传"),
    "part-too-large": (ERROR, "文件内容过大", "文件「{value}」中的{part}解压后超过{limit}（{scope}），可能是压缩炸弹或含有大量无关内容，请删除无关内容后另存再上传"),
    "text-too-large": (ERROR, "单元格文字过多", "三张表的单元格文字合计超过上限{limit}（同一段文字被多个单元格引用时按每次引用计算），请删除无关内容后再上传"),
    "reader-failed": (ERROR, "文件无法读取", "读取文件「{value}」时{detail}，请删除无关内容后另存为 .xlsx 再上传；仍不能读取请联系管理员"),
    "cell-too-long": (ERROR, "单元格文字过长", "单元格{cell}有{length}个字符，超过上限{limit}个字符{more}，请删减后再上传"),
    "sheet-missing": (ERROR, "缺少工作表", "缺少工作表「{expected}」（现有工作表：{value}）"),
    "sheet-too-large": (ERROR, "工作簿过大", "工作表或工作表数量超出上限（{value}，上限{limit}），请删除无关的行、列或工作表后再上传"),
    "header-missing": (ERROR, "找不到表头", "找不到表头行：应有「{expected}」等列"),
    "column-missing": (ERROR, "缺少列", "缺少必填列「{expected}」"),
    "label-missing": (ERROR, "缺少封面项目", "缺少「{expected}」，请在封面「{expected}」右侧单元格填写"),
    "formula-no-value": (ERROR, "公式没有计算结果", "单元格{cell}是公式「{value}」，但文件中没有保存计算结果，请在Excel中打开、重新计算并保存后再上传"),
    "internal-error": (ERROR, "程序内部错误", "检查文件「{value}」时程序内部出错，文件未载入；详细信息已写入日志，请联系管理员"),
    "file-unopenable": (ERROR, "文件无法打开", "无法打开文件「{value}」：{detail}"),
    "invisible-chars": (WARNING, "有看不见的字符", "「{value}」中有看不见的字符（{chars}），已删除，按「{clean}」读取"),
    "invisible-chars-more": (WARNING, "有看不见的字符", "另有{count}个单元格中有看不见的字符，均已删除"),
    "cell-error": (ERROR, "单元格是错误值", "单元格{cell}显示错误值「{value}」，请改正公式或数值后再上传"),
    # cover
    "unknown-unit": (ERROR, "无法识别填报单位", "无法识别填报单位「{value}」{hint}"),
    "ambiguous-unit": (ERROR, "填报单位有歧义", "填报单位「{value}」有歧义：{note}"),
    "unknown-period": (ERROR, "无法识别报告期", "无法识别报告期「{value}」，请写成「2019年第二季度」「2019年上半年」或「2019年度」等形式"),
    "period-future": (ERROR, "报告期在未来", "报告期「{value}」尚未开始（今天是{today}）"),
    "period-not-ended": (WARNING, "报告期尚未结束", "报告期「{value}」到{end}才结束，数据按期末口径填报，请确认"),
    "period-outside-plan": (ERROR, "报告期不在计划期内", "报告期「{value}」不在{plan}的期限（{start}至{end}）内"),
    "invalid-date": (ERROR, "日期无效", "「{value}」不是有效日期{hint}"),
    # indicators (表1)
    "unknown-indicator": (ERROR, "无法识别指标", "无法识别指标「{value}」{hint}"),
    "indicator-name-mismatch": (WARNING, "指标编码与名称不一致", "指标编码为{ind}（{expected}），但名称写的是「{value}」，已按编码读取"),
    "duplicate-indicator": (ERROR, "指标重复", "指标{ind}重复填报（第{other_row}行已填）"),
    "negative-number": (ERROR, "数值为负", "「{value}」是负数，应为不小于0的整数"),
    "not-whole-number": (ERROR, "不是整数", "「{value}」不是整数，本列应填写整数个数"),
    "not-a-number": (ERROR, "不是数字", "「{value}」不是数字{hint}"),
    "odd-digits": (ERROR, "数字写法不对", "「{value}」中的「{chars}」不是0-9的数字，请用0-9（阿拉伯数字）填写"),
    "number-too-large": (ERROR, "数值超出范围", "「{value}」超出合理范围，本列应为0到{limit}之间的整数"),
    "funding-too-large": (ERROR, "经费超出范围", "投入经费「{value}」超出合理范围（上限{limit}万元），请核对单位是否为万元"),
    "number-normalised": (WARNING, "数值已自动转换", "「{value}」按{number}读取，请只填写数字"),
    "value-decreased": (WARNING, "累计值下降", "{ind}的累计值{number}低于上一报告期（{previous_period}）的{previous}，累计数一般不应下降，请核实"),
    "totals-mismatch": (WARNING, "表1与表2不一致", "{ind}（{expected}）填报{number}，但表2中此类在建/有效事项有{count}项，合计与明细不一致"),
    # items (表2)
    "missing-value": (ERROR, "必填项为空", "必填项为空"),
    "unknown-item-type": (ERROR, "无法识别事项类别", "无法识别事项类别「{value}」{hint}"),
    "unknown-sector": (ERROR, "无法识别所属领域", "「{value}」不是所属领域名称{hint}"),
    "unknown-partner": (ERROR, "无法识别合作国家（地区）", "无法识别「{part}」{hint}"),
    "ambiguous-partner": (ERROR, "合作国家（地区）有歧义", "「{part}」有歧义：{note}"),
    "partner-required": (ERROR, "缺少合作国家（地区）", "「{item_type}」需要填写{need}"),
    "partner-wrong-kind": (ERROR, "合作国家（地区）类别不符", "{part_name}是{part_kind}，「{item_type}」需要{need}"),
    "unknown-status": (ERROR, "无法识别状态", "无法识别状态「{value}」，应为：{expected}"),
    "date-after-period": (ERROR, "日期晚于报告期末", "日期{date}晚于报告期末（{end}）"),
    "duplicate-item": (ERROR, "事项重复", "「{value}」（{item_type}）与第{other_row}行是同一事项，重复列出"),
    "negative-funding": (ERROR, "经费为负", "投入经费「{value}」为负数"),
    "items-empty": (WARNING, "表2没有事项", "表1填报了{count}项指标，但表2没有列出任何事项，无法核对合计与明细"),
    "empty-return": (WARNING, "没有任何数据", "表1和表2都没有填报任何数据"),
    # loading
    "items-removed": (ERROR, "将删除事项", "本次报送将删除当前版本（第{previous}版）中的{count}项事项：{names}；"
                                          "已按要求拒绝载入，请核对后再载入"),
}

# Suggestion phrasing shared by templates that take a {hint}.
def hint_from(suggestion: str | None, note: str | None = None) -> str:
    if note:
        return f"：{note}"
    if suggestion:
        return f"，是否为「{suggestion}」？"
    return ""


ISSUE_FIELDS = ("code", "severity", "sheet", "row", "column", "value", "message", "suggestion", "params")


def _blank(v) -> bool:
    """None, NaN or pandas' NA (as read back from a table)."""
    if v is None:
        return True
    try:
        return bool(v != v)
    except TypeError:
        return True


@dataclass(frozen=True)
class Issue:
    code: str
    severity: str
    sheet: str | None
    row: int | None
    column: str | None
    value: str | None
    message: str
    suggestion: str | None = None
    # what the message was rendered from (the template's fields), as JSON-safe values
    params: dict = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict:
        """The Issue as plain data: ISSUE_FIELDS, ``params`` a dict."""
        return {"code": self.code, "severity": self.severity, "sheet": self.sheet, "row": self.row,
                "column": self.column, "value": self.value, "message": self.message,
                "suggestion": self.suggestion, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, d: dict) -> "Issue":
        """The inverse of ``to_dict``; also takes a row read back from the store (NaN/NA as None,
        ``params`` as JSON text). A missing message is rendered from ``code`` and ``params``."""
        get = {k: (None if _blank(d.get(k)) else d.get(k)) for k in ISSUE_FIELDS}
        params = get["params"] or {}
        if isinstance(params, str):
            params = json.loads(params) if params else {}
        code = get["code"]
        if get["message"] is None:
            return make_issue(code, sheet=get["sheet"], row=get["row"], column=get["column"], value=get["value"],
                              suggestion=get["suggestion"], severity=get["severity"], **params)
        return cls(code=code, severity=get["severity"] or CATALOGUE.get(code, (ERROR,))[0], sheet=get["sheet"],
                   row=None if get["row"] is None else int(get["row"]), column=get["column"],
                   value=None if get["value"] is None else str(get["value"]), message=get["message"],
                   suggestion=get["suggestion"], params=dict(params))

    @property
    def title(self) -> str:
        """The code's short Chinese title (「累计值下降」)."""
        return CATALOGUE.get(self.code, ("", self.code, ""))[1]


def _json_safe(v):
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return str(v)


def make_issue(code: str, *, sheet: str | None = None, row: int | None = None,
               column: str | None = None, value: object = None,
               suggestion: str | None = None, severity: str | None = None, **fields: object) -> Issue:
    """Build an Issue, rendering its Chinese message from the code's template.

    The message shows every invisible character by name (``normalise.visible``);
    ``value`` keeps the cell's text as it was."""
    sev, _title, template = CATALOGUE[code]
    text = "" if value is None else str(value)
    fields.setdefault("hint", "")
    body = template.format(value=text, **fields)
    if sheet and row is not None and column:
        prefix = f"{sheet} 第{row}行「{column}」："
    elif sheet and row is not None:
        prefix = f"{sheet} 第{row}行："
    elif sheet and column:
        prefix = f"{sheet}「{column}」："
    elif sheet:
        prefix = f"{sheet}："
    else:
        prefix = ""
    params = {k: _json_safe(v) for k, v in fields.items() if not (k == "hint" and v == "")}
    return Issue(code=code, severity=severity or sev, sheet=sheet, row=row, column=column,
                 value=None if value is None else text, message=visible(prefix + body),
                 suggestion=suggestion, params=params)


ISSUE_COLUMNS = ["severity", "sheet", "row", "column", "value", "message", "suggestion", "code", "params"]
SEVERITY_ZH = {ERROR: "错误", WARNING: "提示"}


class HasIssues:
    """``errors`` and ``warnings`` of anything holding a list of Issues in ``.issues``."""

    issues: list[Issue]

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == WARNING]


@dataclass
class Report(HasIssues):
    issues: list[Issue] = field(default_factory=list)

    def add(self, issue: Issue) -> None:
        self.issues.append(issue)

    def extend(self, issues) -> None:
        self.issues.extend(issues)


    @property
    def ok(self) -> bool:
        return not self.errors

    def flatten(self, keys: list[str]) -> list[list]:
        return [[getattr(i, k) for k in keys] for i in self.issues]

    def to_frame(self):
        import pandas as pd

        rows = [i.to_dict() for i in self.issues]
        df = pd.DataFrame(rows, columns=ISSUE_COLUMNS)
        order = {ERROR: 0, WARNING: 1}
        df = df.assign(_o=df["severity"].map(order)).sort_values(
            ["_o", "sheet", "row"], na_position="first", kind="stable").drop(columns="_o")
        return df.reset_index(drop=True)
