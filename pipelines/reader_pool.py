"""The reader process, as seen from the process that uses it: started, fed and
ended here (what runs inside it: pipelines/reader_process.py; how a workbook
is read and checked: pipelines/read.py).

This module imports nothing heavy (no pandas, pyarrow or fastexcel: the jobs it
sends name their functions through two small trampolines), so the command line
can hand the reader its first file first thing (``prefetch``): the reader process
starts, imports fastexcel and pyarrow and reads the file while this process
imports pandas and the checks.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import types
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

from .vocab import DATA_DIR, read_yaml

MB = 1024 * 1024


def settings_limits() -> dict:
    """``limits`` of data/settings.yaml (read.Limits holds them with their units)."""
    return (read_yaml(DATA_DIR / "settings.yaml") or {})["limits"]


def _reader_init(memory: int, lifeline) -> None:
    """Runs in the reader process (pipelines.reader_process is preloaded there)."""
    from .reader_process import _reader_init as init

    init(memory, lifeline)


def _read_sheets(data: bytes, max_chars: int, max_text: int) -> dict:
    """Runs in the reader process: reader_process._read_sheets."""
    from .reader_process import _read_sheets as read

    return read(data, max_chars, max_text)


class _ReaderCrashed(Exception):
    pass


class _Prefetch:
    """A file handed to the reader ahead of time (``_SheetReader.prefetch``)."""

    def __init__(self, data: bytes, key: tuple[int, int]):
        self.data, self.key = data, key
        self.job: Future | None = None
        self.sent = threading.Event()


class _SheetReader:
    """calamine runs in a separate process. It sizes a sheet from its cells,
    whatever <dimension> says, and a 6 KB file with a cell at XFD1048576 makes
    it ask for hundreds of GB and abort; a shared string used in every row is
    copied into every cell. So that process has a memory ceiling of its own
    (``reader_memory_mb``): past it, only that process stops, the server
    stays up and within its memory, and the next file gets a fresh reader.
    Reading there also runs on another core while this process scans the
    package. One process, kept warm between files: uploads arriving together
    are read one after another. It ends with this process, however this one
    ends (it watches a pipe only this process holds open)."""

    TIMEOUT = 120.0  # seconds for one workbook

    def __init__(self):
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._lifeline = None
        self._prefetched: _Prefetch | None = None

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["pipelines.reader_preload", "pipelines.reader_process"])
                watch, self._lifeline = ctx.Pipe(duplex=False)
                memory = int(settings_limits()["reader_memory_mb"] * MB)
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_reader_init,
                                                 initargs=(memory, watch))
            return self._pool

    def processes(self) -> list:
        """The reader process, started if it is not there yet (for tests and benchmarks)."""
        with _main_hidden():
            pool = self._get()
            pool.submit(int).result()
        return list((getattr(pool, "_processes", None) or {}).values())

    def _reset(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            lifeline, self._lifeline = self._lifeline, None
            self._prefetched = None
        if pool is not None:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)
        if lifeline is not None:
            lifeline.close()

    def abandon(self, fut: Future) -> None:
        """This job's answer is no longer needed: dropped if it has not started; if the
        reader is working on it, that reader is ended (it is started again when needed).
        Another upload's job is never stopped for it."""
        if not fut.cancel() and fut.running():
            self._reset()

    def _submit(self, data: bytes, max_chars: int, max_text: int) -> Future:
        args = (_read_sheets, data, max_chars, max_text)
        with _main_hidden():
            try:
                return self._get().submit(*args)
            except BrokenProcessPool:
                self._reset()
                return self._get().submit(*args)

    def submit(self, data: bytes, limits) -> Future:
        """Read ``data`` in the reader process with ``limits`` (read.Limits); the job
        ``prefetch`` sent for these very bytes and limits, if there is one."""
        key = (limits.max_note_chars, limits.max_text_bytes)
        pre = self._take_prefetched(data, key)
        if pre is not None and pre.job is not None:
            return pre.job
        return self._submit(data, *key)

    def prefetch(self, path: Path | str) -> None:
        """Start the reader and give it the file at ``path`` to read, from a thread of its
        own, and return at once: the reader starts (fastexcel, pyarrow) and reads while this
        process imports what checks the file; ``submit`` of the same bytes takes that job.
        Only a file within the size limit; read.read_workbook still checks the package
        first and drops the job if the file is refused (``drop_prefetched``). Does nothing
        if the file cannot be opened: reading it the usual way will say why."""
        limits = settings_limits()
        try:
            if os.path.getsize(path) > limits["file_mb"] * MB:
                return
            data = Path(path).read_bytes()
        except OSError:
            return
        pre = _Prefetch(data, (int(limits["note_chars"]), int(limits["text_mb"] * MB)))
        with self._lock:
            self._prefetched = pre

        def send() -> None:
            try:
                pre.job = self._submit(data, *pre.key)
            except Exception:  # noqa: BLE001 - only a head start: submit() sends the file again
                pass
            finally:
                pre.sent.set()

        threading.Thread(target=send, daemon=True, name="reader-head-start").start()

    def _take_prefetched(self, data: bytes, key: tuple[int, int] | None = None) -> _Prefetch | None:
        with self._lock:
            pre = self._prefetched
            if pre is None or (key is not None and pre.key != key) or pre.data != data:
                return None
            self._prefetched = None
        if not pre.sent.wait(self.TIMEOUT):  # never sent (the reader would not start): read it the usual way
            return None
        return pre

    def drop_prefetched(self, data: bytes) -> None:
        """``data`` has been answered: a job prefetched for it that was never taken (the
        file was refused before reading) is abandoned."""
        pre = self._take_prefetched(data)
        if pre is not None and pre.job is not None:
            self.abandon(pre.job)

    def result(self, fut: Future) -> dict:
        try:
            return fut.result(timeout=self.TIMEOUT)
        except (BrokenProcessPool, TimeoutError) as exc:
            self._reset()
            raise _ReaderCrashed(type(exc).__name__) from exc


@contextmanager
def _main_hidden():
    """Start reader processes without the parent's __main__: multiprocessing would
    otherwise run that script again in each one (a benchmark, a test file, a
    notebook), and the reader needs nothing from it."""
    with _MAIN_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


_MAIN_LOCK = threading.Lock()
READER = _SheetReader()
