"""Every name cohort puts on an LVM or device-mapper command line is made here, from ids.

Ids come from cohort itself (uuid4), never from a user; they are still checked against a strict
charset so that nothing that could be read as an option or a path ever reaches a command line.
"""

from __future__ import annotations

import re

from cohort.errors import InvalidArgument

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: LVM object names: letters, digits, "+_.-", not starting with "-" (lvm(8) VALID NAMES).
_LVM_NAME = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9_+.-]{0,126}")

VOLUME_PREFIX = "volume-"
#: lvm2 reserves LV names starting with "snapshot" (and "pvmove"): lvcreate refuses them
#: ("Names starting \"snapshot\" are reserved"); Cinder's LVM driver uses "_snapshot-" too.
SNAPSHOT_PREFIX = "_snapshot-"
TAG_PREFIX = "cohort_id_"
GATE_PREFIX = "cohort-gate-"
GATE_UUID_PREFIX = "COHORT-GATE-"
#: A snapshot's read-only device, for its export (`cohort.lvm.dm.SnapshotDevices`).
SNAPSHOT_DEVICE_PREFIX = "cohort-snap-"
SNAPSHOT_DEVICE_UUID_PREFIX = "COHORT-SNAP-"
#: Tag on every LV cohort creates, whatever it holds (VGs may be shared with other software).
OWNER_TAG = "cohort"


def check_id(object_id: str) -> str:
    if not _ID.fullmatch(object_id):
        raise InvalidArgument(f"not a valid cohort id: {object_id!r}")
    return object_id


def check_lvm_name(name: str, what: str = "LVM name") -> str:
    if not _LVM_NAME.fullmatch(name) or name in (".", ".."):
        raise InvalidArgument(f"not a valid {what}: {name!r}")
    return name


def volume_lv(volume_id: str) -> str:
    return VOLUME_PREFIX + check_id(volume_id)


def snapshot_lv(snapshot_id: str) -> str:
    return SNAPSHOT_PREFIX + check_id(snapshot_id)


def id_tag(object_id: str) -> str:
    """`cohort_id_<id>`: LVM tags allow [A-Za-z0-9_+.-/=!:&#]; uuids fit."""
    return TAG_PREFIX + check_id(object_id)


def gate_name(volume_id: str) -> str:
    return GATE_PREFIX + check_id(volume_id)


def gate_uuid(volume_id: str) -> str:
    return GATE_UUID_PREFIX + check_id(volume_id)


def gate_path(volume_id: str) -> str:
    return "/dev/mapper/" + gate_name(volume_id)


def snapshot_device_name(snapshot_id: str) -> str:
    return SNAPSHOT_DEVICE_PREFIX + check_id(snapshot_id)


def snapshot_device_uuid(snapshot_id: str) -> str:
    return SNAPSHOT_DEVICE_UUID_PREFIX + check_id(snapshot_id)


def kind_of_lv(lv_name: str) -> tuple[str, str] | None:
    """("volume"|"snapshot", id) for an LV name cohort made, else None."""
    for prefix, kind in ((VOLUME_PREFIX, "volume"), (SNAPSHOT_PREFIX, "snapshot")):
        if lv_name.startswith(prefix) and _ID.fullmatch(lv_name[len(prefix) :]):
            return kind, lv_name[len(prefix) :]
    return None
