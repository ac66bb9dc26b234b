"""os-brick's iSCSI connector as a Cinder host runs it, in a process of its own (os-brick's
imports patch and configure things a pytest process should not share). Run as root, without a
privsep daemon. A line protocol on stdin/stdout, one JSON object a line:

    -> {"connector": <get_connector_properties()>}
    <- <connection info: {"driver_volume_type": "iscsi", "data": {...}}>
    -> {"path": <the attached device>, "sha256": <of its first `length` bytes>}
    <- {"detach": true}
    -> {"detached": true}

Usage: python tests/guest/brick_attach.py LENGTH LOCK_DIR
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from typing import Any


def say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def hear() -> dict[str, Any]:
    message: dict[str, Any] = json.loads(sys.stdin.readline())
    return message


def main(length: int, lock_dir: str) -> None:
    # Imported by name: os-brick is only in the guest's environment.
    lockutils = importlib.import_module("oslo_concurrency.lockutils")
    cfg = importlib.import_module("oslo_config.cfg")
    os_brick = importlib.import_module("os_brick")
    privileged = importlib.import_module("os_brick.privileged")
    initiator = importlib.import_module("os_brick.initiator.connector")

    lockutils.set_defaults(lock_dir)
    os_brick.setup(cfg.CONF)
    privileged.default.set_client_mode(False)
    say({"connector": initiator.get_connector_properties(None, "127.0.0.1", False, False)})
    info = hear()
    assert info["driver_volume_type"] == "iscsi"
    iscsi = initiator.InitiatorConnector.factory("ISCSI", root_helper=None, use_multipath=False)
    device = iscsi.connect_volume(info["data"])
    with open(device["path"], "rb", buffering=0) as disk:
        digest = hashlib.sha256(disk.read(length)).hexdigest()
    say({"path": device["path"], "sha256": digest})
    assert hear() == {"detach": True}
    iscsi.disconnect_volume(info["data"], device)
    say({"detached": True})


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
