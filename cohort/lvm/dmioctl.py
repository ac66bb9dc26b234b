"""Device-mapper ioctls issued in-process on `/dev/mapper/control`: suspend, resume and status of
one device, addressed by its dm UUID alone.

A freeze suspends and resumes every gate of a group inside its window; one `dmsetup` process per
gate costs a fork, an exec and libdevmapper's start-up, the ioctl itself microseconds to
milliseconds. The layout below is the kernel's `struct dm_ioctl` (include/uapi/linux/dm-ioctl.h,
interface version 4), filled as lvm2's libdm does for a device named by UUID: version 4.0.0,
`data_size` = `data_start` = the struct's size (no payload), name empty and dev 0 (the kernel
refuses a UUID together with a name or a device number).

- suspend: `DM_DEV_SUSPEND` with `DM_SUSPEND_FLAG`, neither `DM_NOFLUSH_FLAG` nor
  `DM_SKIP_LOCKFS_FLAG`: in-flight I/O is flushed and a file system on the device is frozen,
  which is what `dmsetup suspend` does by default. Suspending a suspended device succeeds.
- resume: `DM_DEV_SUSPEND` without the flag. Resuming a device that is not suspended succeeds.
- status: `DM_DEV_STATUS`: whether the device exists, is suspended, how many opens it has.

A missing device (ENXIO) is `ObjectNotFound`; any other errno is a `BackendError` naming it.
No udev cookie is passed: udev still sees the resume's change event, nobody waits for it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog

from cohort.errors import BackendError, Busy
from cohort.lvm import names
from cohort.lvm.errors import ObjectNotFound

log = structlog.get_logger(__name__)

CONTROL = "/dev/mapper/control"

# struct dm_ioctl: u32 version[3], data_size, data_start, target_count; s32 open_count;
# u32 flags, event_nr, padding; u64 dev; char name[128], uuid[129], data[7].
_LAYOUT = struct.Struct("=3IIIIiIIIQ128s129s7s")
SIZE = _LAYOUT.size  # 312
VERSION = (4, 0, 0)
NAME_LEN = 128
UUID_LEN = 129

# _IOWR(0xfd, nr, struct dm_ioctl): direction read|write (3) << 30, size << 16, type << 8, nr.
_IOC_BASE = (3 << 30) | (SIZE << 16) | (0xFD << 8)
DEV_SUSPEND = 6
DEV_STATUS = 7

SUSPEND_FLAG = 1 << 1
ACTIVE_PRESENT_FLAG = 1 << 5

#: How often an ioctl interrupted by a signal (EINTR) is issued again.
_EINTR_RETRIES = 5

IoctlFn = Callable[[int, int, bytearray], object]


def request(nr: int) -> int:
    """The ioctl request number of device-mapper command `nr`."""
    return _IOC_BASE | nr


@dataclass(frozen=True, slots=True)
class DmStatus:
    uuid: str
    name: str
    suspended: bool
    open_count: int
    major: int
    minor: int
    active_table: bool


def pack(uuid: str, flags: int = 0) -> bytearray:
    """A struct dm_ioctl naming a device by `uuid` only."""
    raw = uuid.encode("ascii")
    if not raw or len(raw) >= UUID_LEN:
        raise ValueError(f"dm uuid must be 1..{UUID_LEN - 1} bytes: {uuid!r}")
    return bytearray(_LAYOUT.pack(*VERSION, SIZE, SIZE, 0, 0, flags, 0, 0, 0, b"", raw, b""))


def unpack(buf: bytes | bytearray) -> DmStatus:
    """The device's state from a struct dm_ioctl the kernel filled."""
    fields = _LAYOUT.unpack_from(buf)
    open_count, flags, dev = fields[6], fields[7], fields[10]
    return DmStatus(
        uuid=_c_string(fields[12]),
        name=_c_string(fields[11]),
        suspended=bool(flags & SUSPEND_FLAG),
        open_count=open_count,
        major=os.major(dev),
        minor=os.minor(dev),
        active_table=bool(flags & ACTIVE_PRESENT_FLAG),
    )


def _c_string(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def _kernel_ioctl(fd: int, req: int, buf: bytearray) -> object:
    return fcntl.ioctl(fd, req, buf, True)


class DmControl:
    """Suspend, resume and status by dm UUID on one control fd, opened at first use and kept
    (opening it costs; the fd is shared by every thread, the kernel serializes per device)."""

    def __init__(self, path: str = CONTROL, ioctl: IoctlFn = _kernel_ioctl) -> None:
        self._path = path
        self._ioctl = ioctl
        self._fd: int | None = None
        self._lock = threading.Lock()

    def suspend(self, uuid: str) -> None:
        """Suspend, flushing in-flight I/O (and freezing a file system on it)."""
        self._call(DEV_SUSPEND, uuid, SUSPEND_FLAG, "suspend")

    def resume(self, uuid: str) -> None:
        """Resume; raises ObjectNotFound when no device has that UUID."""
        self._call(DEV_SUSPEND, uuid, 0, "resume")

    def status(self, uuid: str) -> DmStatus | None:
        """The device's state, None when no device has that UUID."""
        try:
            return unpack(self._call(DEV_STATUS, uuid, 0, "status"))
        except ObjectNotFound:
            return None

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _control(self) -> int:
        with self._lock:
            if self._fd is None:
                try:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CLOEXEC)
                except OSError as exc:
                    raise BackendError(
                        f"device-mapper control {self._path}: {_errno_name(exc)}"
                    ) from exc
            return self._fd

    def _call(self, nr: int, uuid: str, flags: int, what: str) -> bytearray:
        buf = pack(uuid, flags)
        fd = self._control()
        for attempt in range(_EINTR_RETRIES + 1):
            try:
                self._ioctl(fd, request(nr), buf)
                return buf
            except OSError as exc:
                if exc.errno == errno.EINTR and attempt < _EINTR_RETRIES:
                    continue
                raise _classify(exc, what, uuid) from exc
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _errno_name(exc: OSError) -> str:
    code = exc.errno or 0
    return f"{errno.errorcode.get(code, str(code))} ({os.strerror(code)})"


def _classify(exc: OSError, what: str, uuid: str) -> BackendError:
    msg = f"dm {what} of {uuid}: {_errno_name(exc)}"
    if exc.errno == errno.ENXIO:
        return ObjectNotFound(msg)
    if exc.errno == errno.EBUSY:
        return Busy(msg)
    return BackendError(msg)


class DmGates:
    """cohort.freeze.ports.GateControl over device-mapper ioctls: a volume's gate by its UUID."""

    def __init__(self, control: DmControl | None = None) -> None:
        self._dm = control or DmControl()

    def suspend(self, volume_id: str) -> None:
        """Raises ObjectNotFound when the volume has no gate."""
        self._dm.suspend(names.gate_uuid(volume_id))

    def resume(self, volume_id: str) -> None:
        """A gate that does not exist freezes nothing: it counts as resumed already."""
        uuid = names.gate_uuid(volume_id)
        try:
            self._dm.resume(uuid)
        except ObjectNotFound:
            log.warning("gate to resume does not exist", volume_id=volume_id, uuid=uuid)

    def suspended_gates(self, volume_ids: Iterable[str]) -> list[str]:
        """Those of `volume_ids` whose gate exists and is suspended (one status ioctl each)."""
        found = []
        for volume_id in volume_ids:
            state = self._dm.status(names.gate_uuid(volume_id))
            if state is not None and state.suspended:
                found.append(volume_id)
        return found

    def close(self) -> None:
        self._dm.close()
