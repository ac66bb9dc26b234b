"""What exports cost on LIO, in the guest (real LVM and LIO, cohortd running):

    vagrant/testbed exec -- 'cd /src && /opt/cohort/bin/python -m bench.exports --volumes 8'

With N small volumes, it measures, over gRPC:
- ExportVolume of each (a new target: backstore, LUN, ACL, portals), then again (the idempotent
  repeat: one converge that changes nothing), then for a second initiator (one ACL added);
- a restart of cohortd with N exports (`systemctl restart cohortd` until SERVING), against a
  restart with none: what the restore at start adds;
- Unexport of each (the target removed).
It prints the median and range of each call, and the ratios repeat / first export and
restart with N exports / restart without.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable, Sequence

import grpc

from cohort.v1 import exports_pb2 as e_pb
from cohort.v1 import exports_pb2_grpc
from cohort.v1 import types_pb2 as t_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.guest.helpers import channel, sh, wait_serving
from tests.guest.test_scenario import Client

MIB = 1024**2
INITIATORS = ("iqn.2026-12.org.cohort.bench:a", "iqn.2026-12.org.cohort.bench:b")


def timed(call: Callable[[], object]) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def summary(name: str, seconds: Sequence[float]) -> float:
    median = statistics.median(seconds)
    print(
        f"{name:<34} median {median * 1000:8.1f} ms  range {min(seconds) * 1000:.1f}-"
        f"{max(seconds) * 1000:.1f} ms  (n={len(seconds)})"
    )
    return median


def restart() -> float:
    started = time.monotonic()
    sh("systemctl", "restart", "cohortd")
    wait_serving()
    return time.monotonic() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--volumes", type=int, default=8)
    args = parser.parse_args(argv)
    empty_restart = restart()
    with channel() as ch:
        client, exports = Client(ch), exports_pb2_grpc.ExportsStub(ch)
        client.types.CreateVolumeType(t_pb.CreateVolumeTypeRequest(name="bench-exports"))
        ids = [
            client.volumes.CreateVolume(
                v_pb.CreateVolumeRequest(
                    name=f"bench-export-{i}", size_bytes=16 * MIB, volume_type="bench-exports"
                )
            ).id
            for i in range(args.volumes)
        ]

        def export(volume_id: str, initiator: str) -> Callable[[], object]:
            connector = e_pb.Connector(initiator=initiator, host="bench")
            request = e_pb.ExportVolumeRequest(volume_id=volume_id, connector=connector)
            return lambda: exports.ExportVolume(request)

        try:
            first = summary("export (new target)", [timed(export(i, INITIATORS[0])) for i in ids])
            again = summary(
                "export again (no change)", [timed(export(i, INITIATORS[0])) for i in ids]
            )
            summary("export, second initiator", [timed(export(i, INITIATORS[1])) for i in ids])
            loaded_restart = restart()
            print(f"{'restart, no export':<34} {empty_restart:8.2f} s")
            print(f"{f'restart, {len(ids)} exports':<34} {loaded_restart:8.2f} s")
            summary(
                "unexport (target removed)",
                [
                    timed(lambda i=i: exports.Unexport(e_pb.UnexportRequest(object_id=i)))  # type: ignore[misc]
                    for i in ids
                ],
            )
            print(f"ratio export again / new target: {again / first:.2f}")
            print(f"ratio restart with exports / without: {loaded_restart / empty_restart:.2f}")
        finally:
            for volume_id in ids:
                with contextlib.suppress(grpc.RpcError):  # unexported already
                    exports.Unexport(e_pb.UnexportRequest(object_id=volume_id))
                client.volumes.DeleteVolume(v_pb.DeleteVolumeRequest(volume_id=volume_id))
            client.types.DeleteVolumeType(t_pb.DeleteVolumeTypeRequest(volume_type="bench-exports"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
