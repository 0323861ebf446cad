"""SQL of the ``users`` table (accounts). The rules (roles, passwords, lock-outs) are in pipelines/accounts.py."""
from __future__ import annotations

from datetime import datetime

import pandas as pd

_USER_COLUMNS = ("user_name, role, unit_code, display_name, disabled, password_hash, failed_count, "
                 "last_failed_at, locked_until")


def fetch(con, user_name: str) -> tuple | None:
    """(user_name, role, unit_code, display_name, disabled, password_hash, failed_count, last_failed_at,
    locked_until) of one account, or None."""
    return con.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE user_name = ?", [user_name]).fetchone()


def insert(con, user_name: str, *, display_name: str | None, role: str, unit_code: str | None,
           password_hash: str, created_at: datetime, created_by: str | None) -> None:
    con.execute("INSERT INTO users (user_name, display_name, role, unit_code, password_hash, disabled, created_at, "
                "created_by, failed_count) VALUES (?, ?, ?, ?, ?, FALSE, ?, ?, 0)",
                [user_name, display_name, role, unit_code, password_hash, created_at, created_by])


def set_password_hash(con, user_name: str, password_hash: str, *, clear_lock: bool = True) -> None:
    """A new hash; ``clear_lock`` (a changed password) also forgets failed attempts and a lock."""
    if clear_lock:
        con.execute("UPDATE users SET password_hash = ?, failed_count = 0, locked_until = NULL WHERE user_name = ?",
                    [password_hash, user_name])
    else:  # the same password, re-hashed with current parameters at login
        con.execute("UPDATE users SET password_hash = ? WHERE user_name = ?", [password_hash, user_name])


def set_disabled(con, user_name: str, disabled: bool) -> None:
    con.execute("UPDATE users SET disabled = ?, failed_count = 0, locked_until = NULL WHERE user_name = ?",
                [disabled, user_name])


def set_role(con, user_name: str, role: str, unit_code: str | None) -> None:
    con.execute("UPDATE users SET role = ?, unit_code = ? WHERE user_name = ?", [role, unit_code, user_name])


def list_all(con) -> pd.DataFrame:
    return con.execute("SELECT user_name, display_name, role, unit_code, disabled, created_at, last_login_at, "
                       "failed_count, locked_until FROM users ORDER BY user_name").df()


def name_for_identity(con, email: str) -> str | None:
    """The enabled account whose ``oidc_subject`` is ``email`` (case-insensitive), or None."""
    row = con.execute("SELECT user_name FROM users WHERE lower(oidc_subject) = lower(?) AND NOT disabled",
                      [email]).fetchone()
    return row[0] if row else None


def record_failure(con, user_name: str, failed: int, at: datetime, locked_until: datetime | None) -> None:
    """A failed login: the count so far, when, and the lock it caused (None: not locked)."""
    con.execute("UPDATE users SET failed_count = ?, last_failed_at = ?, locked_until = ? WHERE user_name = ?",
                [failed, at, locked_until, user_name])


def record_login(con, user_name: str, at: datetime) -> None:
    con.execute("UPDATE users SET failed_count = 0, last_failed_at = NULL, locked_until = NULL, last_login_at = ? "
                "WHERE user_name = ?", [at, user_name])


def clear_failures(con, user_name: str) -> None:
    con.execute("UPDATE users SET failed_count = 0, last_failed_at = NULL, locked_until = NULL WHERE user_name = ?",
                [user_name])
