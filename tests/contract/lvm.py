"""The contract harness of the LVM backend: the same on the fake runner and on a real pool."""

from __future__ import annotations

import os

from cohort.domain.model import Volume
from cohort.lvm import names
from cohort.lvm.backend import LvmBackend

#: A threshold every pool is over (a thin pool's metadata is never empty): "the pool is full".
FULL = 0.001


class LvmHarness:
    def __init__(self, backend: LvmBackend, *, data: bool) -> None:
        self.backend = backend
        self.lvm_backend = backend
        self.data = data
        self.threshold = backend.full_threshold_percent

    def size(self, volume: Volume) -> int:
        return self.lvm_backend.lvm.require(names.volume_lv(volume.id)).size

    def fill(self) -> None:
        self.lvm_backend.full_threshold_percent = FULL

    def restore(self) -> None:
        self.lvm_backend.full_threshold_percent = self.threshold

    def write(self, volume: Volume, offset: int, data: bytes) -> None:
        fd = os.open(names.gate_path(volume.id), os.O_WRONLY)
        try:
            os.pwrite(fd, data, offset)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self, volume: Volume, offset: int, length: int) -> bytes:
        fd = os.open(names.gate_path(volume.id), os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            return os.pread(fd, length, offset)
        finally:
            os.close(fd)
