"""cohortd's exports as the guest's durability tests drive them: export over gRPC, identify
sessions on both ends, the LUN's identity; and a small CLI for the host-side reboot test
(tests/testbed/test_reboot.py), run in the guest from /src:

    /opt/cohort/bin/python -m tests.guest.exports_kit export NAME INITIATOR
    /opt/cohort/bin/python -m tests.guest.exports_kit login IQN INITIATOR USERNAME PASSWORD
    /opt/cohort/bin/python -m tests.guest.exports_kit cleanup VOLUME_ID IQN

Each prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path

import grpc

from cohort.domain.exports import Credentials
from cohort.iscsi.settings import DEFAULT_IQN_PREFIX
from cohort.v1 import exports_pb2 as e_pb
from cohort.v1 import exports_pb2_grpc

from . import iscsi_kit as kit
from .helpers import channel, create_volume, delete_volume

PORTAL = "127.0.0.1:3260"
CONFIG = Path("/etc/cohort/cohortd.toml")
MiB = 1024**2
#: The bytes of a volume the reboot test compares.
DATA = 8 * MiB
_SESSION = re.compile(r"^\S+ \[(\d+)\] (\S+),\d+ (\S+)")


def iqn_prefix() -> str:
    """cohort's target IQN prefix (with its ':'), as cohortd's config says."""
    config = tomllib.loads(CONFIG.read_text()) if CONFIG.exists() else {}
    return f"{config.get('exports', {}).get('iqn_prefix', DEFAULT_IQN_PREFIX)}:"


def export_volume(volume_id: str, initiator: str) -> e_pb.Connection:
    connector = e_pb.Connector(initiator=initiator, host="durable")
    with channel() as ch:
        return exports_pb2_grpc.ExportsStub(ch).ExportVolume(
            e_pb.ExportVolumeRequest(volume_id=volume_id, connector=connector), timeout=120
        )


def unexport(object_id: str) -> None:
    """Every access to the object removed (nothing if it has none)."""
    with channel() as ch, contextlib.suppress(grpc.RpcError):
        exports_pb2_grpc.ExportsStub(ch).Unexport(
            e_pb.UnexportRequest(object_id=object_id), timeout=120
        )


def credentials(connection: e_pb.Connection) -> Credentials:
    return Credentials(connection.data.auth_username, connection.data.auth_password)


def initiator_sessions(iqn: str) -> list[str]:
    """The initiator's session ids (iscsiadm's [N]) to `iqn`."""
    done = kit.run(kit.ISCSIADM, "-m", "session", check=False)
    found = []
    for line in done.stdout.splitlines():
        match = _SESSION.match(line)
        if match and match.group(3) == iqn:
            found.append(match.group(1))
    return found


def by_id(disk: Path) -> list[str]:
    """The /dev/disk/by-id names of `disk`."""
    root = Path("/dev/disk/by-id")
    return sorted(link.name for link in root.iterdir() if link.resolve() == disk.resolve())


def digest(path: Path | str, length: int = DATA) -> str:
    return hashlib.sha256(kit.read(path, length)).hexdigest()


def fill(path: str, length: int = DATA) -> None:
    with open(path, "r+b", buffering=0) as f:
        f.write(os.urandom(length))
        os.fsync(f.fileno())


def _export(name: str, initiator: str) -> dict[str, object]:
    volume = create_volume(name, 16 * MiB, "durable")
    fill(volume.device_path)
    connection = export_volume(volume.id, initiator)
    return {
        "volume_id": volume.id,
        "device_path": volume.device_path,
        "digest": digest(volume.device_path),
        "connection": json.loads(connection.connection_info_json),
    }


def _login(iqn: str, initiator: str, username: str, password: str) -> dict[str, object]:
    iface = kit.iface("durable-reboot", initiator)
    if not kit.login(iqn, PORTAL, iface, Credentials(username, password)):
        return {"logged_in": False}
    disk = kit.device(iqn, PORTAL)
    return {"logged_in": True, "by_id": by_id(disk), "digest": digest(disk)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.guest.exports_kit")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("export").add_argument("args", nargs=2, metavar="NAME INITIATOR")
    sub.add_parser("login").add_argument("args", nargs=4, metavar="IQN INITIATOR USER PASSWORD")
    sub.add_parser("cleanup").add_argument("args", nargs=2, metavar="VOLUME_ID IQN")
    args = parser.parse_args(argv)
    if args.cmd == "export":
        answer = _export(*args.args)
    elif args.cmd == "login":
        answer = _login(*args.args)
    else:
        volume_id, iqn = args.args
        kit.logout_all(iqn)
        unexport(volume_id)
        delete_volume(volume_id)
        answer = {"deleted": volume_id}
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
