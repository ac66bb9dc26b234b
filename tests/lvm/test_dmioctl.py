"""In-process device-mapper ioctls: the struct's bytes, the request numbers and the errno mapping,
with a fake ioctl function (this host has no device-mapper; tests/guest/test_guard.py runs them
on real gates)."""

from __future__ import annotations

import errno
import struct
from pathlib import Path

import pytest

from cohort.errors import BackendError, Busy
from cohort.lvm import dmioctl
from cohort.lvm.dmioctl import DmControl, DmGates
from cohort.lvm.errors import ObjectNotFound

UUID = "COHORT-GATE-vol1"


def test_struct_is_the_kernels_312_bytes_and_requests_are_iowr_0xfd() -> None:
    assert dmioctl.SIZE == 312
    assert dmioctl.request(dmioctl.DEV_SUSPEND) == 0xC138FD06
    assert dmioctl.request(dmioctl.DEV_STATUS) == 0xC138FD07


def test_pack_by_uuid_hand_computed() -> None:
    buf = dmioctl.pack(UUID, dmioctl.SUSPEND_FLAG)
    expected = bytearray(312)
    expected[0:4] = b"\x04\x00\x00\x00"  # version 4.0.0
    expected[12:16] = b"\x38\x01\x00\x00"  # data_size 312
    expected[16:20] = b"\x38\x01\x00\x00"  # data_start 312
    expected[28:32] = b"\x02\x00\x00\x00"  # flags: DM_SUSPEND_FLAG
    expected[176 : 176 + len(UUID)] = UUID.encode()  # uuid after dev (40..48) and name (48..176)
    assert buf == expected


@pytest.mark.parametrize("bad", ["", "x" * 129, "gate-\u00e9"])
def test_pack_refuses_uuids_the_kernel_cannot_hold(bad: str) -> None:
    with pytest.raises((ValueError, UnicodeEncodeError)):
        dmioctl.pack(bad)


def kernel_reply(flags: int, open_count: int, dev: int, name: bytes) -> bytes:
    buf = bytearray(dmioctl.pack(UUID))
    struct.pack_into("=iI", buf, 24, open_count, flags)
    struct.pack_into("=Q", buf, 40, dev)
    buf[48 : 48 + len(name)] = name
    return bytes(buf)


def test_unpack_hand_computed() -> None:
    # huge_encode_dev(253:300) = (300 & 0xff) | 253 << 8 | (300 & ~0xff) << 12
    dev = 44 | 253 << 8 | 256 << 12
    state = dmioctl.unpack(kernel_reply(0b100010, 2, dev, b"cohort-gate-vol1"))
    assert state == dmioctl.DmStatus(
        uuid=UUID,
        name="cohort-gate-vol1",
        suspended=True,
        open_count=2,
        major=253,
        minor=300,
        active_table=True,
    )


class FakeIoctl:
    """Records (request, flags, uuid) and answers with an errno or a filled struct."""

    def __init__(self, error: int = 0, reply: bytes | None = None, eintr: int = 0) -> None:
        self.calls: list[tuple[int, int, str]] = []
        self.fds: set[int] = set()
        self._error = error
        self._reply = reply
        self._eintr = eintr

    def __call__(self, fd: int, req: int, buf: bytearray) -> object:
        state = dmioctl.unpack(buf)
        flags = struct.unpack_from("=I", buf, 28)[0]
        self.calls.append((req, flags, state.uuid))
        self.fds.add(fd)
        if self._eintr:
            self._eintr -= 1
            raise OSError(errno.EINTR, "interrupted")
        if self._error:
            raise OSError(self._error, "fake")
        if self._reply is not None:
            buf[:] = self._reply
        return 0


@pytest.fixture
def control_path(tmp_path: Path) -> str:
    path = tmp_path / "control"
    path.write_bytes(b"")
    return str(path)


def test_suspend_resume_status_issue_the_right_ioctls_on_one_fd(control_path: str) -> None:
    fake = FakeIoctl(reply=kernel_reply(dmioctl.SUSPEND_FLAG, 1, 0xFD03, b"g"))
    dm = DmControl(control_path, fake)
    dm.suspend(UUID)
    dm.resume(UUID)
    state = dm.status(UUID)
    assert state is not None and state.suspended and (state.major, state.minor) == (253, 3)
    assert fake.calls == [
        (0xC138FD06, dmioctl.SUSPEND_FLAG, UUID),
        (0xC138FD06, 0, UUID),
        (0xC138FD07, 0, UUID),
    ]
    assert len(fake.fds) == 1
    dm.close()


def test_missing_device_is_object_not_found_and_status_none(control_path: str) -> None:
    dm = DmControl(control_path, FakeIoctl(errno.ENXIO))
    with pytest.raises(ObjectNotFound, match=r"resume of COHORT-GATE-vol1: ENXIO"):
        dm.resume(UUID)
    assert dm.status(UUID) is None


@pytest.mark.parametrize(
    ("code", "kind", "name"),
    [(errno.EBUSY, Busy, "EBUSY"), (errno.EPERM, BackendError, "EPERM"),
     (errno.EINVAL, BackendError, "EINVAL")],
)  # fmt: skip
def test_other_errnos_are_backend_errors_naming_the_errno(
    control_path: str, code: int, kind: type[BackendError], name: str
) -> None:
    dm = DmControl(control_path, FakeIoctl(code))
    with pytest.raises(kind, match=f"suspend of {UUID}: {name}") as info:
        dm.suspend(UUID)
    assert not isinstance(info.value, ObjectNotFound)


def test_eintr_is_retried(control_path: str) -> None:
    fake = FakeIoctl(eintr=2)
    DmControl(control_path, fake).suspend(UUID)
    assert len(fake.calls) == 3


def test_missing_control_node_is_a_backend_error(tmp_path: Path) -> None:
    dm = DmControl(str(tmp_path / "absent"), FakeIoctl())
    with pytest.raises(BackendError, match="ENOENT"):
        dm.suspend(UUID)


def test_gates_address_volumes_by_gate_uuid(control_path: str) -> None:
    fake = FakeIoctl()
    gates = DmGates(DmControl(control_path, fake))
    gates.suspend("vol1")
    gates.resume("vol1")
    assert [uuid for _, _, uuid in fake.calls] == [UUID, UUID]


def test_gates_resume_of_a_missing_gate_is_resumed_already(control_path: str) -> None:
    gates = DmGates(DmControl(control_path, FakeIoctl(errno.ENXIO)))
    gates.resume("vol1")
    with pytest.raises(ObjectNotFound):
        gates.suspend("vol1")


def test_suspended_gates(control_path: str) -> None:
    replies = {
        "COHORT-GATE-a": kernel_reply(dmioctl.SUSPEND_FLAG, 0, 0, b"a"),
        "COHORT-GATE-b": kernel_reply(0, 0, 0, b"b"),
    }

    def ioctl(fd: int, req: int, buf: bytearray) -> object:
        uuid = dmioctl.unpack(buf).uuid
        if uuid not in replies:
            raise OSError(errno.ENXIO, "fake")
        buf[:] = replies[uuid]
        return 0

    gates = DmGates(DmControl(control_path, ioctl))
    assert gates.suspended_gates(["a", "b", "c"]) == ["a"]
