"""The repository contract (cohort.domain.store), run on every kind of SqlStore."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from cohort.domain.model import (
    Group,
    GroupStatus,
    GroupType,
    Operation,
    OperationState,
    StepRecord,
    StepState,
    Volume,
    VolumeStatus,
    VolumeType,
)
from cohort.errors import AlreadyExists, InvalidArgument, NotFound
from cohort.store import ReadOnlyTransaction, SqlStore

from .records import Graph, add_graph, graph


def repo_of(tx: object, record: object) -> object:
    names = {
        "VolumeType": "volume_types",
        "GroupType": "group_types",
        "Group": "groups",
        "Volume": "volumes",
        "GroupSnapshot": "group_snapshots",
        "Snapshot": "snapshots",
        "Operation": "operations",
    }
    return getattr(tx, names[type(record).__name__])


def normalised(record: object) -> object:
    """What the store gives back: every datetime in UTC."""
    changes = {
        f.name: getattr(record, f.name).astimezone(UTC)
        for f in dataclasses.fields(record)  # type: ignore[arg-type]
        if isinstance(getattr(record, f.name), datetime)
    }
    return dataclasses.replace(record, **changes)  # type: ignore[type-var]


class Volumes:
    """Helpers on a store with one volume type."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.vt = VolumeType(name="t")
        with store.transaction() as tx:
            tx.volume_types.add(self.vt)

    def add(self, *names: str, **kw: object) -> list[Volume]:
        volumes = [Volume(name=n, size_bytes=1, volume_type_id=self.vt.id, **kw) for n in names]  # type: ignore[arg-type]
        with self.store.transaction() as tx:
            for v in volumes:
                tx.volumes.add(v)
        return volumes


# -- round trips -------------------------------------------------------------------------------


def test_every_record_round_trips(store: SqlStore) -> None:
    g = graph()
    add_graph(store, g)
    with store.transaction() as tx:
        for record in g.all():
            repo = repo_of(tx, record)
            got = repo.get(record.id)  # type: ignore[attr-defined]
            assert got == normalised(record)
            assert type(got) is type(record)
            if hasattr(record, "name"):
                assert repo.by_name(record.name) == got  # type: ignore[attr-defined]


def test_loaded_values_have_domain_types(store: SqlStore) -> None:
    g = graph()
    add_graph(store, g)
    with store.transaction() as tx:
        volume = tx.volumes.get(g.volume.id)
        op = tx.operations.get(g.operation.id)
        group = tx.groups.get(g.group.id)
    assert volume is not None and op is not None and group is not None
    assert type(volume.status) is VolumeStatus
    assert volume.created_at.tzinfo is UTC
    assert volume.created_at == g.volume.created_at
    assert type(op.state) is OperationState
    assert all(type(s) is StepRecord and type(s.state) is StepState for s in op.steps)
    assert type(group.status) is GroupStatus
    assert group.volume_type_ids == [g.volume_type.id, "other"]


def test_missing_records_are_none(store: SqlStore) -> None:
    with store.transaction() as tx:
        assert tx.volumes.get("nope") is None
        assert tx.volumes.by_name("nope") is None
        assert tx.operations.get("nope") is None


def test_operations_have_no_name(store: SqlStore) -> None:
    with store.transaction() as tx, pytest.raises(ValueError):
        tx.operations.by_name("x")


def test_returned_records_are_detached(store: SqlStore) -> None:
    vt = VolumeType(name="t", extra_specs={"a": "1"})
    with store.transaction() as tx:
        tx.volume_types.add(vt)
        vt.extra_specs["a"] = "changed after add"
        got = tx.volume_types.get(vt.id)
        assert got is not None
        assert got.extra_specs == {"a": "1"}
        got.extra_specs["b"] = "2"
        got.description = "not written"
        again = tx.volume_types.get(vt.id)
        assert again is not None
        assert again.extra_specs == {"a": "1"}
        assert again.description == ""
    with store.transaction() as tx:
        assert tx.volume_types.get(vt.id) == dataclasses.replace(vt, extra_specs={"a": "1"})


def test_update_writes_every_field(store: SqlStore) -> None:
    g = graph()
    add_graph(store, g)
    op = dataclasses.replace(
        g.operation,
        steps=[*g.operation.steps, StepRecord(3, "clone", {"k": "v"}, StepState.REVERTED)],
        state=OperationState.DONE,
        kind="other",
    )
    group = dataclasses.replace(
        g.group,
        name="renamed",
        volume_type_ids=[],
        status=GroupStatus.ERROR,
        consistent=False,
        source_group_id=None,
        description="",
    )
    volume = dataclasses.replace(
        g.volume, status=VolumeStatus.EXTENDING, size_bytes=7, group_id=None, device_path=""
    )
    with store.transaction() as tx:
        tx.operations.update(op)
        tx.groups.update(group)
        tx.volumes.update(volume)
    with store.transaction() as tx:
        assert tx.operations.get(op.id) == op
        assert tx.groups.get(group.id) == group
        assert tx.groups.by_name("g") is None
        assert tx.volumes.get(volume.id) == volume


