"""The demo database appears whole or not at all (pipelines.demo.build_demo_atomic)."""
from __future__ import annotations

import threading

import pytest

from pipelines import demo, store
from pipelines.checks import file_hash
from pipelines.ingest import ingest_bytes

FEW = 3  # returns per build here: the whole demo is the browser test's (tests/e2e/test_demo_build_browser.py)


@pytest.fixture
def few_returns(monkeypatch):
    """The demo with its first few returns only, so a build takes a second."""
    all_returns = demo.demo_returns()[:FEW]
    monkeypatch.setattr(demo, "demo_returns", lambda ref=None, seed=demo.SEED: list(all_returns))
    return all_returns


def count(db) -> int:
    with store.connect(db) as con:
        return con.execute("SELECT count(*) FROM submissions WHERE status = 'loaded'").fetchone()[0]


def test_the_database_appears_only_when_complete(tmp_path, few_returns):
    db = tmp_path / "kjhz.duckdb"
    seen = []

    def watch(done, total, name):
        seen.append((done, total, db.exists(), demo.build_progress(db)))

    assert demo.demo_state(db) == "missing"
    assert demo.build_demo_atomic(db, progress=watch) is True
    assert [s[:3] for s in seen] == [(0, 78, False)] + [(i, FEW, False) for i in range(1, FEW + 1)]
    assert seen[1][3] == (1, FEW, few_returns[0][0])  # any process can read the progress
    assert demo.demo_state(db) == "ready" and count(db) == FEW
    assert store.original_path(db, file_hash(few_returns[0][1])) is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kjhz-files", "kjhz.duckdb", "kjhz.duckdb.demo-lock"]
    assert demo.build_demo_atomic(db) is False  # already there: nothing done


def test_a_build_cut_short_leaves_nothing_in_place_and_the_next_build_completes(tmp_path, few_returns):
    db = tmp_path / "kjhz.duckdb"

    def die(done, total, name):
        if done == 2:
            raise KeyboardInterrupt  # the server stopped half-way

    with pytest.raises(KeyboardInterrupt):
        demo.build_demo_atomic(db, progress=die)
    assert not db.exists() and demo.demo_state(db) == "missing"
    assert demo.build_demo_atomic(db) is True
    assert count(db) == FEW and demo.demo_state(db) == "ready"


def test_a_half_built_demo_of_an_earlier_version_is_set_aside_and_built_again(tmp_path, few_returns):
    db = tmp_path / "kjhz.duckdb"
    for name, data, received in few_returns[:2]:  # the old build loaded two returns, then the tab closed
        ingest_bytes(db, data, name, source="demo", today=demo.TODAY, received_at=received)
    assert demo.demo_state(db) == "incomplete"
    assert demo.build_demo_atomic(db) is True
    assert count(db) == FEW and demo.demo_state(db) == "ready"
    (kept,) = (tmp_path / "archive").iterdir()  # set aside, not deleted
    assert kept.name.startswith("demo-incomplete-") and (kept / "kjhz.duckdb").exists()


def test_real_data_and_an_emptied_database_are_never_taken_for_a_demo(tmp_path, few_returns):
    empty = tmp_path / "empty.duckdb"
    store.init_db(empty)  # what 「清空演示数据」 leaves
    assert demo.demo_state(empty) == "ready" and demo.build_demo_atomic(empty) is False
    mixed = tmp_path / "mixed.duckdb"
    name, data, received = few_returns[0]
    ingest_bytes(mixed, data, name, source="cli", today=demo.TODAY, received_at=received)
    assert demo.demo_state(mixed) == "ready"


def test_two_visitors_wait_for_one_build(tmp_path, few_returns):
    db = tmp_path / "kjhz.duckdb"
    results = []
    threads = [threading.Thread(target=lambda: results.append(demo.build_demo_atomic(db))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert count(db) == FEW


def test_the_demo_returns_are_the_same_when_the_helper_process_fails(monkeypatch):
    """A helper process writes most demo returns; if it fails, they are all written here, the same."""
    from concurrent.futures import Future

    helped = [(name, received) for name, _, received in demo.demo_returns()]

    def broken(chunks):
        died = Future()
        died.set_exception(RuntimeError("the helper process died"))
        return None, [died] * len(chunks)

    monkeypatch.setattr(demo.DemoReturns, "_helper", staticmethod(broken))
    alone = list(demo.demo_returns())
    assert [(name, received) for name, _, received in alone] == helped
    assert len(alone) == len(demo.demo_returns()) == 78 and all(data.startswith(b"PK") for _, data, _ in alone)
