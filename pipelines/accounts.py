"""Accounts, roles and permission checks (no streamlit here).

Roles: 管理员 (admin: everything), 填报员 (filer: bound to one unit; sends and
sees that unit's returns, templates and history), 浏览 (viewer: reads the
dashboards). Passwords are hashed with Argon2id (argon2-cffi); the clear text
is never stored, logged or shown. There is no default account or password:
the first administrator is made with ``python -m pipelines.users add``.

Permissions are checked where the action happens: ``require(...)`` is called
by the store functions that change data (load, restore, archive, admin
edits) with the acting ``Account``; the web pages pass the logged-in account
(or None), so a direct URL, a widget left over from before a logout or a
return for another unit is refused there, whatever the page showed.
A command-line run on the server (``python -m pipelines.ingest``) acts as
``Account.local(name)``: whoever can run it already holds the database file.

Login: ``authenticate`` counts failed attempts; after a few, attempts are
throttled (a growing wait), and after ``max_failed_logins`` the account is
locked for ``lock_minutes`` (data/settings.yaml, ``auth:``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import audit
from .reference import load_reference

ADMIN, FILER, VIEWER = "admin", "filer", "viewer"
ROLE_ZH = {ADMIN: "管理员", FILER: "填报员", VIEWER: "浏览"}
ROLE_BY_NAME = {**{k: k for k in ROLE_ZH}, **{v: k for k, v in ROLE_ZH.items()}}

# actions that change data or need a person: who may do them
LOAD, RESTORE, ARCHIVE, ADMINISTER, HISTORY, TEMPLATE, EXPORT_AUDIT = (
    "load", "restore", "archive", "admin", "history", "template", "export_audit")
ACTION_ZH = {LOAD: "报送报表", RESTORE: "恢复版本", ARCHIVE: "归档数据库", ADMINISTER: "系统管理",
             HISTORY: "查看版本历史", TEMPLATE: "下载预填模板", EXPORT_AUDIT: "导出操作日志"}

MIN_PASSWORD = 10
_HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters


class PermissionDenied(PermissionError):
    """The acting account may not do this (the message is for the user, in Chinese)."""


class LoginError(ValueError):
    """Wrong name or password, a locked or disabled account, or too many attempts (Chinese message)."""


@dataclass(frozen=True)
class Account:
    user_name: str
    role: str
    unit_code: str | None = None
    display_name: str | None = None
    is_local: bool = False  # a command-line run on the server, not a web login

    @classmethod
    def local(cls, name: str | None = None) -> "Account":
        return cls(user_name=name or "命令行", role=ADMIN, is_local=True)

    @classmethod
    def operator(cls) -> "Account":
        """Whoever runs a command line on the server (by their system user name)."""
        import getpass

        try:
            return cls.local(f"命令行（{getpass.getuser()}）")
        except Exception:
            return cls.local()

    @property
    def role_zh(self) -> str:
        return ROLE_ZH.get(self.role, self.role)

    @property
    def label(self) -> str:
        """How the account is named in records and on pages: 「王芳（填报员·包头市）」."""
        who = self.display_name or self.user_name
        if self.is_local:
            return self.user_name
        extra = self.role_zh
        if self.unit_code:
            extra += "·" + load_reference().unit_name(self.unit_code)
        return f"{who}（{self.user_name}，{extra}）" if who != self.user_name else f"{who}（{extra}）"

    def can(self, action: str, unit_code: str | None = None) -> bool:
        if self.role == ADMIN:
            return True
        if self.role == FILER:
            if action in (LOAD, HISTORY, TEMPLATE):
                return unit_code is None or unit_code == self.unit_code
            return False
        return False  # viewer: dashboards only

    def units(self, all_units: list[str]) -> list[str]:
        """The units whose returns, templates and history this account may see."""
        if self.role == ADMIN:
            return list(all_units)
        if self.role == FILER and self.unit_code:
            return [u for u in all_units if u == self.unit_code]
        return []


def as_actor(who) -> Account | None:
    """An Account as is; a plain name (command line, scripts on the server) as a local operator; None: nobody.

    The pages pass the session's ``Account`` or None, never a name.
    """
    if isinstance(who, Account):
        return who
    if who is None:
        return None
    return Account.local(str(who))


def auth_settings() -> dict:
    s = dict(load_reference().settings.get("auth") or {})
    s.setdefault("viewing_requires_login", False)
    s.setdefault("session_idle_minutes", 30)
    s.setdefault("session_max_hours", 8)
    s.setdefault("max_failed_logins", 5)
    s.setdefault("lock_minutes", 15)
    s.setdefault("throttle_after", 2)
    s.setdefault("oidc", False)
    return s


# --------------------------------------------------------------------------
# Checks where the action happens
def require(con, actor: Account | None, action: str, unit_code: str | None = None, *,
            what: str | None = None) -> Account:
    """Refuse (PermissionDenied, recorded in the audit log) unless ``actor`` may do ``action``.

    A web account is re-read from the database on ``con`` (a disabled or
    changed account is refused at once). -> the account as stored.
    """
    label = what or ACTION_ZH.get(action, action)
    if actor is None:
        raise PermissionDenied(f"{label}需要先登录。")
    if actor.is_local:
        return actor
    row = _fetch(con, actor.user_name)
    if row is None or row[4]:
        raise PermissionDenied(f"账户「{actor.user_name}」不存在或已停用，不能{label}。")
    stored = Account(user_name=row[0], role=row[1], unit_code=row[2], display_name=row[3])
    if not stored.can(action, unit_code):
        ref = load_reference()
        if stored.role == FILER and unit_code and action in (LOAD, HISTORY, TEMPLATE):
            msg = (f"账户「{stored.user_name}」是{ref.unit_name(stored.unit_code)}的填报员，"
                   f"不能{label}（{ref.unit_name(unit_code)}）。报表的单位以文件封面的「填报单位」为准。")
        else:
            msg = f"账户「{stored.user_name}」（{stored.role_zh}）没有「{label}」的权限。"
        audit.record(con, stored, "denied", unit_code=unit_code, detail=msg)
        raise PermissionDenied(msg)
    return stored


# --------------------------------------------------------------------------
# Users
def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password_rules(password: str, user_name: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"口令至少{MIN_PASSWORD}个字符。")
    if user_name and user_name.lower() in password.lower():
        raise ValueError("口令不能包含用户名。")
    if len(set(password)) < 4:
        raise ValueError("口令过于简单。")


def _role_and_unit(role: str | None, unit: str | None) -> tuple[str, str | None]:
    """A role key and, for a 填报员, the unit's code (name or code accepted); ValueError otherwise."""
    key = ROLE_BY_NAME.get((role or "").strip())
    if key is None:
        raise ValueError("角色应为：管理员、填报员或浏览（admin / filer / viewer）。")
    if key != FILER:
        return key, None
    m = load_reference().lookups["unit"].resolve(unit) if unit else None
    if m is None or not m.ok:
        raise ValueError("填报员必须指定所属单位（单位名称或代码，如 包头市 或 150200）。")
    return key, m.code


