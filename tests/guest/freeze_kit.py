"""What the freeze tests (and bench/freeze.py) share in the guest: an 8-volume group, the ordered
writer on its gates (`cohort.tools.ordered_writer`, a process of its own), the images of group
snapshots and clones read back and judged, the gates' and LVs' device-mapper state, the freeze's
test hooks and the freeze record of an API answer (read defensively: older protos lack it)."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from cohort.tools.ordered_check import Verdict, check
from cohort.v1 import capabilities_pb2 as cap_pb
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import types_pb2 as t_pb
from cohort.v1 import volumes_pb2 as v_pb

from .helpers import UNIT, sh, wait_serving
from .test_scenario import VG, Client

MiB = 1024**2
MEMBERS = 8
#: Blocks per volume the writer uses (4 MiB of each 8 MiB volume): small enough to read back
#: quickly. The writer wraps after 8192 writes (about 15 s in the guest); the checker allows
#: for that.
SLOTS = 1024
CONSISTENT_SPEC = {"consistent_group_snapshot_enabled": "<is> True"}
#: The freeze's test hooks: cohortd reads `[freeze] test_hooks_dir` from this environment
#: variable, set by a systemd drop-in the tests install (see `hooks_enabled`).
HOOKS_DIR = Path("/run/cohort-freeze-hooks")
HOOKS_DROP_IN = Path(f"/run/systemd/system/{UNIT}.d/freeze-test-hooks.conf")
HOOKS_ENV = f"COHORT_FREEZE_TEST_HOOKS_DIR={HOOKS_DIR}"


def require_consistent(api: Client) -> None:
    """The LVM backend takes consistent group snapshots (the freeze): it must say so."""
    caps = api.capabilities.GetCapabilities(cap_pb.GetCapabilitiesRequest())
    assert caps.consistent_group_snapshot_enabled


def make_group(api: Client, name: str, consistent: bool, count: int = MEMBERS) -> g_pb.Group:
    """A group of `count` 8 MiB volumes, consistent or plain (types made as needed)."""
    kind = "consistent" if consistent else "plain"
    specs = CONSISTENT_SPEC if consistent else {}
    api.types.CreateVolumeType(t_pb.CreateVolumeTypeRequest(name=f"{kind}-thin", extra_specs=specs))
    api.types.CreateGroupType(t_pb.CreateGroupTypeRequest(name=kind, group_specs=specs))
    group = api.groups.CreateGroup(
        g_pb.CreateGroupRequest(name=name, group_type=kind, volume_types=[f"{kind}-thin"])
    )
    for i in range(count):
        api.volumes.CreateVolume(
            v_pb.CreateVolumeRequest(
                name=f"{name}-v{i}",
                size_bytes=8 * MiB,
                volume_type=f"{kind}-thin",
                group_id=group.id,
            ),
            timeout=300,
        )
    return api.groups.GetGroup(g_pb.GetGroupRequest(group_id=group.id))


def member_paths(api: Client, group: g_pb.Group) -> tuple[list[str], list[str]]:
    """The members' ids and device paths, in the writer's order (the group's)."""
    ids = list(group.volume_ids)
    return ids, [api.volume(v).device_path for v in ids]


def delete_group(api: Client, group_id: str) -> None:
    """A group, its group snapshots and its volumes."""
    listed = api.group_snapshots.ListGroupSnapshots(gs_pb.ListGroupSnapshotsRequest())
    for gs in listed.group_snapshots:
        if gs.group_id == group_id:
            api.group_snapshots.DeleteGroupSnapshot(
                gs_pb.DeleteGroupSnapshotRequest(group_snapshot_id=gs.id), timeout=300
            )
    api.groups.DeleteGroup(
        g_pb.DeleteGroupRequest(group_id=group_id, delete_volumes=True), timeout=300
    )


class Writer:
    """`python -m cohort.tools.ordered_writer write` on the devices, until stopped."""

    def __init__(
        self, paths: Sequence[str], slots: int = SLOTS, stall_seconds: float = 0.1
    ) -> None:
        self.paths, self.slots, self.stall_seconds = list(paths), slots, stall_seconds
        self._dir = tempfile.TemporaryDirectory(prefix="ordered-writer-")
        self.progress_file = Path(self._dir.name) / "progress.json"
        self.proc: subprocess.Popen[str] | None = None
        self.summary: dict[str, Any] = {}

    def __enter__(self) -> Writer:
        argv = [sys.executable, "-m", "cohort.tools.ordered_writer", "write"]
        argv += ["--slots", str(self.slots), "--stall-seconds", str(self.stall_seconds)]
        argv += ["--progress", str(self.progress_file), *self.paths]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        self.wait_progress(0, timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.stop()
        self._dir.cleanup()

    def progress(self) -> dict[str, Any]:
        """The writer's progress file: done (last completed write), issued (CLOCK_MONOTONIC of
        the write in flight), finished."""
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            state: dict[str, Any] = json.loads(self.progress_file.read_text())
            return state
        return {"done": 0, "issued": time.monotonic(), "finished": False}

    def wait_progress(self, beyond: int, timeout: float) -> float | None:
        """Seconds until a write beyond `beyond` completed; None if none did within `timeout`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            assert self.proc is not None and self.proc.poll() is None, "the writer died"
            if self.progress()["done"] > beyond:
                return time.monotonic() - started
            time.sleep(0.05)
        return None

    def stop(self, timeout: float = 120) -> dict[str, Any]:
        """SIGTERM; the writer finishes its write in flight and prints its summary."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, out
        self.summary = json.loads(out)
        return self.summary


# -- images ---------------------------------------------------------------------------------
def judge_devices(paths: Sequence[str], slots: int = SLOTS) -> Verdict:
    return check(paths, slots, direct=True)


@contextlib.contextmanager
def snapshot_devices(
    api: Client, gs: gs_pb.GroupSnapshot, order: Sequence[str]
) -> Iterator[list[str]]:
    """The member snapshots' LVs of a group snapshot, activated (they carry LVM's activation
    skip flag: -K) in the writer's order (`order`: the source volume ids); deactivated after."""
    members = {
        s.volume_id: s.id
        for s in api.snapshots.ListSnapshots(
            s_pb.ListSnapshotsRequest(group_snapshot_id=gs.id, page_size=1000)
        ).snapshots
    }
    lvs = [f"{VG}/_snapshot-{members[v]}" for v in order]
    try:
        for lv in lvs:
            sh("lvchange", "--activate", "y", "--ignoreactivationskip", "--", lv, timeout=300)
        yield [f"/dev/{lv}" for lv in lvs]
    finally:
        for lv in lvs:
            sh("lvchange", "--activate", "n", "--", lv, check=False, timeout=300)


def snapshot_verdict(api: Client, gs: gs_pb.GroupSnapshot, order: Sequence[str]) -> Verdict:
    with snapshot_devices(api, gs, order) as paths:
        return judge_devices(paths)


def clone_verdict(api: Client, clone: g_pb.Group, order: Sequence[str]) -> Verdict:
    """A clone of the group: its volumes' gates, in the source's writer order."""
    by_source = {
        api.volume(v).source_volume_id: api.volume(v).device_path for v in clone.volume_ids
    }
    return judge_devices([by_source[v] for v in order])


def freeze_record(message: Message) -> dict[str, Any] | None:
    """The `freeze` field of a group snapshot or group as a dict (path, windowSeconds, stalls);
    None when unset or when this proto has no such field."""
    if "freeze" not in message.DESCRIPTOR.fields_by_name or not message.HasField("freeze"):
        return None
    record: dict[str, Any] = MessageToDict(getattr(message, "freeze"))  # noqa: B009
    return record


def took_freeze(record: dict[str, Any] | None) -> bool:
    return record is not None and str(record.get("path", "")).upper().endswith("FREEZE")


# -- device-mapper state ---------------------------------------------------------------------
def suspended_devices(prefix: str = "") -> set[str]:
    """device-mapper devices (names starting with `prefix`) that are suspended."""
    out = sh("dmsetup", "info", "-c", "--noheadings", "--separator", " ", "-o", "name,suspended")
    return {
        name
        for name, state in (line.split() for line in out.stdout.splitlines() if line.strip())
        if name.startswith(prefix) and state == "Suspended"
    }


def resume_everything_of_cohort() -> None:
    """Last-resort clean-up of a failed test: resume every suspended gate and LV of the pool,
    so the writer and the rest of the suite are not left blocked."""
    for name in suspended_devices("cohort-"):
        sh("dmsetup", "resume", name, check=False)


# -- test hooks -------------------------------------------------------------------------------
def hooks_enabled() -> None:
    """Install the drop-in that sets cohortd's `[freeze] test_hooks_dir` and restart cohortd
    (once: nothing happens when it is in place already)."""
    HOOKS_DIR.mkdir(exist_ok=True)
    if HOOKS_DROP_IN.exists():
        return
    HOOKS_DROP_IN.parent.mkdir(parents=True, exist_ok=True)
    HOOKS_DROP_IN.write_text(f"[Service]\nEnvironment={HOOKS_ENV}\n")
    sh("systemctl", "daemon-reload")
    sh("systemctl", "restart", UNIT, timeout=300)
    assert wait_serving() == "SERVING"


def hooks_disabled() -> None:
    if HOOKS_DROP_IN.exists():
        HOOKS_DROP_IN.unlink()
        sh("systemctl", "daemon-reload")
        sh("systemctl", "restart", UNIT, timeout=300)
        assert wait_serving() == "SERVING"
    clear_hooks()


def clear_hooks() -> None:
    for name in ("hold_at", "reached", "no_freeze"):
        (HOOKS_DIR / name).unlink(missing_ok=True)


def hold_at(step: str, seconds: float) -> None:
    (HOOKS_DIR / "reached").unlink(missing_ok=True)
    (HOOKS_DIR / "hold_at").write_text(f"{step} {seconds}\n")


def wait_reached(step: str, timeout: float = 300) -> str:
    """The subject id once cohortd reports it holds at `step`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError):
            words = (HOOKS_DIR / "reached").read_text().split()
            if words and words[0] == step:
                return words[1] if len(words) > 1 else ""
        time.sleep(0.05)
    raise AssertionError(f"cohortd never reached the freeze step {step!r}")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