def test_update_of_missing_record_is_not_found(store: SqlStore) -> None:
    with store.transaction() as tx, pytest.raises(NotFound):
        tx.volume_types.update(VolumeType(name="ghost"))


def test_remove(store: SqlStore) -> None:
    (v,) = Volumes(store).add("v")
    with store.transaction() as tx:
        tx.volumes.remove(v.id)
        assert tx.volumes.get(v.id) is None
        tx.volumes.remove(v.id)  # removing twice does nothing
    with store.transaction() as tx:
        assert tx.volumes.get(v.id) is None
        assert tx.volumes.count() == 0


# -- names -------------------------------------------------------------------------------------


def test_duplicate_name_is_already_exists_and_transaction_goes_on(store: SqlStore) -> None:
    vols = Volumes(store)
    (v,) = vols.add("v")
    with store.transaction() as tx:
        with pytest.raises(AlreadyExists, match="'v'"):
            tx.volumes.add(Volume(name="v", size_bytes=2, volume_type_id=vols.vt.id))
        tx.volumes.add(Volume(name="w", size_bytes=2, volume_type_id=vols.vt.id))
    with store.transaction() as tx:
        assert [x.name for x in tx.volumes] == ["v", "w"]
        assert tx.volumes.get(v.id) == v


def test_rename_onto_a_taken_name_is_already_exists(store: SqlStore) -> None:
    _, b = Volumes(store).add("a", "b")
    with store.transaction() as tx:
        with pytest.raises(AlreadyExists):
            tx.volumes.update(dataclasses.replace(b, name="a"))
        assert tx.volumes.get(b.id) == b
        tx.volumes.update(dataclasses.replace(b, description="still usable"))
    with store.transaction() as tx:
        got = tx.volumes.get(b.id)
        assert got is not None and got.name == "b" and got.description == "still usable"


def test_same_name_in_different_tables_is_fine(store: SqlStore) -> None:
    with store.transaction() as tx:
        vt = VolumeType(name="same")
        tx.volume_types.add(vt)
        tx.volumes.add(Volume(name="same", size_bytes=1, volume_type_id=vt.id))


def test_name_is_free_again_after_remove(store: SqlStore) -> None:
    vols = Volumes(store)
    (old,) = vols.add("v")
    with store.transaction() as tx:
        tx.volumes.remove(old.id)
        tx.volumes.add(Volume(name="v", size_bytes=9, volume_type_id=vols.vt.id))
    (new,) = vols.add("w")
    with store.transaction() as tx:
        tx.volumes.remove(new.id)
    (again,) = vols.add("w")
    with store.transaction() as tx:
        assert [v.name for v in tx.volumes] == ["v", "w"]
        assert tx.volumes.by_name("w") == again


# -- filters -----------------------------------------------------------------------------------


def test_find_and_count_filter_by_equality(store: SqlStore) -> None:
    vols = Volumes(store)
    with store.transaction() as tx:
        group = Group(name="g", group_type_id="gt", volume_type_ids=[vols.vt.id])
        tx.group_types.add(GroupType(name="gt", id="gt"))
        tx.groups.add(group)
    a, b, c, d = vols.add("a", "b", "c", "d")
    a.status, b.status, b.group_id, c.group_id = (
        VolumeStatus.AVAILABLE,
        VolumeStatus.AVAILABLE,
        group.id,
        group.id,
    )
    with store.transaction() as tx:
        for v in (a, b, c):
            tx.volumes.update(v)
    with store.transaction() as tx:
        assert tx.volumes.find(status=VolumeStatus.AVAILABLE) == [a, b]
        assert tx.volumes.find(status="available") == [a, b]  # enums compare by value
        assert tx.volumes.find(group_id=group.id) == [b, c]
        assert tx.volumes.find(group_id=None) == [a, d]
        assert tx.volumes.find(group_id=group.id, status=VolumeStatus.AVAILABLE) == [b]
        assert tx.volumes.find(status=VolumeStatus.DELETING) == []
        assert tx.volumes.count(group_id=group.id) == 2
        assert tx.volumes.count(group_id=None) == 2
        assert tx.volumes.count() == 4
        assert list(tx.volumes) == [a, b, c, d]


