"""LvmBackend on a real kernel (runs in the guest, as root): a thin pool on a loop file.

Run: `vagrant/testbed test tests/guest -k lvm` (or, in the guest, `pytest tests/guest -k lvm`).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cohort.domain.model import Group, GroupSnapshot, Snapshot, Volume
from cohort.errors import ResourceExhausted
from cohort.lvm import hygiene
from cohort.lvm.backend import LvmBackend
from cohort.lvm.embedded import EmbeddedPool, list_loops
from cohort.lvm.report import lvs_argv, parse_lvs
from cohort.lvm.run import CommandError, CommandRunner, CommandTimeout
from tests.recorder import Recorder

MiB = 1024**2


def _has_dm() -> bool:
    try:
        return "device-mapper" in Path("/proc/devices").read_text()
    except OSError:
        return False


pytestmark = [
    pytest.mark.guest,
    pytest.mark.skipif(
        os.geteuid() != 0 or not _has_dm() or shutil.which("lvm") is None,
        reason="needs root, device-mapper and lvm2 (the guest)",
    ),
]

RUN = CommandRunner(timeout=120)


def sh(*argv: str) -> str:
    return RUN.run(list(argv)).stdout


@pytest.fixture(scope="module", autouse=True)
def lvm_conf_restored() -> Iterator[None]:
    """These tests widen the LVM filter for their own loop devices; the cohortd that runs in
    the guest gets its own filter back when they are done."""
    local_conf = hygiene.LVM_DIR / "lvmlocal.conf"
    saved = local_conf.read_text() if local_conf.exists() else None
    yield
    if saved is None:
        local_conf.unlink(missing_ok=True)
    else:
        local_conf.write_text(saved)


@pytest.fixture(scope="module")
def loop_vg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A VG with a 512 MiB thin pool on a loop file; removed at the end."""
    vg = "cohorttest" + uuid.uuid4().hex[:6]
    img = Path("/var/tmp") / f"{vg}.img"
    with open(img, "wb") as f:
        f.truncate(1024 * MiB)
    loop = sh("losetup", "--find", "--show", "--", str(img)).strip()
    # cohortd runs in this guest with an accept-only filter for its own PVs: accept this loop
    # device too (the host's other PVs stay accepted); lvm_conf_restored puts cohortd's back.
    hygiene.install(RUN, [loop])
    sh("lvm", "pvcreate", "--yes", "--", loop)
    sh("lvm", "vgcreate", "--", vg, loop)
    sh("lvm", "lvcreate", "--type", "thin-pool", "--size", "512m", "--name", "pool", "--", vg)
    yield vg, loop
    for name in hygiene_gates(vg):
        RUN.run(["dmsetup", "remove", "--", name], ok_codes=(0, 1))
    RUN.run(["lvm", "vgremove", "--yes", "--force", "--", vg], ok_codes=(0, 5))
    RUN.run(["losetup", "--detach", loop], ok_codes=(0, 1))
    img.unlink()


def hygiene_gates(vg: str) -> list[str]:
    out = sh("dmsetup", "ls")
    return [line.split()[0] for line in out.splitlines() if line.startswith("cohort-gate-")]


@pytest.fixture(scope="module")
def backend(loop_vg: tuple[str, str]) -> LvmBackend:
    vg, _ = loop_vg
    b = LvmBackend(CommandRunner(timeout=120), vg, "pool", full_threshold_percent=90)
    b.start()  # installs the filter + profile in /etc/lvm, sets errorwhenfull, activates
    return b


def vol(size: int, **kw: object) -> Volume:
    return Volume(name="v", size_bytes=size, volume_type_id="t", **kw)  # type: ignore[arg-type]