def _users():
    """The SQL of the users table (pipelines/store/users.py), imported when first needed: the store imports
    this module."""
    from .store import users

    return users


def _fetch(con, user_name: str):
    return _users().fetch(con, user_name)


def add_user(con, actor: Account | None, user_name: str, role: str, password: str, *, unit_code: str | None = None,
             display_name: str | None = None) -> Account:
    require(con, actor, ADMINISTER, what="新建账户")
    user_name = (user_name or "").strip()
    if not user_name or len(user_name) > 64 or any(c.isspace() for c in user_name):
        raise ValueError("用户名不能为空、不能含空格，最长64个字符。")
    role, unit_code = _role_and_unit(role, unit_code)
    ref = load_reference()
    check_password_rules(password, user_name)
    if _fetch(con, user_name) is not None:
        raise ValueError(f"用户名「{user_name}」已存在。")
    _users().insert(con, user_name, display_name=display_name or None, role=role, unit_code=unit_code,
                    password_hash=hash_password(password), created_at=datetime.now(),
                    created_by=actor.user_name if actor else None)
    acc = Account(user_name=user_name, role=role, unit_code=unit_code, display_name=display_name or None)
    audit.record(con, actor, "user_add", object=user_name, unit_code=unit_code,
                 after=f"角色：{acc.role_zh}" + (f"；单位：{ref.unit_name(unit_code)}" if unit_code else ""))
    return acc


def set_password(con, actor: Account | None, user_name: str, password: str) -> None:
    row = _fetch(con, user_name)
    if row is None:
        raise ValueError(f"没有用户名为「{user_name}」的账户。")
    if not (actor is not None and not actor.is_local and actor.user_name == user_name):
        require(con, actor, ADMINISTER, what="修改他人口令")
    check_password_rules(password, user_name)
    _users().set_password_hash(con, user_name, hash_password(password))
    audit.record(con, actor, "user_passwd", object=user_name, detail="口令已修改（口令本身不记录）")


def set_disabled(con, actor: Account | None, user_name: str, disabled: bool = True) -> None:
    require(con, actor, ADMINISTER, what="停用或启用账户")
    row = _fetch(con, user_name)
    if row is None:
        raise ValueError(f"没有用户名为「{user_name}」的账户。")
    if disabled and actor is not None and actor.user_name == user_name:
        raise ValueError("不能停用自己正在使用的账户。")
    _users().set_disabled(con, user_name, disabled)
    audit.record(con, actor, "user_disable" if disabled else "user_enable", object=user_name,
                 before="停用" if row[4] else "启用", after="停用" if disabled else "启用")


