"""LvmBackend against the fake runner: argv shapes, volumes, snapshots, gates, capacity."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from cohort.domain.model import Snapshot
from cohort.errors import BackendError, InvalidArgument, ResourceExhausted
from cohort.lvm.backend import LvmBackend
from cohort.lvm.errors import ObjectNotFound

from .fakes import EXTENT, FakeSystem
from .helpers import GiB, vol


def assert_safe(calls: Sequence[Sequence[str]]) -> None:
    """Every positional (user-influenced) value follows `--`; no name begins with `-`."""
    for argv in calls:
        if argv[0] == "lvm" and len(argv) == 1:
            continue
        if argv[1] in ("lvs", "vgs", "lvcreate", "lvextend", "lvremove", "lvchange") or (
            argv[0] == "dmsetup" and argv[1] in ("create", "remove", "reload", "resume", "table")
        ):
            assert "--" in argv, argv
            after = argv[argv.index("--") + 1 :]
            assert all(not a.startswith("-") for a in after), argv
        for i, a in enumerate(argv):
            if a in ("--name", "--uuid", "--addtag"):
                assert not argv[i + 1].startswith("-"), argv


def test_start_installs_hygiene_and_profile(fake: FakeSystem, tmp_path: Path) -> None:
    LvmBackend(fake, "vg0", "pool", lvm_dir=tmp_path).start()
    conf = (tmp_path / "lvmlocal.conf").read_text()
    assert '"a|^/dev/vdb$|", "r|.*|"' in conf and "ignore_suspended_devices = 1" in conf
    assert (tmp_path / "profile" / "cohortd.profile").exists()


def test_start_sets_error_when_full(fake: FakeSystem, tmp_path: Path) -> None:
    fake.when_full = "queue"
    LvmBackend(fake, "vg0", "pool", manage_lvm_config=False).start()
    assert ("lvm", "lvchange", "--errorwhenfull", "y", "--", "vg0/pool") in fake.calls


def test_round_size_to_extent(backend: LvmBackend) -> None:
    assert backend.round_size(1) == EXTENT
    assert backend.round_size(EXTENT) == EXTENT
    assert backend.round_size(EXTENT + 1) == 2 * EXTENT


def test_create_volume_argv_and_gate(backend: LvmBackend, fake: FakeSystem) -> None:
    v = vol(GiB + 1)
    update = backend.create_volume(v)
    assert update.device_path == f"/dev/mapper/cohort-gate-{v.id}"
    create = next(c for c in fake.calls if c[1] == "lvcreate")
    assert create == (
        "lvm",
        "lvcreate",
        "--type",
        "thin",
        "--virtualsize",
        f"{GiB + EXTENT}b",
        "--thinpool",
        "pool",
        "--name",
        f"volume-{v.id}",
        "--addtag",
        "cohort",
        "--addtag",
        f"cohort_id_{v.id}",
        "--",
        "vg0",
    )
    lv = fake.lvs[f"volume-{v.id}"]
    uuid, table = fake.gates[f"cohort-gate-{v.id}"]
    assert uuid == f"COHORT-GATE-{v.id}"
    assert table == f"0 {(GiB + EXTENT) // 512} linear 253:{lv.minor} 0"
    assert_safe(fake.calls)


def test_create_volume_idempotent(backend: LvmBackend, fake: FakeSystem) -> None:
    v = vol()
    backend.create_volume(v)
    backend.create_volume(v)
    assert sum(1 for c in fake.calls if c[1] == "lvcreate") == 1


def test_gate_failure_removes_the_lv(backend: LvmBackend, fake: FakeSystem) -> None:
    fake.fail = lambda argv: "boom" if argv[:2] == ("dmsetup", "create") else None
    v = vol()
    with pytest.raises(BackendError):
        backend.create_volume(v)
    assert f"volume-{v.id}" not in fake.lvs


def test_bad_ids_never_reach_a_command_line(backend: LvmBackend, fake: FakeSystem) -> None:
    for bad in ["-rf", "--help", "a b", "../x", "x;y", "", "a" * 100, "é"]:
        with pytest.raises(InvalidArgument):
            backend.create_volume(vol(id=bad))
    assert not any(c[1] == "lvcreate" for c in fake.calls)


def test_extend_reloads_gate(backend: LvmBackend, fake: FakeSystem) -> None:
    v = vol()
    backend.create_volume(v)
    backend.extend_volume(v, 2 * GiB)
    assert ("lvm", "lvextend", "--size", f"{2 * GiB}b", "--", f"vg0/volume-{v.id}") in fake.calls
    assert fake.gates[f"cohort-gate-{v.id}"][1].startswith(f"0 {2 * GiB // 512} linear")
    assert ("dmsetup", "resume", "--", f"cohort-gate-{v.id}") in fake.calls


def test_delete_volume_removes_gate_then_lv_idempotent(
    backend: LvmBackend, fake: FakeSystem
) -> None:
    v = vol()
    backend.create_volume(v)
    backend.delete_volume(v)
    backend.delete_volume(v)
    assert f"volume-{v.id}" not in fake.lvs and not fake.gates
    removes = [c for c in fake.calls if c[1] in ("remove", "lvremove")]
    assert removes[0][0] == "dmsetup" and removes[1][1] == "lvremove"


def test_snapshot_and_clones(backend: LvmBackend, fake: FakeSystem) -> None:
    v = vol()
    backend.create_volume(v)
    s = Snapshot(name="s", volume_id=v.id, size_bytes=GiB)
    backend.create_snapshot(s, v)
    snap = fake.lvs[f"_snapshot-{s.id}"]
    assert snap.origin == f"volume-{v.id}" and snap.attr.endswith("k")
    c = vol(2 * GiB)
    path = backend.create_volume_from_snapshot(c, s).device_path
    assert path.endswith(c.id)
    create = next(x for x in fake.calls if x[1] == "lvcreate" and f"volume-{c.id}" in x)
    assert create[-2:] == ("--", f"vg0/_snapshot-{s.id}")
    assert "--setactivationskip" in create
    assert fake.lvs[f"volume-{c.id}"].size == 2 * GiB
    c2 = vol()
    backend.create_cloned_volume(c2, v)
    assert fake.lvs[f"volume-{c2.id}"].origin == f"volume-{v.id}"
    backend.delete_snapshot(s)
    backend.delete_snapshot(s)
    assert f"_snapshot-{s.id}" not in fake.lvs
    assert_safe(fake.calls)


def test_full_pool_refuses(backend: LvmBackend, fake: FakeSystem) -> None:
    fake.data_percent = 90.0
    with pytest.raises(ResourceExhausted):
        backend.create_volume(vol())
    fake.data_percent = 10.0
    fake.metadata_percent = 95.0
    with pytest.raises(ResourceExhausted):
        backend.create_volume(vol())
    fake.metadata_percent = 10.0
    backend.create_volume(vol())


def test_stats_from_pool(backend: LvmBackend, fake: FakeSystem) -> None:
    backend.create_volume(vol(GiB))
    fake.data_percent, fake.metadata_percent = 25.0, 5.0
    st = backend.stats()
    assert st.total_bytes == 8 * GiB
    assert st.free_bytes == 6 * GiB
    assert st.provisioned_bytes == GiB
    assert st.total_volumes == 1
    assert not st.consistent_group_snapshot
    assert st.pool_name == "vg0/pool"


def test_inventory_and_ensure_gates(backend: LvmBackend, fake: FakeSystem) -> None:
    v = vol()
    backend.create_volume(v)
    s = Snapshot(name="s", volume_id=v.id, size_bytes=GiB)
    backend.create_snapshot(s, v)
    fake._new_lv("stranger", GiB, "Vwi-a-tz--", [])
    assert backend.inventory() == {v.id: "volume", s.id: "snapshot"}
    fake.gates.clear()
    assert backend.ensure_gates() == {v.id: f"/dev/mapper/cohort-gate-{v.id}"}
    assert backend.ensure_gates() == {}
    with pytest.raises(ObjectNotFound):
        backend.ensure_gate(vol())


def test_from_config_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LvmBackend.from_config({"bogus": 1}, tmp_path, start=False)
    with pytest.raises(ValueError):
        LvmBackend.from_config({"volume_group": "vg0"}, tmp_path, start=False)
    with pytest.raises(ValueError):
        LvmBackend.from_config({"full_threshold_percent": 120}, tmp_path, start=False)
    b = LvmBackend.from_config({}, tmp_path, start=False)
    assert (b.lvm.vg, b.lvm.pool) == ("cohort", "pool")
    assert b.embedded is not None and b.embedded.backing_file.parent == tmp_path / "lvm"
    b = LvmBackend.from_config(
        {"volume_group": "data", "thin_pool": "tp", "command_timeout_seconds": 5},
        tmp_path,
        start=False,
    )
    assert b.embedded is None and b.lvm.vg == "data"