def write(path: str, offset: int, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: str, offset: int, length: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


def lv_of(vg: str, name: str):  # type: ignore[no-untyped-def]
    (lv,) = parse_lvs(sh(*lvs_argv(f"{vg}/{name}")))
    return lv


def test_hygiene_installed(backend: LvmBackend, loop_vg: tuple[str, str]) -> None:
    _, loop = loop_vg
    conf = Path("/etc/lvm/lvmlocal.conf").read_text()
    assert hygiene.BEGIN in conf and f"a|^{loop}$|" in conf
    assert "r|.*|" in sh("lvm", "lvmconfig", "devices/global_filter")
    assert "ignore_suspended_devices=1" in sh(
        "lvm", "lvmconfig", "devices/ignore_suspended_devices"
    )
    assert lv_of(backend.lvm.vg, "pool").when_full == "error"


def test_volume_lifecycle_through_gate(backend: LvmBackend, loop_vg: tuple[str, str]) -> None:
    vg, _ = loop_vg
    v = vol(10 * MiB + 1)
    path = backend.create_volume(v).device_path
    assert path == f"/dev/mapper/cohort-gate-{v.id}" and os.path.exists(path)
    lv = lv_of(vg, f"volume-{v.id}")
    assert lv.size == 12 * MiB == backend.round_size(v.size_bytes)
    assert "cohort" in lv.tags and f"cohort_id_{v.id}" in lv.tags
    data = os.urandom(MiB)
    write(path, 3 * MiB, data)
    # extend: LV and gate grow; the data stays
    backend.extend_volume(v, 40 * MiB)
    assert lv_of(vg, f"volume-{v.id}").size == 40 * MiB
    size = int(sh("blockdev", "--getsize64", path))
    assert size == 40 * MiB
    write(path, 39 * MiB, data)
    assert read(path, 3 * MiB, MiB) == data
    # snapshot, then overwrite the volume: the snapshot keeps the old bytes
    s = Snapshot(name="s", volume_id=v.id, size_bytes=40 * MiB)
    backend.create_snapshot(s, v)
    snap = lv_of(vg, f"_snapshot-{s.id}")
    assert snap.is_snapshot and snap.attr.skip_activation and not snap.attr.active
    write(path, 3 * MiB, b"\0" * MiB)
    # clone from the snapshot, larger: old bytes, new size
    c = vol(64 * MiB)
    cpath = backend.create_volume_from_snapshot(c, s).device_path
    assert int(sh("blockdev", "--getsize64", cpath)) == 64 * MiB
    assert read(cpath, 3 * MiB, MiB) == data
    assert read(cpath, 39 * MiB, MiB) == data
    # clone of the volume: current bytes
    c2 = vol(40 * MiB)
    c2path = backend.create_cloned_volume(c2, v).device_path
    assert read(c2path, 3 * MiB, MiB) == b"\0" * MiB
    assert read(c2path, 39 * MiB, MiB) == data
    # gate removed behind our back: recreated at "start", data intact
    sh("dmsetup", "remove", "--", f"cohort-gate-{c.id}")
    assert not os.path.exists(cpath)
    assert c.id in backend.ensure_gates()
    assert read(cpath, 3 * MiB, MiB) == data
    inv = backend.inventory()
    assert {inv[k] for k in (v.id, c.id, c2.id)} == {"volume"} and inv[s.id] == "snapshot"
    # deletes leave no LV and no gate
    for x in (c, c2, v):
        backend.delete_volume(x)
        backend.delete_volume(x)
        assert not os.path.exists(f"/dev/mapper/cohort-gate-{x.id}")
    backend.delete_snapshot(s)
    names = {lv.name for lv in parse_lvs(sh(*lvs_argv(vg)))}
    assert not any(x.id in n for n in names for x in (v, c, c2))
    assert f"_snapshot-{s.id}" not in names


def test_capacity_equals_lvs(backend: LvmBackend, loop_vg: tuple[str, str]) -> None:
    vg, _ = loop_vg
    v = vol(32 * MiB)
    path = backend.create_volume(v).device_path
    write(path, 0, os.urandom(8 * MiB))
    st = backend.stats()
    lvs = parse_lvs(sh(*lvs_argv(vg)))
    pool = next(lv for lv in lvs if lv.name == "pool")
    assert st.total_bytes == pool.size
    assert st.data_percent == pool.data_percent and st.metadata_percent == pool.metadata_percent
    used = -(-pool.size * max(pool.data_percent or 0, pool.metadata_percent or 0) // 100)
    assert abs(st.free_bytes - (pool.size - used)) <= 1
    assert st.provisioned_bytes == sum(lv.size for lv in lvs if lv.pool_lv == "pool")
    assert (pool.data_percent or 0) > 0
    backend.delete_volume(v)


def test_group_snapshot_and_group_from_source_batched(
    backend: LvmBackend, loop_vg: tuple[str, str]
) -> None:
    vols = [vol(8 * MiB) for _ in range(4)]
    blobs = []
    for v in vols:
        p = backend.create_volume(v).device_path
        blobs.append(os.urandom(64 * 1024))
        write(p, 0, blobs[-1])
    gs = GroupSnapshot(name="g", group_id="g", group_type_id="t")
    snaps = [Snapshot(name="s", volume_id=v.id, size_bytes=8 * MiB) for v in vols]
    journal = Recorder()
    t0 = time.monotonic()
    _, members = backend.create_group_snapshot(gs, snaps, journal)
    print(f"group snapshot of 4 in one lvm process: {time.monotonic() - t0:.2f}s")
    assert len(journal.recorded) == 4 and len(members or []) == 4
    for v in vols:
        write(f"/dev/mapper/cohort-gate-{v.id}", 0, b"\1" * 64 * 1024)
    group = Group(name="n", group_type_id="t", volume_type_ids=["t"])
    new = [vol(16 * MiB, source_snapshot_id=s.id) for s in snaps]
    j2 = Recorder()
    _, created = backend.create_group_from_src(group, new, j2, group_snapshot=gs, snapshots=snaps)
    for m, blob in zip(created or [], blobs, strict=True):
        assert m.device_path and read(m.device_path, 0, 64 * 1024) == blob
        assert int(sh("blockdev", "--getsize64", m.device_path)) == 16 * MiB
    # roll the clone group back through the journal (as the manager would), twice
    for step in reversed(j2.recorded):
        backend.revert(step)
        backend.revert(step)
    assert not any(os.path.exists(f"/dev/mapper/cohort-gate-{v.id}") for v in new)
    backend.delete_group_snapshot(gs, snaps, Recorder())
    backend.delete_group(group, vols, Recorder())
    made = {v.id for v in [*vols, *new]} | {s.id for s in snaps}
    assert not set(backend.inventory()) & made


def test_suspended_gate_does_not_hang_lvm(backend: LvmBackend, loop_vg: tuple[str, str]) -> None:
    vg, _ = loop_vg
    v = vol(8 * MiB)
    backend.create_volume(v)
    sh("dmsetup", "suspend", "--", f"cohort-gate-{v.id}")
    try:
        # With the accept-only filter LVM never opens the suspended gate (field notes: it would
        # block in D state otherwise). A snapshot of the LV beneath works while it is frozen.
        parse_lvs(CommandRunner(timeout=60).run(lvs_argv(vg)).stdout)
        s = Snapshot(name="s", volume_id=v.id, size_bytes=8 * MiB)
        backend.create_snapshot(s, v)
    finally:
        sh("dmsetup", "resume", "--", f"cohort-gate-{v.id}")
    backend.delete_snapshot(s)
    backend.delete_volume(v)


def test_full_pool_threshold_and_error_not_hang(loop_vg: tuple[str, str]) -> None:
    vg, _ = loop_vg
    b = LvmBackend(CommandRunner(timeout=120), vg, "pool", full_threshold_percent=20)
    b.start()
    big = vol(700 * MiB)  # over-provisioned: 700 MiB on a 512 MiB pool
    path = b.create_volume(big).device_path
    try:
        write(path, 0, os.urandom(136 * MiB))  # 26% of the pool data: over the 20% threshold
        with pytest.raises(ResourceExhausted):
            b.create_volume(vol(8 * MiB))
        # Writing past the pool's end fails (EIO) instead of hanging: errorwhenfull=y.
        t0 = time.monotonic()
        with pytest.raises(CommandError) as ei:
            CommandRunner(timeout=300).run(
                ["dd", "if=/dev/zero", f"of={path}", "bs=4M", "count=150", "oflag=direct"]
            )
        assert not isinstance(ei.value, CommandTimeout)
        print(f"write to a full pool failed after {time.monotonic() - t0:.1f}s: {ei.value.stderr}")
    finally:
        b.delete_volume(big)


def test_embedded_pool_reattached(tmp_path: Path) -> None:
    vg = "cohortemb" + uuid.uuid4().hex[:4]
    runner = CommandRunner(timeout=120)
    emb = EmbeddedPool(runner, tmp_path, 256 * MiB)
    b = LvmBackend(runner, vg, "pool", embedded=emb)
    b.start()
    v = vol(8 * MiB)
    path = b.create_volume(v).device_path
    data = os.urandom(MiB)
    write(path, 0, data)
    loop = next(lp.name for lp in list_loops(runner) if lp.back_file == str(emb.backing_file))
    # "reboot": gates gone, LVs deactivated, loop detached
    sh("dmsetup", "remove", "--", f"cohort-gate-{v.id}")
    sh("lvm", "vgchange", "--activate", "n", "--", vg)
    sh("losetup", "--detach", loop)
    b2 = LvmBackend(runner, vg, "pool", embedded=EmbeddedPool(runner, tmp_path, 256 * MiB))
    b2.start()
    assert read(path, 0, MiB) == data
    b2.delete_volume(v)
    sh("lvm", "vgremove", "--yes", "--force", "--", vg)
    loop = next(lp.name for lp in list_loops(runner) if lp.back_file == str(emb.backing_file))
    sh("losetup", "--detach", loop)
