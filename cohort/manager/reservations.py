"""Reservations: how concurrent calls share cohort's objects (the concurrency model).

Several control planes call cohort at once. Every mutation runs in three phases:

1. **Plan**, in one short store transaction under the manager's mutation lock: check the
   preconditions and *reserve* every object the call touches (`Ticket.hold`). Objects a call
   creates are inserted in the same transaction, in a transitional status, and reserved too.
2. **Act**: call the backend with no cohort lock held and no store transaction open.
3. **Apply**, in a second short transaction: write only the fields the call changed
   (`Repository.patch`), never a whole row read before the backend call. Then release.

A reservation is released on every path (success, backend error, exception) when the ticket's
block ends. Reservations live in memory: a crash ends every call and with it every reservation;
what a crash left half-done is resolved from the journal and the transitional statuses at the
next start (cohort.manager.recovery), before the server accepts calls. Reads reserve nothing and
never wait: a read sees each object as its last committed transaction left it.

Modes: EXCLUSIVE for what a call changes, SHARED for what it only reads. SHARED is compatible
with SHARED; EXCLUSIVE with nothing. An object reserved in a conflicting mode makes the second
call fail at once, before any status rule is checked, with `ObjectBusy` (gRPC UNAVAILABLE with a
google.rpc.ErrorInfo, reason OBJECT_BUSY, naming the object and the operation holding it, and a
RetryInfo): nothing was changed, so retrying is always safe. Rule violations stay
FAILED_PRECONDITION ("not until something changes"); backend failures ABORTED.

| operation                        | EXCLUSIVE                           | SHARED                  |
|----------------------------------|-------------------------------------|-------------------------|
| CreateVolume                     | the new volume                      | its source snapshot or  |
|                                  |                                     | volume; its group       |
| ExtendVolume, DeleteVolume       | the volume                          |                         |
| CreateSnapshot                   | the new snapshot                    | the volume              |
| DeleteSnapshot                   | the snapshot                        |                         |
| CreateGroup                      | the new group                       |                         |
| UpdateGroup                      | the group; each added and removed   |                         |
|                                  | volume                              |                         |
| DeleteGroup                      | the group; its volumes              |                         |
| CreateGroupSnapshot              | the group; the new group snapshot   | the group's volumes     |
|                                  | and its snapshots                   |                         |
| DeleteGroupSnapshot              | the group snapshot; its snapshots   |                         |
| CreateGroupFromSource (snapshot) | the new group and its volumes       | the group snapshot and  |
|                                  |                                     | its snapshots           |
| CreateGroupFromSource (group)    | the new group and its volumes; the  | the source's volumes    |
|                                  | source group                        |                         |
| ExportVolume                     | the volume                          |                         |
| ExportSnapshot                   | the snapshot                        |                         |
| Unexport                         | the volume or snapshot              |                         |

A group is held exclusively by whatever changes its membership or takes an image of all of it;
creating a volume into a group holds the group shared, so creates into one group run side by side
while a group snapshot of it waits for none of them and lets none of them in. Pairs that conflict,
among others: the same volume added to two groups; add vs delete of the volume; extend vs add,
remove, group snapshot or group clone; two group snapshots of one group; create-into-group vs group
snapshot; delete vs update of a group; create from a source vs delete of that source; delete vs
delete. A clone of a volume taken during a group snapshot of its group does not conflict.
Exports: an export or unexport of a volume conflicts with its delete, its extend, a change of its
group's membership that moves it, a group snapshot of its group (the freeze holds the volume
SHARED) and another export or unexport of it (two initiators exporting one volume at once: one
is BUSY, and its retry adds the second ACL to the one target); of a snapshot, with its delete and
its group snapshot's delete. Whichever comes second after the first has finished gets the rule's
code: an exported object's delete is FAILED_PRECONDITION, an export of a deleted one NOT_FOUND.

Names are checked and inserted in the plan transaction, under the mutation lock: of a rename and a
create to one name, or two creates with other arguments, exactly one succeeds and the other gets
ALREADY_EXISTS. Two identical creates of one name return the one object: the second waits (bounded)
until the first has settled it, then answers it as it is (`Pending`).

Capacity is part of the plan: the provisioned bytes are summed from the store (creates in flight
are rows already) plus the growth of extends in flight (`Ticket.growth`), so two creates cannot
both take the last room. The pool's own figures (total size, capabilities) are refreshed outside
the lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from cohort.errors import ObjectBusy


class Mode(StrEnum):
    SHARED = "shared"
    EXCLUSIVE = "exclusive"


class Pending(Exception):
    """An identical create of this object is still running: wait for it, then look again."""

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"{kind} {object_id} is being created")
        self.kind = kind
        self.object_id = object_id


@dataclass(slots=True)
class _Hold:
    ticket: Ticket
    kind: str
    mode: Mode


@dataclass(eq=False, slots=True)
class Ticket:
    """One call's reservations. Only `Reservations` creates tickets."""

    operation: str
    _table: Reservations
    #: Bytes an extend in flight adds to the provisioned total (counted by capacity checks).
    growth: int = 0
    held: dict[str, _Hold] = field(default_factory=dict)

    def hold(self, kind: str, object_id: str, mode: Mode) -> None:
        """Reserve an object for this call, or raise ObjectBusy. Call it in the plan phase."""
        self._table.acquire(self, kind, object_id, mode)


class Reservations:
    """The table of reservations of every live call."""

    def __init__(self) -> None:
        self._holds: dict[str, list[_Hold]] = {}
        self._tickets: set[Ticket] = set()
        self._changed = threading.Condition()

    @contextmanager
    def ticket(self, operation: str) -> Iterator[Ticket]:
        """A ticket for one call; every reservation it took is released when the block ends."""
        ticket = Ticket(operation, self)
        with self._changed:
            self._tickets.add(ticket)
        try:
            yield ticket
        finally:
            self._release(ticket)

    def acquire(self, ticket: Ticket, kind: str, object_id: str, mode: Mode) -> None:
        with self._changed:
            mine = ticket.held.get(object_id)
            if mine is not None and (mine.mode is Mode.EXCLUSIVE or mode is Mode.SHARED):
                return  # already held at least as strongly
            for other in self._holds.get(object_id, []):
                if other.ticket is ticket:
                    continue
                if mode is Mode.EXCLUSIVE or other.mode is Mode.EXCLUSIVE:
                    raise ObjectBusy(kind, object_id, other.ticket.operation)
            hold = _Hold(ticket, kind, mode)
            holds = [h for h in self._holds.get(object_id, []) if h.ticket is not ticket]
            self._holds[object_id] = [*holds, hold]
            ticket.held[object_id] = hold

    def _release(self, ticket: Ticket) -> None:
        with self._changed:
            for object_id in ticket.held:
                rest = [h for h in self._holds.get(object_id, []) if h.ticket is not ticket]
                if rest:
                    self._holds[object_id] = rest
                else:
                    self._holds.pop(object_id, None)
            ticket.held.clear()
            self._tickets.discard(ticket)
            self._changed.notify_all()

    def holder(self, object_id: str) -> str | None:
        """The operation holding an object, if any."""
        with self._changed:
            holds = self._holds.get(object_id)
            return holds[0].ticket.operation if holds else None

    def growth(self) -> int:
        """Bytes that extends in flight add to the provisioned total."""
        with self._changed:
            return sum(t.growth for t in self._tickets)

    def wait_free(self, object_id: str, timeout: float) -> bool:
        """Wait until nobody holds the object; False if it is still held after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while object_id in self._holds:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def __len__(self) -> int:
        with self._changed:
            return len(self._holds)
