"""LioTargets' pure parts: backstore names from IQNs, portals as rtslib names them, errors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cohort.domain.exports import AclSpec, Credentials, Portal, TargetSpec
from cohort.errors import BackendError
from cohort.iscsi.lio import LioTargets, backstore_name, not_in_configfs_error, portal_key

PREFIX = "iqn.2026-01.org.example.cohort:"


def test_backstore_name_is_what_follows_the_prefix() -> None:
    assert backstore_name(PREFIX, PREFIX + "volume-1234") == "volume-1234"
    assert backstore_name(PREFIX[:-1], PREFIX + "snapshot:ab") == "snapshot.ab"


@pytest.mark.parametrize("iqn", ["iqn.2026-01.org.other:volume-1", PREFIX, PREFIX + "x" * 65])
def test_backstore_name_refuses(iqn: str) -> None:
    with pytest.raises(ValueError, match="iqn"):
        backstore_name(PREFIX, iqn)


def test_portal_key_brackets_ipv6() -> None:
    assert portal_key(Portal("127.0.0.2", 3261)) == ("127.0.0.2", 3261)
    assert portal_key(Portal("fd00::1")) == ("[fd00::1]", 3260)


def spec(iqn: str) -> TargetSpec:
    creds = Credentials("user", "s3cret-password")
    acl = AclSpec("iqn.2026-01.org.example:host", creds)
    return TargetSpec(iqn, "/dev/null", "0b5e7c1e-0000-4000-8000-000000000000", False, (acl,))


def test_a_foreign_iqn_is_refused_before_lio_is_touched() -> None:
    targets = LioTargets(PREFIX, lambda: [Portal("127.0.0.1")])
    with pytest.raises(BackendError, match="prefix"):
        targets.publish(spec("iqn.2026-01.org.other:volume-1"))
    with pytest.raises(BackendError, match="prefix"):
        targets.withdraw("iqn.2026-01.org.other:volume-1")
    with pytest.raises(BackendError, match="prefix"):
        targets.disable("iqn.2026-01.org.other:volume-1")


def test_no_portal_is_refused_before_lio_is_touched() -> None:
    targets = LioTargets(PREFIX, list)
    with pytest.raises(BackendError, match="no portal"):
        targets.publish(spec(PREFIX + "volume-1"))


def test_credentials_never_show_their_password() -> None:
    assert "s3cret" not in repr(spec(PREFIX + "v"))


class NotInCFS(Exception):
    pass


def test_the_not_in_configfs_error_of_either_rtslib_fb() -> None:
    """2.2's name, and 2.1.74's (Debian 12's package, which the guest imports)."""
    assert not_in_configfs_error(SimpleNamespace(RTSLibNotInCFSError=NotInCFS)) is NotInCFS
    assert not_in_configfs_error(SimpleNamespace(RTSLibNotInCFS=NotInCFS)) is NotInCFS
