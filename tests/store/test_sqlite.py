"""What the daemon's SQLite file store adds: durability, pragmas, threads, integrity."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from cohort.domain.model import Group, GroupType, Volume, VolumeStatus, VolumeType
from cohort.errors import StoreBusy
from cohort.store import SqlStore, sql

from .records import add_graph, graph


def test_file_store_reopens_with_data_intact(tmp_path: Path) -> None:
    g = graph()
    store = SqlStore.open(tmp_path)
    add_graph(store, g)
    with store.transaction() as tx:
        volume = dataclasses.replace(g.volume, status=VolumeStatus.AVAILABLE)
        tx.volumes.update(volume)
    store.close()
    assert (tmp_path / "cohort.db").exists()

    again = SqlStore.open(tmp_path)
    try:
        with again.transaction() as tx:
            assert tx.volumes.get(g.volume.id) == volume
            assert tx.operations.get(g.operation.id) == g.operation
            assert tx.groups.by_name("g") == g.group
            assert tx.volumes.count() == 2
    finally:
        again.close()


def test_open_creates_the_state_directory(tmp_path: Path) -> None:
    store = SqlStore.open(tmp_path / "a" / "b")
    store.close()
    assert (tmp_path / "a" / "b" / "cohort.db").is_file()


def test_every_connection_has_the_pragmas(file_store: SqlStore) -> None:
    results: list[tuple[object, ...]] = []

    def probe() -> None:
        with file_store.engine.connect() as connection:
            results.append(
                tuple(
                    connection.exec_driver_sql(f"PRAGMA {p}").scalar()
                    for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
                )
            )

    threads = [threading.Thread(target=probe) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [("wal", 2, 1, 30000)] * 4  # synchronous=FULL


def in_threads(work: Callable[[int], None], count: int) -> list[BaseException]:
    """Run work(0) .. work(count - 1) on threads of their own; what they raised."""
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            work(n)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return errors


def _concurrent_increments(store: SqlStore, threads: int, rounds: int) -> None:
    """Read-modify-write from many threads: no update may be lost."""
    counter = VolumeType(name="counter", description="0")
    with store.transaction() as tx:
        tx.volume_types.add(counter)

    def work(n: int) -> None:
        for i in range(rounds):
            with store.transaction() as tx:
                current = tx.volume_types.get(counter.id)
                assert current is not None
                current.description = str(int(current.description) + 1)
                tx.volume_types.update(current)
                tx.volumes.add(Volume(name=f"v-{n}-{i}", size_bytes=1, volume_type_id=counter.id))
            with store.transaction(readonly=True) as tx:
                assert tx.volumes.by_name(f"v-{n}-{i}") is not None

    assert in_threads(work, threads) == []
    with store.transaction() as tx:
        final = tx.volume_types.get(counter.id)
        assert final is not None and final.description == str(threads * rounds)
        assert tx.volumes.count() == threads * rounds


def test_concurrent_transactions_on_the_wal_file(file_store: SqlStore) -> None:
    _concurrent_increments(file_store, threads=8, rounds=15)


def test_concurrent_transactions_in_memory() -> None:
    store = SqlStore.memory()
    try:
        _concurrent_increments(store, threads=8, rounds=15)
    finally:
        store.close()


def test_readers_never_wait_for_writers_or_connections(file_store: SqlStore) -> None:
    """While one writer holds the write lock, more writers than the old pool's 15 connections
    queue in BEGIN IMMEDIATE, and readers still get a connection and a snapshot at once; then
    every writer commits in turn: nobody sees "database is locked" or a pool timeout."""
    vt = VolumeType(name="t")
    with file_store.transaction() as tx:
        tx.volume_types.add(vt)
    holding, readers_done = threading.Event(), threading.Event()
    read: list[int] = []
    writer_errors: list[BaseException] = []

    def holder() -> None:
        with file_store.transaction() as tx:
            tx.volumes.add(Volume(name="first", size_bytes=1, volume_type_id=vt.id))
            holding.set()
            readers_done.wait(20)

    def writer(n: int) -> None:
        with file_store.transaction() as tx:
            tx.volumes.add(Volume(name=f"w{n}", size_bytes=1, volume_type_id=vt.id))

    def reader(_: int) -> None:
        with file_store.transaction(readonly=True) as tx:
            read.append(tx.volumes.count())

    first = threading.Thread(target=holder)
    first.start()
    assert holding.wait(10)
    writers = threading.Thread(target=lambda: writer_errors.extend(in_threads(writer, 20)))
    writers.start()
    assert in_threads(reader, 20) == []
    readers_done.set()
    first.join()
    writers.join()
    assert writer_errors == []
    assert read == [0] * 20  # the writer had not committed while they read
    with file_store.transaction(readonly=True) as tx:
        assert tx.volumes.count() == 21


def test_every_read_reflects_every_committed_write(file_store: SqlStore) -> None:
    """Read-only transactions reuse their connections: none may keep an old snapshot."""
    vt = VolumeType(name="t", description="0")
    with file_store.transaction() as tx:
        tx.volume_types.add(vt)

    def work(n: int) -> None:
        mine = VolumeType(name=f"t{n}", description="0")
        with file_store.transaction() as tx:
            tx.volume_types.add(mine)
        for i in range(1, 30):
            mine.description = str(i)
            with file_store.transaction() as tx:
                tx.volume_types.update(mine)
            with file_store.transaction(readonly=True) as tx:
                seen = tx.volume_types.get(mine.id)
                assert seen is not None and seen.description == str(i)
                assert mine in tx.volume_types.page(100, "").items

    assert in_threads(work, 6) == []


def test_a_failed_read_leaves_the_store_usable(store: SqlStore) -> None:
    vt = VolumeType(name="t")
    with store.transaction() as tx:
        tx.volume_types.add(vt)
    with pytest.raises(KeyError), store.transaction(readonly=True) as tx:
        assert tx.volume_types.get(vt.id) == vt
        raise KeyError("the caller's own error")
    with store.transaction(readonly=True) as tx:
        with pytest.raises(RuntimeError, match="nested"), store.transaction(readonly=True):
            pass
        assert tx.volume_types.get(vt.id) == vt  # the outer transaction goes on
    with store.transaction() as tx:
        tx.volume_types.remove(vt.id)
    with store.transaction(readonly=True) as tx:
        assert tx.volume_types.get(vt.id) is None


def test_a_reader_sees_a_snapshot_while_a_writer_commits(file_store: SqlStore) -> None:
    vt = VolumeType(name="t")
    with file_store.transaction() as tx:
        tx.volume_types.add(vt)
    read_once = threading.Event()
    written = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        with file_store.transaction(readonly=True) as tx:
            seen.append(tx.volumes.count())
            read_once.set()
            assert written.wait(10)
            seen.append(tx.volumes.count())  # same snapshot: the new row is not visible
        with file_store.transaction(readonly=True) as tx:
            seen.append(tx.volumes.count())

    t = threading.Thread(target=reader)
    t.start()
    assert read_once.wait(10)
    with file_store.transaction() as tx:  # not blocked by the open reader (WAL)
        tx.volumes.add(Volume(name="v", size_bytes=1, volume_type_id=vt.id))
    written.set()
    t.join()
    assert seen == [0, 0, 1]


def test_references_are_checked_at_commit_in_any_order(store: SqlStore) -> None:
    gt = GroupType(name="gt")
    vt = VolumeType(name="vt")
    group = Group(name="g", group_type_id=gt.id, volume_type_ids=[vt.id])
    volume = Volume(name="v", size_bytes=1, volume_type_id=vt.id, group_id=group.id)
    with store.transaction() as tx:  # children before parents: fine, checked at commit
        tx.volumes.add(volume)
        tx.groups.add(group)
        tx.volume_types.add(vt)
        tx.group_types.add(gt)
    with store.transaction() as tx:  # parents before children on delete: fine too
        tx.group_types.remove(gt.id)
        tx.groups.remove(group.id)
        tx.volume_types.remove(vt.id)
        tx.volumes.remove(volume.id)
    with store.transaction() as tx:
        assert tx.volumes.count() == tx.groups.count() == 0


def test_a_dangling_reference_fails_the_commit_and_rolls_back(store: SqlStore) -> None:
    vt = VolumeType(name="vt")
    volume = Volume(name="v", size_bytes=1, volume_type_id=vt.id)
    with store.transaction() as tx:
        tx.volume_types.add(vt)
        tx.volumes.add(volume)
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.volume_types.remove(vt.id)  # a type in use: a manager bug the store refuses
        tx.volumes.add(Volume(name="w", size_bytes=1, volume_type_id=vt.id))
    with store.transaction() as tx:
        assert tx.volume_types.get(vt.id) == vt
        assert [v.name for v in tx.volumes] == ["v"]


def test_provenance_ids_may_outlive_their_source(store: SqlStore) -> None:
    vt = VolumeType(name="vt")
    source = Volume(name="src", size_bytes=1, volume_type_id=vt.id)
    clone = Volume(name="clone", size_bytes=1, volume_type_id=vt.id, source_volume_id=source.id)
    with store.transaction() as tx:
        tx.volume_types.add(vt)
        tx.volumes.add(source)
        tx.volumes.add(clone)
    with store.transaction() as tx:
        tx.volumes.remove(source.id)
    with store.transaction() as tx:
        assert tx.volumes.get(clone.id) == clone


def test_naive_datetimes_are_refused(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="naive"), store.transaction() as tx:
        tx.volume_types.add(VolumeType(name="t", created_at=dt.datetime(2024, 1, 1)))


def test_a_write_lock_not_granted_in_time_is_busy_not_internal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds SQLite's write lock past the busy timeout: StoreBusy (the
    documented busy answer), never an OperationalError."""
    monkeypatch.setattr(sql, "BUSY_TIMEOUT_SECONDS", 0.2)
    store = SqlStore.open(tmp_path)
    other = sqlite3.connect(tmp_path / sql.DB_FILE, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreBusy, match=r"^busy: "), store.transaction():
            pass
        other.execute("ROLLBACK")
        with store.transaction():
            pass
    finally:
        other.close()
        store.close()
