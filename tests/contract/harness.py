"""What the backend contract suite needs from a backend under test, beyond the `Backend` protocol.

A harness wraps one backend instance and offers the few observations the protocol does not: the
size a volume really has, filling the pool, and (where the backend has data) reading and writing
volume bytes. `Journal` is the manager's journal as a backend sees it, with crash points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from cohort.domain.backend import Backend, Step
from cohort.domain.model import Group, GroupSnapshot, Snapshot, Volume
from tests.recorder import Recorder

T = TypeVar("T")
MiB = 1024**2


class Harness(Protocol):
    backend: Backend

    data: bool
    """True when `write` and `read` work (the LVM fake runner holds no data)."""

    def size(self, volume: Volume) -> int:
        """The size the backend holds for the volume."""
        ...

    def fill(self) -> None:
        """Make the pool full: from now on every new allocation is refused."""
        ...

    def write(self, volume: Volume, offset: int, data: bytes) -> None: ...

    def read(self, volume: Volume, offset: int, length: int) -> bytes: ...


class Crash(BaseException):
    """The journal's stand-in for a process crash at a chosen step."""


class Journal(Recorder):
    """The manager's journal (tests/recorder.py) with crash points: `crash_before` /
    `crash_after` (1-based batch numbers) raise `Crash` right after that batch's steps were
    recorded / right after its work ran, as a crash of cohortd there would leave them."""

    def __init__(self, crash_before: int | None = None, crash_after: int | None = None) -> None:
        super().__init__()
        self.crash_before = crash_before
        self.crash_after = crash_after

    def run_batch(self, steps: Sequence[Step], fn: Callable[[], T]) -> T:
        number = self.batches + 1

        def work() -> T:
            if number == self.crash_before:
                raise Crash(f"crash before the work of batch #{number}")
            result = fn()
            if number == self.crash_after:
                raise Crash(f"crash after the work of batch #{number}")
            return result

        return super().run_batch(steps, work)

    def settled(self) -> bool:
        """Every recorded step ran and was marked done."""
        return self.done == self.recorded

    def rollback(self, backend: Backend) -> None:
        """Revert every recorded step, newest first, twice (a revert may itself be re-run)."""
        super().rollback(backend)
        super().rollback(backend)


def volume(
    size: int = 8 * MiB,
    *,
    id: str | None = None,
    source_volume_id: str | None = None,
    source_snapshot_id: str | None = None,
) -> Volume:
    v = Volume(
        name="v",
        size_bytes=size,
        volume_type_id="t",
        source_volume_id=source_volume_id,
        source_snapshot_id=source_snapshot_id,
    )
    if id is not None:
        v.id = id
    return v


def snapshot_of(
    vol: Volume, group_snapshot: GroupSnapshot | None = None, *, id: str | None = None
) -> Snapshot:
    s = Snapshot(
        name="s",
        volume_id=vol.id,
        size_bytes=vol.size_bytes,
        group_snapshot_id=group_snapshot.id if group_snapshot else None,
    )
    if id is not None:
        s.id = id
    return s


def group(consistent: bool = False) -> Group:
    return Group(name="g", group_type_id="gt", volume_type_ids=["t"], consistent=consistent)


def group_snapshot_of(grp: Group) -> GroupSnapshot:
    return GroupSnapshot(name="gs", group_id=grp.id, group_type_id="gt", consistent=grp.consistent)