def test_exclude(store: SqlStore) -> None:
    vols = Volumes(store)
    a, b, c = vols.add("a", "b", "c")
    b.status, b.group_id = VolumeStatus.ERROR, None
    c.source_volume_id = a.id
    with store.transaction() as tx:
        tx.volumes.update(b)
        tx.volumes.update(c)
    with store.transaction() as tx:
        assert tx.volumes.find(exclude={"status": VolumeStatus.ERROR}) == [a, c]
        # a NULL is not equal to a value: rows without a source stay in
        assert tx.volumes.find(exclude={"source_volume_id": a.id}) == [a, b]
        assert tx.volumes.find(exclude={"source_volume_id": None}) == [c]
        assert tx.volumes.count(exclude={"status": "error"}, source_volume_id=None) == 1
        assert tx.volumes.find(exclude={"status": "error", "name": "a"}) == [c]
        page = tx.volumes.page(10, "", exclude={"status": VolumeStatus.ERROR})
        assert page.items == [a, c]


@pytest.mark.parametrize(
    "attribute", ["nope", "seq", "extra", "volume_type_ids", "_sa", "freeze", "freeze_path"]
)
def test_bad_filter_attributes_raise_value_error(store: SqlStore, attribute: str) -> None:
    bad: dict[str, Any] = {attribute: "x"}
    with store.transaction() as tx:
        with pytest.raises(ValueError):
            tx.groups.find(**bad)
        with pytest.raises(ValueError):
            tx.groups.count(exclude={attribute: "x"})
        with pytest.raises(ValueError):
            tx.groups.page(5, "", **bad)


def test_json_attributes_are_not_filters(store: SqlStore) -> None:
    with store.transaction() as tx:
        with pytest.raises(ValueError):
            tx.volume_types.find(extra_specs={})
        with pytest.raises(ValueError):
            tx.operations.find(steps=[])


def test_operations_filter_on_state(store: SqlStore) -> None:
    running = Operation(kind="k", subject_id="s1")
    done = Operation(kind="k", subject_id="s2", state=OperationState.DONE)
    with store.transaction() as tx:
        tx.operations.add(running)
        tx.operations.add(done)
    with store.transaction() as tx:
        assert tx.operations.find(state=OperationState.RUNNING) == [running]
        assert tx.operations.find(exclude={"state": OperationState.RUNNING}) == [done]


# -- order and pages ---------------------------------------------------------------------------


def test_lists_are_in_creation_order_not_name_or_id_order(store: SqlStore) -> None:
    vols = Volumes(store)
    names = ["m", "z", "a", "k"]
    created = [vols.add(n, id=f"{9 - i}")[0] for i, n in enumerate(names)]
    with store.transaction() as tx:
        assert tx.volumes.find() == created
        assert list(tx.volumes) == created


