"""The LVM filter block: accept-only, idempotent, other content kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohort.errors import BackendError
from cohort.lvm import hygiene

from .fakes import FakeSystem


def test_patterns_accept_only() -> None:
    assert hygiene.filter_patterns(["/dev/vdb", "/dev/loop0", "/dev/vdb"]) == [
        "a|^/dev/loop0$|",
        "a|^/dev/vdb$|",
        "r|.*|",
    ]
    assert hygiene.filter_patterns(["/dev/disk/by-id/a.b+c"]) == [
        "a|^/dev/disk/by-id/a\\.b\\+c$|",
        "r|.*|",
    ]


@pytest.mark.parametrize("bad", ["/dev/a|b", 'dev"x', "relative", "/dev/x\n"])
def test_bad_device_paths(bad: str) -> None:
    with pytest.raises(BackendError):
        hygiene.filter_patterns([bad])


def test_merge_keeps_other_content_and_is_idempotent() -> None:
    local = 'local {\n\t# system_id = "x"\n}\n'
    once = hygiene.merge_block(local, hygiene.render_block(["/dev/vdb"]))
    assert once.startswith(local) and hygiene.BEGIN in once
    assert hygiene.merge_block(once, hygiene.render_block(["/dev/vdb"])) == once
    twice = hygiene.merge_block(once, hygiene.render_block(["/dev/vdc"]))
    assert "/dev/vdc" in twice and "/dev/vdb" not in twice and twice.count(hygiene.BEGIN) == 1


def test_install_writes_once(tmp_path: Path) -> None:
    fake = FakeSystem()
    (tmp_path / "lvmlocal.conf").write_text("local {\n}\n")
    assert hygiene.install(fake, ["/dev/loop3"], lvm_dir=tmp_path)
    text = (tmp_path / "lvmlocal.conf").read_text()
    assert text.startswith("local {\n}\n")
    assert '"a|^/dev/loop3$|", "a|^/dev/vdb$|", "r|.*|"' in text  # vdb: the host's other PV
    assert not hygiene.install(fake, ["/dev/loop3"], lvm_dir=tmp_path)


def test_gates_are_excluded_from_pvs() -> None:
    assert hygiene.excluded("/dev/mapper/cohort-gate-abc")
    assert not hygiene.excluded("/dev/nonexistent-disk")
