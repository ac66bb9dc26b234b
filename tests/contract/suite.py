"""The backend contract: one suite, run against every implementation of `cohort.domain.backend`.

`BackendContract` holds the tests; each backend's test module subclasses it with a `harness`
fixture (tests/contract/harness.py): the simulated backend (test_sim.py, with and without
consistent group snapshots), the LVM backend on its fake runner (test_lvm_fake.py) and the LVM
backend on a real thin pool in the guest (tests/guest/test_contract_lvm.py).

Where the backends answered differently, the one answer they all give now (also written in the
`Backend` protocol's docstrings):

- Creating an id the backend already holds: with the same arguments (size, source) it is a retry
  and answers the object it holds; with other arguments it is refused with a `BackendError`
  naming the object, and the object held is left as it is (size and bytes).
- Extending to the size the volume has is a retry (nothing to do); to a smaller size it is a
  `BackendError` (the backend never shrinks).
- A source, origin or volume the backend does not hold is a `BackendError`, never
  `cohort.errors.NotFound` (which means the request named nothing).
- A full pool refuses every new allocation (volume, clone, snapshot, growth, group snapshot,
  group clone) with `ResourceExhausted` before making anything; deletes are never refused.
- A consistent group snapshot, or a consistent group cloned from a source group, on a pool that
  does not report `consistent_group_snapshot`: `FailedPrecondition` ("never, on this pool")
  before any step is recorded, not a backend failure.
- `stats().provisioned_bytes` counts every volume and every snapshot at its full size (a thin
  snapshot can grow to it; Cinder's LVM driver counts every LV of its thin pool the same way).
- Group snapshots and creates from source: all members or none. A failure raises, and
  reverting the recorded steps newest first (each revert may run twice) leaves none of the new
  objects, whether the failure came from the backend or a crash before or after a step.
"""

from __future__ import annotations

from .groups import GroupContract
from .volumes import VolumeContract


class BackendContract(VolumeContract, GroupContract):
    """Subclass with a `harness` fixture yielding a `tests.contract.harness.Harness`."""