def test_pages_walk_every_row_once(store: SqlStore) -> None:
    vols = Volumes(store)
    created = vols.add(*(f"v{i:02}" for i in range(23)))
    for size in (1, 5, 10, 22, 23, 24, 100):
        seen: list[Volume] = []
        token = ""
        pages = 0
        with store.transaction(readonly=True) as tx:
            while True:
                page = tx.volumes.page(size, token)
                pages += 1
                assert len(page.items) <= size
                seen.extend(page.items)
                if not page.next_page_token:
                    break
                token = page.next_page_token
        assert seen == created
        assert pages == -(-23 // size)  # no empty trailing page


def test_page_with_filters_and_exact_fit(store: SqlStore) -> None:
    vols = Volumes(store)
    vols.add("a", "b")
    avail = vols.add("c", "d", "e", "f", status=VolumeStatus.AVAILABLE)
    vols.add("g")
    with store.transaction() as tx:
        first = tx.volumes.page(2, "", status=VolumeStatus.AVAILABLE)
        assert first.items == avail[:2] and first.next_page_token
        second = tx.volumes.page(2, first.next_page_token, status=VolumeStatus.AVAILABLE)
        assert second.items == avail[2:]
        assert second.next_page_token == ""


def test_empty_page(store: SqlStore) -> None:
    with store.transaction() as tx:
        page = tx.snapshots.page(10, "")
    assert page.items == [] and page.next_page_token == ""


def test_tokens_survive_deletes_and_inserts(store: SqlStore) -> None:
    vols = Volumes(store)
    a, b, c, d = vols.add("a", "b", "c", "d")
    with store.transaction() as tx:
        page = tx.volumes.page(2, "")
    assert page.items == [a, b]
    with store.transaction() as tx:
        tx.volumes.remove(b.id)  # the row the token points after
        tx.volumes.remove(c.id)
    (e,) = vols.add("e")
    with store.transaction() as tx:
        rest = tx.volumes.page(10, page.next_page_token)
    assert rest.items == [d, e]


def test_seq_is_not_reused_after_removing_the_newest_row(store: SqlStore) -> None:
    vols = Volumes(store)
    a, b = vols.add("a", "b")
    with store.transaction() as tx:
        page = tx.volumes.page(1, "")
        assert page.items == [a]
        tx.volumes.remove(b.id)
    with store.transaction() as tx:
        last = tx.volumes.page(1, "")
    assert last.items == [a]
    assert last.next_page_token == ""
    # a's token must not hide a row added after b was deleted
    (c,) = vols.add("c")
    with store.transaction() as tx:
        assert tx.volumes.page(5, page.next_page_token).items == [c]


@pytest.mark.parametrize(
    "token", ["x", "djE6", "djI6NQ", "djE6LTE", "djE6NQ==", "djE6YQ", "???", "é", "v1:5", " "]
)
def test_malformed_token_is_invalid_argument(store: SqlStore, token: str) -> None:
    with store.transaction() as tx, pytest.raises(InvalidArgument, match="invalid page_token"):
        tx.volumes.page(5, token)


@pytest.mark.parametrize("size", [0, -1])
def test_page_size_must_be_positive(store: SqlStore, size: int) -> None:
    with store.transaction() as tx, pytest.raises(InvalidArgument):
        tx.volumes.page(size, "")


# -- the unit of work --------------------------------------------------------------------------


def test_transaction_commits_at_block_end(store: SqlStore) -> None:
    vt = VolumeType(name="t")
    with store.transaction() as tx:
        tx.volume_types.add(vt)
    with store.transaction() as tx:
        assert tx.volume_types.get(vt.id) == vt


def test_exception_rolls_the_whole_transaction_back(store: SqlStore) -> None:
    vols = Volumes(store)
    (v,) = vols.add("v")
    with pytest.raises(RuntimeError, match="boom"), store.transaction() as tx:
        tx.volume_types.add(VolumeType(name="new"))
        tx.volumes.update(dataclasses.replace(v, status=VolumeStatus.ERROR))
        tx.volumes.remove(v.id)
        raise RuntimeError("boom")
    with store.transaction() as tx:
        assert tx.volume_types.by_name("new") is None
        assert tx.volumes.get(v.id) == v


def test_already_exists_escaping_the_block_rolls_back(store: SqlStore) -> None:
    vols = Volumes(store)
    vols.add("v")
    with pytest.raises(AlreadyExists), store.transaction() as tx:
        tx.volumes.add(Volume(name="w", size_bytes=1, volume_type_id=vols.vt.id))
        tx.volumes.add(Volume(name="v", size_bytes=1, volume_type_id=vols.vt.id))
    with store.transaction() as tx:
        assert tx.volumes.by_name("w") is None


def test_store_is_usable_after_a_failed_transaction(store: SqlStore) -> None:
    with pytest.raises(KeyError), store.transaction() as tx:
        tx.volume_types.add(VolumeType(name="t"))
        raise KeyError
    with store.transaction() as tx:
        tx.volume_types.add(VolumeType(name="t"))
    with store.transaction() as tx:
        assert tx.volume_types.count() == 1


def test_readonly_transaction_refuses_writes(store: SqlStore) -> None:
    with store.transaction(readonly=True) as tx:
        with pytest.raises(ReadOnlyTransaction):
            tx.volume_types.add(VolumeType(name="t"))
        with pytest.raises(ReadOnlyTransaction):
            tx.volume_types.remove("x")
        with pytest.raises(ReadOnlyTransaction):
            tx.volume_types.update(VolumeType(name="t"))
    with store.transaction() as tx:
        assert tx.volume_types.count() == 0


def test_graph_with_many_records(store: SqlStore) -> None:
    graphs: list[Graph] = [graph(f"-{i}") for i in range(3)]
    for g in graphs:
        add_graph(store, g)
    with store.transaction() as tx:
        assert tx.snapshots.find(volume_id=graphs[1].volume.id) == [graphs[1].snapshot]
        assert tx.snapshots.find(group_snapshot_id=graphs[2].group_snapshot.id) == [
            graphs[2].snapshot
        ]
        assert tx.group_snapshots.count(group_id=graphs[0].group.id) == 1
        assert tx.groups.find(group_type_id=graphs[0].group_type.id) == [
            normalised(graphs[0].group)
        ]
        assert tx.volumes.count() == 6
        assert tx.volumes.count(volume_type_id=graphs[0].volume_type.id) == 2


def test_nested_transaction_on_one_thread_is_refused(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.volume_types.add(VolumeType(name="outer"))
        with pytest.raises(RuntimeError, match="nested"), store.transaction():
            pass
    with store.transaction() as tx:  # the outer one committed, the store is usable
        assert tx.volume_types.by_name("outer") is not None