def set_role(con, actor: Account | None, user_name: str, role: str, unit_code: str | None = None) -> None:
    require(con, actor, ADMINISTER, what="修改账户角色")
    row = _fetch(con, user_name)
    if row is None:
        raise ValueError(f"没有用户名为「{user_name}」的账户。")
    new, unit_code = _role_and_unit(role, unit_code)
    ref = load_reference()
    if actor is not None and actor.user_name == user_name and new != ADMIN:
        raise ValueError("不能取消自己的管理员角色。")
    _users().set_role(con, user_name, new, unit_code)

    def show(r, u):
        return ROLE_ZH.get(r, r) + (f"·{ref.unit_name(u)}" if u else "")
    audit.record(con, actor, "user_role", object=user_name, before=show(row[1], row[2]), after=show(new, unit_code))


def list_users(con):
    return _users().list_all(con)


def get_account(con, user_name: str) -> Account | None:
    row = _fetch(con, user_name)
    if row is None or row[4]:
        return None
    return Account(user_name=row[0], role=row[1], unit_code=row[2], display_name=row[3])


def account_for_identity(con, email: str | None) -> Account | None:
    """OIDC (st.login): the identity provider says who; the role comes from this database (users.oidc_subject)."""
    if not email:
        return None
    name = _users().name_for_identity(con, email)
    return get_account(con, name) if name else None


# --------------------------------------------------------------------------
# Login
def authenticate(con, user_name: str, password: str, *, now: datetime | None = None,
                 source: str = "web") -> Account:
    """The account, or LoginError; every attempt is recorded (never the password)."""
    s = auth_settings()
    now = now or datetime.now()
    user_name = (user_name or "").strip()
    row = _fetch(con, user_name) if user_name else None
    generic = "用户名或口令不正确。"
    if row is None:
        _HASHER.hash("x" * MIN_PASSWORD)  # about the same time as a real check: names are not revealed
        audit.record(con, None, "login_failed", object=user_name[:64], detail="用户名不存在", source=source, at=now)
        raise LoginError(generic)
    (name, role, unit, display, disabled, pw_hash, failed, last_failed, locked_until) = row
    failed = failed or 0
    if disabled:
        audit.record(con, None, "login_failed", object=name, detail="账户已停用", source=source, at=now)
        raise LoginError("该账户已停用，请联系管理员。")
    if locked_until is not None and now < locked_until:
        audit.record(con, None, "login_failed", object=name, detail="账户锁定中", source=source, at=now)
        minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
        raise LoginError(f"连续输错口令次数过多，账户已锁定，请约{minutes}分钟后再试，或请管理员解锁。")
    if locked_until is not None and now >= locked_until:
        failed = 0  # the lock has run out
    wait = _throttle(failed, s)
    if wait and last_failed is not None and now < last_failed + timedelta(seconds=wait):
        audit.record(con, None, "login_failed", object=name, detail="尝试过于频繁", source=source, at=now)
        raise LoginError(f"尝试过于频繁，请{wait}秒后再试。")
    try:
        _HASHER.verify(pw_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        failed += 1
        limit = int(s["max_failed_logins"])
        if failed >= limit:
            until = now + timedelta(minutes=float(s["lock_minutes"]))
            _users().record_failure(con, name, failed, now, until)
            audit.record(con, None, "login_failed", object=name, detail=f"口令错误（第{failed}次）", source=source, at=now)
            audit.record(con, None, "locked", object=name, detail=f"连续{failed}次口令错误，锁定至{until:%Y-%m-%d %H:%M}",
                         source=source, at=now)
            raise LoginError(f"连续{failed}次口令错误，账户已锁定{s['lock_minutes']}分钟。")
        _users().record_failure(con, name, failed, now, None)
        audit.record(con, None, "login_failed", object=name, detail=f"口令错误（第{failed}次）", source=source, at=now)
        raise LoginError(generic + f"再错{limit - failed}次账户将被锁定。" if limit - failed <= 2 else generic)
    acc = Account(user_name=name, role=role, unit_code=unit, display_name=display)
    if _HASHER.check_needs_rehash(pw_hash):
        _users().set_password_hash(con, name, hash_password(password), clear_lock=False)
    _users().record_login(con, name, now)
    audit.record(con, acc, "login", source=source, at=now)
    return acc


def _throttle(failed: int, s: dict) -> int:
    """Seconds to wait after ``failed`` consecutive failures: 0, then 2, 4, 8 … (at most 30)."""
    after = int(s["throttle_after"])
    if failed < after:
        return 0
    return min(30, 2 ** (failed - after + 1))


def unlock(con, actor: Account | None, user_name: str) -> None:
    require(con, actor, ADMINISTER, what="解锁账户")
    _users().clear_failures(con, user_name)
    audit.record(con, actor, "user_unlock", object=user_name)


def logout(db_path: Path | str, acc: Account | None, reason: str = "退出登录") -> None:
    from . import store

    if acc is None:
        return
    with store.connect(db_path, write=True, on_wait=None) as con:
        audit.record(con, acc, "logout", detail=reason)
