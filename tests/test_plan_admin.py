"""系统管理 → 计划目标: baselines, targets and unit allocations stored in the database over the plan file.

Validated, audited with before and after, reset to the plan file's value (audited too), laid over the
reference data of every page and command line without a restart.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from pipelines import admin, audit, store
from pipelines.accounts import Account, PermissionDenied
from pipelines.admin import PlanChange
from pipelines.progress import progress_table
from pipelines.reference import load_reference, plan_file
from pipelines.vocab import pct
from tests.dbfixtures import demo_db_copy
from tests.factories import make_user
from tests.test_pages_region import open_page as open_region, texts, titles
from tests.test_upload_page import open_page as open_logged_in

REPO = Path(__file__).resolve().parent.parent
BAOTOU, CHIFENG = "150200", "150400"
AS_OF = date(2019, 12, 31)


@pytest.fixture(autouse=True)
def plan_file_values_afterwards():
    """The process-wide reference data is the plan file's again after each test (pages lay the database's
    values over it; other tests expect the file's)."""
    yield
    ref, base = load_reference(), plan_file(load_reference().plan.id)
    ref.plan = replace(base, indicators=base.indicators.copy(), allocations=base.allocations.copy())


@pytest.fixture
def demo(tmp_path):
    db = demo_db_copy(tmp_path)
    make_user(db, "admin1", "管理员")
    make_user(db, "baotou", "填报员", unit="包头市")
    return db


def account(db, name) -> Account:
    from pipelines import accounts

    with store.connect(db) as con:
        return accounts.get_account(con, name)


def fresh_ref():
    return copy.deepcopy(load_reference())


def log(db, *actions):
    with store.connect(db) as con:
        return audit.query(con, actions=actions)


def test_only_an_administrator_changes_plan_values(demo):
    ref = fresh_ref()
    filer = account(demo, "baotou")
    with store.connect(demo, write=True) as con:
        for who in (None, filer):
            with pytest.raises(PermissionDenied):
                admin.set_plan_value(con, who, ref, "allocation", "I04", 10, BAOTOU)
            with pytest.raises(PermissionDenied):
                admin.reset_plan_value(con, who, ref, "target", "I01")
    assert ref.plan.allocations.empty
    assert log(demo, "allocation").empty and len(log(demo, "denied")) == 2  # the filer's attempts are recorded


def test_values_are_validated_and_a_refused_batch_changes_nothing(demo):
    ref = fresh_ref()
    boss = account(demo, "admin1")
    with store.connect(demo, write=True) as con:
        with pytest.raises(ValueError) as exc:
            admin.set_plan_values(con, boss, ref, [
                PlanChange("target", "I01", -1),                  # negative
                PlanChange("allocation", "I04", 2.5, BAOTOU),     # not a whole count
                PlanChange("allocation", "I04", "多", CHIFENG),    # not a number
                PlanChange("target", "I02", 10 ** 12),            # past max_count
                PlanChange("baseline", "I03", 2),                 # a flow indicator's baseline is 0
                PlanChange("baseline", "I09", 500),               # above its target (180)
                PlanChange("allocation", "I04", 5, "999999"),     # no such unit
            ])
        msg = str(exc.value)
        for part in ("国家级国际科技合作基地的目标值不能为负数", "包头市·国际国内科技合作项目的分解目标应为整数",
                     "赤峰市·国际国内科技合作项目的分解目标应为数字", "不能超过10,000,000",
                     "基期值固定为0", "院士专家工作站的目标值180低于基期值500", "「999999」不在单位名单中"):
            assert part in msg
        # a stock indicator's baseline and target may change together
        admin.set_plan_values(con, boss, ref, [PlanChange("baseline", "I09", 50), PlanChange("target", "I09", 200)])
    ind = ref.plan.indicators.set_index("code")
    assert (ind.loc["I09", "baseline"], ind.loc["I09", "target"]) == (50, 200)
    assert (ind.loc["I01", "target"], ind.loc["I02", "target"]) == (10, 15)  # the refused batch left them
    assert ref.plan.allocations.empty


