"""Accounts, roles and the audit log: checks where the action happens, not by hiding pages."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines import accounts, audit, store
from pipelines.accounts import Account, PermissionDenied
from pipelines.backup import backup
from pipelines.checks import file_hash
from pipelines.diff import check_upload, confirm_load
from pipelines.ingest import ingest_bytes
from pipelines.normalise import parse_period
from tests.factories import PASSWORD, login, make_user
from tests.test_upload_page import TODAY, UNIT, open_page, return_bytes, upload
from ui.navigation import SECTIONS

REPO = Path(__file__).resolve().parent.parent
CHIFENG = "150400"


@pytest.fixture
def db(tmp_path):
    db = tmp_path / "kjhz.duckdb"
    assert ingest_bytes(db, return_bytes(), "包头市_2019H1.xlsx", who="王芳", today=TODAY).status == "loaded"
    assert ingest_bytes(db, return_bytes(unit=CHIFENG), "赤峰市_2019H1.xlsx", who="李", today=TODAY).status == "loaded"
    make_user(db, "admin1", "管理员")
    make_user(db, "baotou", "填报员", unit="包头市", display_name="王芳")
    make_user(db, "viewer", "浏览")
    return db


def acc(db, name) -> Account:
    with store.connect(db) as con:
        return accounts.get_account(con, name)


def audit_rows(db, action=None):
    with store.connect(db) as con:
        return audit.query(con, actions=(action,) if action else ())


# --------------------------------------------------------------------------
def test_users_command_keeps_no_password_in_clear_anywhere(tmp_path):
    db = tmp_path / "k.duckdb"
    secret = "Unusual-Secret-93175"
    r = subprocess.run([sys.executable, "-m", "pipelines.users", "add", "--db", str(db), "zhang", "--role", "管理员",
                        "--password-stdin"], input=secret + "\n", capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "已新建账户「zhang」：管理员" in r.stdout
    listed = subprocess.run([sys.executable, "-m", "pipelines.users", "list", "--db", str(db)], capture_output=True,
                            text=True, cwd=REPO)
    assert "zhang　管理员　正常" in listed.stdout
    with store.connect(db, write=True) as con:  # a login, a failed login: both recorded, neither with the password
        accounts.authenticate(con, "zhang", secret)
        with pytest.raises(accounts.LoginError):
            accounts.authenticate(con, "zhang", secret + "x")
        assert con.execute("SELECT password_hash FROM users").fetchone()[0].startswith("$argon2id$")
    folder = backup(db, tmp_path / "backups")
    blobs = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "k.duckdb" for p in blobs) and any(p.parent == folder for p in blobs)
    for p in blobs:  # the database, its WAL if any, the backup, the lock file
        assert secret.encode() not in p.read_bytes(), p
    assert secret not in r.stdout + r.stderr + listed.stdout + listed.stderr


def test_no_default_account_and_short_passwords_refused(tmp_path):
    db = tmp_path / "k.duckdb"
    store.init_db(db)
    with store.connect(db) as con:
        assert accounts.list_users(con).empty
    r = subprocess.run([sys.executable, "-m", "pipelines.users", "add", "--db", str(db), "a", "--role", "admin",
                        "--password-stdin"], input="short\n", capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1 and "口令至少" in r.stderr
    r = subprocess.run([sys.executable, "-m", "pipelines.users", "add", "--db", str(db), "f", "--role", "填报员",
                        "--password-stdin"], input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1 and "填报员必须指定所属单位" in r.stderr


def test_five_wrong_passwords_lock_the_account(db):
    t = datetime(2026, 12, 2, 9, 0)
    with store.connect(db, write=True) as con:
        for k in range(5):
            t += timedelta(seconds=60)  # slower than the throttle
            with pytest.raises(accounts.LoginError) as err:
                accounts.authenticate(con, "baotou", f"wrong-password-{k}", now=t)
        assert "锁定" in str(err.value)
        with pytest.raises(accounts.LoginError, match="锁定"):  # the right password does not help now
            accounts.authenticate(con, "baotou", PASSWORD, now=t + timedelta(minutes=1))
        assert accounts.authenticate(con, "baotou", PASSWORD, now=t + timedelta(minutes=16)).user_name == "baotou"
    failed = audit_rows(db, "login_failed")
    assert len(failed) == 6 and set(failed["object"]) == {"baotou"}
    assert len(audit_rows(db, "locked")) == 1 and len(audit_rows(db, "login")) == 1


def test_failed_logins_are_throttled(db):
    t = datetime(2026, 12, 2, 9, 0)
    with store.connect(db, write=True) as con:
        for k in range(2):
            with pytest.raises(accounts.LoginError, match="不正确"):
                accounts.authenticate(con, "viewer", "nope-nope-nope", now=t)
        with pytest.raises(accounts.LoginError, match="过于频繁"):  # even the right password, right away
            accounts.authenticate(con, "viewer", PASSWORD, now=t + timedelta(seconds=1))
        assert accounts.authenticate(con, "viewer", PASSWORD, now=t + timedelta(seconds=5)).role == "viewer"


# --------------------------------------------------------------------------
# Checks in the pipelines: whatever the page showed
def test_a_filer_cannot_send_another_units_return_the_file_decides(db):
    chifeng = return_bytes(unit=CHIFENG, period=parse_period("2019H2"))
    pv = check_upload(db, chifeng, "包头市_2019H2.xlsx", today=TODAY)  # named 包头, says 赤峰市 on its cover
    with pytest.raises(PermissionDenied, match="填报单位"):
        confirm_load(db, pv, chifeng, who=acc(db, "baotou"))
    ok = return_bytes(period=parse_period("2019H2"))
    assert confirm_load(db, check_upload(db, ok, "b.xlsx", today=TODAY), ok, who=acc(db, "baotou")).status == "loaded"
    with store.connect(db) as con:
        assert con.execute("SELECT count(*) FROM submissions WHERE unit_code = ? AND period_code = '2019H2'",
                           [CHIFENG]).fetchone()[0] == 0
        assert con.execute("SELECT received_by FROM submissions WHERE unit_code = ? AND period_code = '2019H2'",
                           [UNIT]).fetchone()[0] == "baotou"
    denied = audit_rows(db, "denied")
    assert len(denied) == 1 and denied["account"].iloc[0] == "baotou"


def test_nobody_but_an_admin_restores_or_archives_and_nobody_anonymous_loads(db):
    with store.connect(db) as con:
        sid = con.execute("SELECT submission_id FROM submissions WHERE unit_code = ?", [UNIT]).fetchone()[0]
    for who in (None, acc(db, "viewer"), acc(db, "baotou")):
        with pytest.raises(PermissionDenied):
            store.make_current(db, sid, who=who, note="x")
        with pytest.raises(PermissionDenied):
            store.archive_database(db, "demo", who=who)
    ok = return_bytes(period=parse_period("2019H2"))
    pv = check_upload(db, ok, "b.xlsx", today=TODAY)
    for who in (None, acc(db, "viewer")):
        with pytest.raises(PermissionDenied):
            confirm_load(db, pv, ok, who=who)
    store.make_current(db, sid, who=acc(db, "admin1"), note="核实")
    with store.connect(db) as con:
        assert con.execute("SELECT count(*) FROM submissions").fetchone()[0] == 2
    # a disabled account is refused at once, even with a session still open
    admin = acc(db, "admin1")
    with store.connect(db, write=True) as con:
        accounts.set_disabled(con, admin, "baotou")
    with pytest.raises(PermissionDenied, match="停用"):
        confirm_load(db, pv, ok, who=Account(user_name="baotou", role="filer", unit_code=UNIT))


def test_the_audit_log_has_who_what_before_and_after(db):
    with store.connect(db) as con:
        sid = con.execute("SELECT submission_id FROM submissions WHERE unit_code = ?", [UNIT]).fetchone()[0]
    later = return_bytes(values={"I04": 2}, rows=[])  # a second version for 包头市 2019H1
    pv = check_upload(db, later, "v2.xlsx", today=TODAY)
    confirm_load(db, pv, later, who=acc(db, "admin1"), warnings_accepted=True, removals_accepted=True)
    store.make_current(db, sid, who=acc(db, "admin1"), note="第2版有误")
    log = audit_rows(db)
    restored = log[log["action"] == "restored"].iloc[0]
    assert (restored["account"], restored["role"], restored["before"], restored["after"], restored["detail"]) == (
        "admin1", "管理员", "当前版本：第2版", "当前版本：第1版", "第2版有误")
    loaded = log[(log["action"] == "loaded") & (log["account"] == "admin1")].iloc[0]
    assert loaded["before"] == "当前版本：第1版" and loaded["after"] == "当前版本：第2版"
    # the earlier 操作记录 is part of it (the CLI loads of the fixture), and user admin is recorded
    assert {"王芳", "李"} <= set(log.loc[log["action"] == "loaded", "account"])
    assert set(log.loc[log["action"] == "user_add", "object"]) == {"admin1", "baotou", "viewer"}


# --------------------------------------------------------------------------
# The pages
def test_a_filer_on_the_upload_page_cannot_load_another_units_file(monkeypatch, db):
    at = open_page(monkeypatch, db, user="baotou")
    assert at.selectbox(key="tpl_unit").options == ["包头市"]  # templates: only their own unit
    chifeng = return_bytes(unit=CHIFENG, period=parse_period("2019H2"))
    at = upload(at, ("包头市_2019H2.xlsx", chifeng))
    load = at.button(key=f"load_{file_hash(chifeng)}")
    assert load.disabled and "只能报送包头市" in load.help
    assert "报送人：**王芳（baotou，填报员·包头市）**" in " ".join(c.value for c in at.caption)


def test_a_click_left_from_before_the_session_ended_is_refused(monkeypatch, db):
    ok = return_bytes(period=parse_period("2019H2"))
    at = upload(open_page(monkeypatch, db, user="admin1"), ("b.xlsx", ok))
    button = at.button(key=f"load_{file_hash(ok)}")
    assert not button.disabled
    at.session_state["auth_session"] = dict(at.session_state["auth_session"],
                                            login_at=datetime.now() - timedelta(hours=9))  # expired meanwhile
    button.click().run()
    with store.connect(db) as con:
        assert con.execute("SELECT count(*) FROM submissions WHERE period_code = '2019H2'").fetchone()[0] == 0
    assert any("需要登录" in i.value for i in at.info) and not at.file_uploader  # the page asks for a login again


def test_a_filer_sees_only_their_units_history_even_by_url(monkeypatch, db):
    at = open_page(monkeypatch, db, user="baotou")
    at.query_params["unit"] = CHIFENG
    at.switch_page("pages/history.py").run()
    assert not at.exception
    assert at.selectbox(key="history_unit").options == ["包头市"]
    assert any("不能查看赤峰市" in w.value for w in at.warning)
    assert "赤峰市" not in " ".join([s.value for s in at.subheader] + [m.value for m in at.markdown])
    assert not [b for b in at.button if b.key.startswith("restore")]


def test_a_viewer_cannot_upload_or_restore(monkeypatch, db):
    at = open_page(monkeypatch, db, user="viewer")
    assert not at.file_uploader and any("没有「报送报表」的权限" in w.value for w in at.warning)
    at.switch_page("pages/history.py").run()
    assert not at.exception and not at.selectbox and not at.button
    assert any("没有「查看版本历史」的权限" in w.value for w in at.warning)


PAGES = [Path(e[0]).stem for entries in SECTIONS.values() for e in entries]  # every page (ui/navigation.py)


@pytest.mark.parametrize("page", PAGES)
def test_an_anonymous_visitor_gets_no_control_that_changes_data(monkeypatch, db, page):
    monkeypatch.setenv("KJHZ_DB", str(db))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    try:
        at.switch_page(f"pages/{page}.py").run()
    except ValueError:  # not offered to this visitor at all (系统管理)
        assert page == "admin"
    assert not at.exception
    assert not at.file_uploader
    harmless = ("gen_", "flt_", "page_login", "login_submit", "open_", "region_", "rep_", "explorer_", "trend", "sector", "partner",
                "overview")
    changing = [b.key for b in at.button if not str(b.key or "").startswith(harmless)]
    assert changing == [], changing
    with store.connect(db) as con:
        assert con.execute("SELECT count(*) FROM submissions").fetchone()[0] == 2


def test_login_page_is_reachable_and_logs_in_and_out(monkeypatch, db):
    monkeypatch.setenv("KJHZ_DB", str(db))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    assert at.button(key="login_submit").label == "登录"  # the sidebar of the first page
    login(at, "baotou", "wrong-password-1")
    assert any("用户名或口令不正确" in w.value for w in at.warning)
    login(at, "baotou")
    assert at.title[0].value == "我的账户"
    at.button(key="page_logout").click().run()
    assert at.title[0].value == "登录"
    actions = list(audit_rows(db)["action"])
    assert actions[:3] == ["logout", "login", "login_failed"]


# --------------------------------------------------------------------------
# 系统管理
def test_only_an_admin_opens_the_admin_page_even_by_url(monkeypatch, db):
    # for anyone else the page is not registered: its URL leads nowhere (and every change it could make is
    # refused by the pipelines functions, tested above and below)
    for user in ("baotou", "viewer", None):
        try:
            at = open_page(monkeypatch, db, page="pages/admin.py", user=user)
        except ValueError as exc:  # not registered for this visitor
            assert "Could not find a navigation page" in str(exc)
            continue
        # reached anyway (a stale page list): the page itself refuses, with no control at all
        assert not at.tabs and not at.button and not at.text_input and not at.selectbox
        assert any("没有「系统管理」的权限" in w.value for w in at.warning)
    at = open_page(monkeypatch, db, page="pages/admin.py", user="admin1")
    assert [t.label for t in at.tabs] == ["账户", "操作日志", "名称别名", "报送设置", "计划目标"]


def test_admin_alias_takes_effect_at_once_and_collisions_are_refused(monkeypatch, db):
    from pipelines import admin
    from pipelines.reference import load_reference

    odd = "苏联老大哥国"  # a spelling no reference file knows
    bad = return_bytes(period=parse_period("2019H2"), rows=[("中俄合作", "国际科技合作项目", "S05", ["RUS"], None,
                                                              "在建/在研", None)])
    import io

    import openpyxl
    wb = openpyxl.load_workbook(io.BytesIO(bad))
    wb["表2 合作事项明细"]["E3"] = odd
    buf = io.BytesIO()
    wb.save(buf)
    bad = buf.getvalue()
    assert ingest_bytes(db, bad, "a.xlsx", who="x", today=TODAY).status == "rejected"
    ref = load_reference()
    with store.connect(db) as con:
        top = admin.unrecognised_names(con, ref)
    assert (top.iloc[0]["field"], top.iloc[0]["name"], top.iloc[0]["count"]) == ("partner", odd, 1)
    filer, boss = acc(db, "baotou"), acc(db, "admin1")
    with store.connect(db, write=True) as con:
        with pytest.raises(PermissionDenied):
            admin.add_alias(con, filer, "partner", odd, "RUS", ref)
        with pytest.raises(ValueError, match="已是「蒙古国」的写法"):
            admin.add_alias(con, boss, "partner", "蒙古", "RUS", ref)
        admin.add_alias(con, boss, "partner", odd, "RUS", ref)
    pv = check_upload(db, bad, "a.xlsx", today=TODAY)
    assert pv.errors == []
    with store.connect(db) as con:
        assert admin.unrecognised_names(con, ref).empty  # recognised now
        assert audit.query(con, actions=("alias_add",))["after"].tolist() == ["俄罗斯"]


def test_admin_page_exports_the_audit_log_through_the_safe_writer(monkeypatch, db, downloads):
    from pipelines.export import formula_cells

    at = open_page(monkeypatch, db, page="pages/admin.py", user="admin1")
    (entry,) = [d for d in downloads if d["label"] == "导出为 Excel"]
    data = entry["data"]()
    assert formula_cells(data) == []
    import io

    import openpyxl
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["说明", "操作日志"]
    header = [c.value for c in wb["操作日志"][1]]
    assert header[:5] == ["序号", "时间", "账户", "角色", "操作"]
    with store.connect(db) as con:
        assert audit.query(con, actions=("export",))["object"].tolist() == ["操作日志"]


def test_data_exports_are_recorded_with_the_account(monkeypatch, db, downloads):
    at = open_page(monkeypatch, db, user="baotou")
    at.switch_page("pages/explorer.py").run()
    (entry,) = [d for d in downloads if "（Excel）" in d["label"] and "行" in d["label"]]
    entry["data"]()
    at.switch_page("pages/history.py").run()
    original = [d for d in downloads if d["label"] == "下载原始文件"][0]
    assert original["data"]()
    with store.connect(db) as con:
        log = audit.query(con, actions=("export",))
    assert set(log["account"]) == {"baotou"}
    assert "合作事项明细（Excel）" in set(log["object"]) and any(o.startswith("原始文件：") for o in log["object"])
