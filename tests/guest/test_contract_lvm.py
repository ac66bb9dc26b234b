"""The backend contract suite (tests/contract) on `LvmBackend` over a real thin pool: the loop-file
pool of test_lvm_backend.py, in the guest (root, device-mapper, lvm2).

Every test of the suite runs on the fake runner in the host tier with the same backend code, so
here, within the guest suite's time budget, runs by default the part a real kernel and lvm2 add
to and test_lvm_backend.py does not cover already (`ON_REAL_LVM`). Under emulation an lvcreate
takes 2-5 s: the whole suite took ~14 min here on a loaded 2-core host. To run it all:

    vagrant/testbed up
    vagrant/testbed exec -- 'cd /src && COHORT_GUEST=1 COHORT_CONTRACT_ALL=1 \\
        PYTHONDONTWRITEBYTECODE=1 /opt/cohort/bin/python -m pytest -p no:cacheprovider \\
        tests/guest/test_contract_lvm.py'

Run the default part: `vagrant/testbed test -k contract`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cohort.lvm.backend import LvmBackend
from tests.contract.lvm import LvmHarness
from tests.contract.suite import BackendContract
from tests.guest.test_lvm_backend import (  # noqa: F401 (fixtures and marks shared)
    backend,
    loop_vg,
    lvm_conf_restored,
    pytestmark,
)

ON_REAL_LVM = {
    # bytes through snapshots and clones; a retried snapshot; sizes from real reports
    "test_snapshot_and_clones",
    # a group snapshot and a group clone really made (batched), then rolled back: no LV, no gate
    "test_group_from_source_failure_rolled_back[crash after the first step]",
    # an LV held with another size is refused and keeps its bytes
    "test_create_again_with_another_size_is_refused",
}


class TestLvmGuest(BackendContract):
    @pytest.fixture
    def harness(
        self,
        request: pytest.FixtureRequest,
        backend: LvmBackend,  # noqa: F811
    ) -> Iterator[LvmHarness]:
        if request.node.name not in ON_REAL_LVM and os.environ.get("COHORT_CONTRACT_ALL") != "1":
            pytest.skip(
                "run on the fake runner in the host tier; COHORT_CONTRACT_ALL=1 runs it here"
            )
        h = LvmHarness(backend, data=True)
        yield h
        h.restore()