def test_changes_are_audited_with_before_and_after_and_reset_to_the_plan_file(demo):
    ref = fresh_ref()
    boss = account(demo, "admin1")
    with store.connect(demo, write=True) as con:
        admin.set_plan_value(con, boss, ref, "target", "I01", 12)
        admin.set_plan_value(con, boss, ref, "target", "I01", 12)  # the same value again: nothing to record
        admin.set_plan_value(con, boss, ref, "allocation", "I04", 25, BAOTOU)
    rows = log(demo, "target", "allocation").fillna({"unit_code": "—"})
    assert rows[["account", "action", "object", "before", "after", "unit_code"]].values.tolist() == [
        ["admin1", "allocation", "科技创新合作三年行动计划：包头市·国际国内科技合作项目的分解目标", "未分解", "25", BAOTOU],
        ["admin1", "target", "科技创新合作三年行动计划：国家级国际科技合作基地的目标值", "10", "12", "—"],
    ]
    with store.connect(demo) as con:
        table = admin.plan_table(con, ref).set_index("indicator_code")
        changed = admin.plan_changes(con, ref)
    assert (table.loc["I01", "file_target"], table.loc["I01", "target"], table.loc["I01", "changed_by"]) == (
        10, 12, "admin1")
    assert sorted(changed["what"]) == ["包头市·国际国内科技合作项目的分解目标", "国家级国际科技合作基地的目标值"]

    with store.connect(demo, write=True) as con:
        admin.reset_plan_value(con, boss, ref, "target", "I01")
        admin.set_plan_value(con, boss, ref, "allocation", "I04", None, BAOTOU)  # an emptied cell: reset too
        with pytest.raises(ValueError, match="没有修改过"):
            admin.reset_plan_value(con, boss, ref, "target", "I01")
    assert ref.plan.indicators.set_index("code").loc["I01", "target"] == 10 and ref.plan.allocations.empty
    resets = log(demo, "plan_reset")
    assert resets[["before", "after", "detail"]].values.tolist() == [
        ["25", "未分解（计划文件中的值）", "恢复为计划文件中的值"], ["12", "10（计划文件中的值）", "恢复为计划文件中的值"]]
    with store.connect(demo) as con:
        assert admin.plan_changes(con, ref).empty
        # the reset deleted nothing: every change and every reset is a row of its own
        assert con.execute("SELECT count(*) FROM plan_overrides").fetchone()[0] == 4


def test_allocations_not_adding_up_are_kept_with_a_warning(demo):
    ref = fresh_ref()
    boss = account(demo, "admin1")
    with store.connect(demo, write=True) as con:
        warnings = admin.set_plan_values(con, boss, ref, [PlanChange("allocation", "I04", 40, BAOTOU),
                                                           PlanChange("allocation", "I04", 30, CHIFENG)])
    assert warnings == ["「国际国内科技合作项目」各单位分解目标合计70（2个单位），比全区目标60多10。"]
    s = admin.allocation_summary(ref).set_index("indicator_code")
    assert (s.loc["I04", "allocated"], s.loc["I04", "difference"]) == (70, 10)
    with store.connect(demo, write=True) as con:
        assert admin.set_plan_value(con, boss, ref, "allocation", "I04", 30, BAOTOU) == []  # adds up now


def test_what_the_database_holds_is_laid_over_any_reference_and_a_unit_gets_its_own_rate(demo):
    ref, boss = fresh_ref(), account(demo, "admin1")
    with store.connect(demo, write=True) as con:
        admin.set_plan_value(con, boss, ref, "allocation", "I04", 10, BAOTOU)
    other = fresh_ref()  # another process: the plan file's values until it reads the database
    assert other.plan.allocations.empty
    assert admin.apply_from(demo, other)
    assert other.plan.allocations[["unit_code", "indicator_code", "target"]].values.tolist() == [[BAOTOU, "I04", 10.0]]
    with store.connect(demo) as con:
        row = progress_table(con, AS_OF, unit=BAOTOU, ref=other).set_index("indicator_code").loc["I04"]
    assert row["target"] == 10 and row["completion_rate"] == pytest.approx(row["value"] / 10)


def test_editor_tables_give_the_changes_they_show(demo):
    ref = fresh_ref()
    with store.connect(demo) as con:
        table = admin.plan_table(con, ref)
    edited = table.copy()
    edited.loc[edited["indicator_code"] == "I02", "target"] = 20
    assert admin.edits_of_plan_table(ref, edited) == [PlanChange("target", "I02", 20)]
    matrix = admin.allocation_matrix(ref)
    assert matrix.shape == (len(ref.unit_codes), len(ref.plan.indicators)) and matrix.isna().all().all()
    matrix.loc[BAOTOU, "I04"] = 12
    assert admin.edits_of_allocation_matrix(ref, matrix) == [PlanChange("allocation", "I04", 12, BAOTOU)]


