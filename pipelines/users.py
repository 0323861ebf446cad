"""Accounts from the command line (there is no default account or password).

    python -m pipelines users add --db var/kjhz.duckdb 张明 --role 管理员
    python -m pipelines users add --db var/kjhz.duckdb baotou1 --role 填报员 --unit 包头市 --name 王芳
    printf '%s\\n' "$PW" | python -m pipelines users add --db var/kjhz.duckdb viewer1 --role 浏览 --password-stdin
    python -m pipelines users list --db var/kjhz.duckdb
    python -m pipelines users passwd --db var/kjhz.duckdb baotou1
    python -m pipelines users disable --db var/kjhz.duckdb baotou1     (enable / unlock likewise)

The password is read from a prompt (typed twice, not shown) or, with
``--password-stdin``, from the first line of standard input; it is never an
argument (it would be in the shell history and the process list).
"""
from __future__ import annotations

if __name__ == "__main__":  # `python -m pipelines.users`: the command itself, before this module's imports
    from .cli import run_module

    run_module("users")


def main(argv: list[str] | None = None) -> int:
    """``python -m pipelines.users`` in-process: the same as ``python -m pipelines users``."""
    from .cli import run_command

    return run_command("users", argv, prog="python -m pipelines.users")
