"""Store transactions prepared on a helper thread while the caller waits for something else.

An erasure's "done" mark and ledger event may only be committed once the system's own commit has succeeded, but
their statements need not wait for it: that commit spends most of its time in the disk's flush, with the
interpreter's lock released. :func:`prepare_write` runs the statements on a helper thread in that time and hands
the open transaction back; the caller then commits it (its own commit succeeded) or rolls it back (it failed),
on its own thread, so that no second thread wake-up sits on its path. Nothing is committed before the caller
says so: the order of commits, and what a crash leaves behind, are those of two transactions run one after the
other.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Engine
from sqlalchemy.pool import NullPool, QueuePool

from charte.store.driver import DriverConnection, DriverTransaction, Lent, driver_transaction, lend_connection

Work = Callable[[DriverConnection], Any]
T = TypeVar("T")


class _RolledBack(Exception):
    """Given to the open transaction when the caller rolls it back."""


class Pending(Generic[T]):
    """The result of a job running on a helper thread."""

    __slots__ = ("_done", "_result")

    def __init__(self) -> None:
        self._result: SimpleQueue[tuple[bool, Any]] = SimpleQueue()
        self._done = False

    def result(self) -> T:
        """Wait for the job; its return value, or its exception raised here."""
        if self._done:
            raise RuntimeError("this job's result was already taken")
        self._done = True
        ok, value = self._result.get()
        if not ok:
            raise value
        return cast(T, value)

    @property
    def taken(self) -> bool:
        """Whether :meth:`result` was called."""
        return self._done


class PreparedWrite:
    """A store transaction whose statements run on a helper thread; committed or rolled back by the caller."""

    __slots__ = ("_pending",)

    def __init__(self, pending: Pending[DriverTransaction]) -> None:
        self._pending = pending

    def commit(self) -> None:
        """Commit once the statements have run; raise what made them, or the commit, fail."""
        self._pending.result().__exit__(None, None, None)

    def rollback(self) -> None:
        """Roll back (the caller's own commit failed); a failure of the statements goes with the transaction."""
        if self._pending.taken:
            return
        try:
            transaction = self._pending.result()
        except Exception:  # the statements failed: their transaction is rolled back already
            return
        stop = _RolledBack()
        transaction.__exit__(_RolledBack, stop, None)


def _open(engine: Engine, work: Work, lent: Lent | None = None) -> DriverTransaction:
    """Open a transaction and run ``work`` in it, leaving it open (rolled back if ``work`` fails)."""
    transaction = driver_transaction(engine, lent=lent)
    conn = transaction.__enter__()
    try:
        work(conn)
    except BaseException as exc:
        transaction.__exit__(type(exc), exc, exc.__traceback__)  # rolls back; raises the driver's error wrapped
        raise
    return transaction


def _outcome(job: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``job``: (True, what it returned) or (False, what it raised, for the caller to raise)."""
    try:
        return True, job()
    except BaseException as exc:
        return False, exc


class _Helpers:
    """Idle helper threads, reused: starting a thread per request would cost more than the work it hides."""

    def __init__(self) -> None:
        self._idle: list[SimpleQueue[tuple[Pending[Any], Callable[[], Any]]]] = []
        self._lock = threading.Lock()

    def start(self, pending: Pending[Any], job: Callable[[], Any]) -> None:
        """Hand the job to an idle helper, or to a new one when all are busy."""
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name="charte-store-helper", daemon=True).start()
        inbox.put((pending, job))

    def _serve(self, inbox: SimpleQueue[tuple[Pending[Any], Callable[[], Any]]]) -> None:
        while True:
            pending, job = inbox.get()
            outcome = _outcome(job)
            with self._lock:
                self._idle.append(inbox)  # before answering: the caller's next job finds this helper idle
            pending._result.put(outcome)
            del pending, job, outcome

    def forked(self) -> None:
        """In a forked child: the parent's helpers do not exist here."""
        self._idle = []
        self._lock = threading.Lock()


_HELPERS = _Helpers()
if hasattr(os, "register_at_fork"):  # POSIX: the only systems that fork
    os.register_at_fork(after_in_child=_HELPERS.forked)


def prepare_write(engine: Engine, work: Work) -> PreparedWrite:
    """Run ``work`` in a store transaction on a helper thread, left open until the caller commits or rolls back.

    Every prepared write must be committed or rolled back: until then its transaction stays open (on SQLite,
    holding the store's write lock).
    """
    pending: Pending[DriverTransaction] = Pending()
    if isinstance(engine.pool, QueuePool | NullPool):
        # On an SQLite file the helper works on the caller's own connection: a connection that sees another one
        # changed the database drops its whole page cache, and the caller's next store transaction would read
        # its pages again (a claim right after another connection's finish costs twice as much).
        lent = lend_connection(engine)
        _HELPERS.start(pending, lambda: _open(engine, work, lent))
    else:
        # A pool of one connection per thread (SQLite in memory) would give the helper another database, and a
        # single shared connection must not be used by two threads at once: such stores prepare here.
        pending._result.put(_outcome(lambda: _open(engine, work)))
    return PreparedWrite(pending)