def test_the_command_line_uses_the_values_the_database_holds(demo):
    boss = account(demo, "admin1")
    with store.connect(demo, write=True) as con:
        admin.set_plan_value(con, boss, fresh_ref(), "allocation", "I04", 10, BAOTOU)
    r = subprocess.run([sys.executable, "-m", "pipelines", "progress", "--db", str(demo), "--as-of", str(AS_OF),
                        "--unit", BAOTOU, "--json"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    rows = {i["indicator_code"]: i for i in json.loads(r.stdout)["indicators"]}
    assert rows["I04"]["target"] == 10 and rows["I04"]["completion_rate"] is not None


# --------------------------------------------------------------------------
def test_region_page_shows_the_units_own_rate_after_an_admin_allocates(demo, monkeypatch):
    at = open_region(monkeypatch, demo, "region", as_of="2019-12-31", measure="rate", indicator="I04", unit=BAOTOU)
    assert "尚未把" in texts(at, "info") and "分解目标" not in at.dataframe[0].value.columns

    boss = account(demo, "admin1")
    with store.connect(demo, write=True) as con:  # as another process would: only the database has the change
        admin.set_plan_values(con, boss, fresh_ref(), [
            PlanChange("allocation", "I04", 10, u) for u in load_reference().unit_codes])
    assert load_reference().plan.allocations.empty
    at = open_region(monkeypatch, demo, "region", as_of="2019-12-31", measure="rate", indicator="I04", unit=BAOTOU)
    assert "尚未把" not in texts(at, "info") and "尚未把" not in texts(at, "caption")
    assert any("完成率（对各自分解目标）" in t for t in titles(at))
    table = at.dataframe[0].value.set_index("编码")
    with store.connect(demo) as con:
        value = progress_table(con, AS_OF, unit=BAOTOU).set_index("indicator_code").loc["I04", "value"]
    assert table.loc["I04", "分解目标"] == "10"
    assert table.loc["I04", "完成率"] == pct(value / 10) and value > 0


def test_admin_page_shows_the_plan_files_values_beside_the_changes_and_resets_them(demo, monkeypatch):
    boss = account(demo, "admin1")
    with store.connect(demo, write=True) as con:
        admin.set_plan_values(con, boss, load_reference(), [
            PlanChange("target", "I01", 12), PlanChange("allocation", "I04", 40, BAOTOU)])
    at = open_logged_in(monkeypatch, demo, page="pages/admin.py", user="admin1")
    assert not at.exception
    # the editable table of baselines and targets, with the plan file's values beside them
    plan = next(d.value for d in at.dataframe if "计划文件目标值" in d.value.columns).set_index("编码")
    assert (plan.loc["I01", "计划文件目标值"], plan.loc["I01", "目标值"], plan.loc["I01", "修改人"]) == (10, 12, "admin1")
    warnings = " ".join(w.value for w in at.warning)
    assert "比全区目标60少20" in warnings
    changed = next(d.value for d in at.dataframe if "计划文件中的值" in d.value.columns)
    assert set(changed["对象"]) == {"国家级国际科技合作基地的目标值", "包头市·国际国内科技合作项目的分解目标"}

    alloc = next(d.value for d in at.dataframe if "科技合作项目" in d.value.columns).set_index("单位")
    assert alloc.loc["包头市", "科技合作项目"] == 40 and alloc["科技合作项目"].notna().sum() == 1
    at.selectbox(key="plan_reset_pick").set_value(
        next(i for i in range(len(changed)) if changed.iloc[i]["对象"] == "国家级国际科技合作基地的目标值"))
    at.button(key="plan_reset").click().run()
    assert not at.exception, at.exception
    assert any("已恢复为计划文件中的值" in s.value for s in at.success), ([e.value for e in at.error], [s.value for s in at.success], [w.value for w in at.warning])
    with store.connect(demo) as con:
        rows = audit.query(con, actions=("plan_reset",))
    assert rows[["account", "before", "after"]].values.tolist() == [["admin1", "12", "10（计划文件中的值）"]]
    plan = next(d.value for d in at.dataframe if "计划文件目标值" in d.value.columns).set_index("编码")
    assert plan.loc["I01", "目标值"] == 10
