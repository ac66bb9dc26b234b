"""Parsers on recorded lvm2 2.03.16 JSON reports (Debian 12 guest) and edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohort.lvm.report import (
    LV_COLUMNS,
    LvAttr,
    Permission,
    PoolHealth,
    ReportError,
    State,
    VolumeType,
    lvs_argv,
    parse_lvs,
    parse_pvs,
    parse_vgs,
)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_lvs_recorded_thin_pool() -> None:
    lvs = {lv.name: lv for lv in parse_lvs(fixture("lvs_thin_pool.json"))}
    assert set(lvs) == {"[lvol0_pmspare]", "pool", "[pool_tdata]", "[pool_tmeta]", "t1"}
    pool = lvs["pool"]
    assert pool.attr.thin_pool and pool.attr.active and pool.attr.open
    assert pool.size == 2147483648
    assert pool.data_percent == 0.0
    assert pool.metadata_percent == 11.13
    assert pool.metadata_size == 4194304
    assert pool.segtype == "thin-pool"
    t1 = lvs["t1"]
    assert t1.attr.thin and t1.attr.volume_type is VolumeType.THIN
    assert t1.attr.permission is Permission.WRITABLE
    assert not t1.attr.open and not t1.attr.skip_activation
    assert t1.pool_lv == "pool" and t1.origin == "" and not t1.is_snapshot
    assert t1.size == 104857600
    assert t1.tags == ("cohort_id_x",)
    assert t1.tag_value("cohort_id_") == "x"
    assert t1.devno == "253:4"
    assert t1.dm_path == "/dev/mapper/vg0-t1"
    assert t1.metadata_percent is None
    spare = lvs["[lvol0_pmspare]"]
    assert spare.devno is None and spare.attr.state is State.INACTIVE
    assert spare.attr.volume_type is VolumeType.METADATA


def test_vgs_and_pvs_recorded() -> None:
    (vg,) = parse_vgs(fixture("vgs.json"))
    assert vg.name == "vg0"
    assert vg.size == 8585740288 and vg.free == 6429868032
    assert vg.extent_size == 4194304
    assert (vg.extent_count, vg.free_count) == (2047, 1533)
    assert vg.tags == ()
    (pv,) = parse_pvs(fixture("pvs.json"))
    assert (pv.name, pv.vg, pv.dev_size) == ("/dev/vdb", "vg0", 8589934592)


@pytest.mark.parametrize(
    ("raw", "vtype", "perm", "state", "open_", "skip", "health"),
    [
        (
            "Vwi---tz-k",
            VolumeType.THIN,
            Permission.WRITABLE,
            State.INACTIVE,
            False,
            True,
            PoolHealth.OK,
        ),
        (
            "Vri-a-tz--",
            VolumeType.THIN,
            Permission.READ_ONLY,
            State.ACTIVE,
            False,
            False,
            PoolHealth.OK,
        ),
        (
            "twi-aotzD-",
            VolumeType.THIN_POOL,
            Permission.WRITABLE,
            State.ACTIVE,
            True,
            False,
            PoolHealth.OUT_OF_DATA,
        ),
        (
            "twi-sotzM-",
            VolumeType.THIN_POOL,
            Permission.WRITABLE,
            State.SUSPENDED,
            True,
            False,
            PoolHealth.METADATA_READ_ONLY,
        ),
        (
            "-wi-ao----",
            VolumeType.PLAIN,
            Permission.WRITABLE,
            State.ACTIVE,
            True,
            False,
            PoolHealth.OK,
        ),
        ("Z", VolumeType.OTHER, Permission.UNKNOWN, State.INACTIVE, False, False, PoolHealth.OK),
    ],
)
def test_attr_decoding(
    raw: str,
    vtype: VolumeType,
    perm: Permission,
    state: State,
    open_: bool,
    skip: bool,
    health: PoolHealth,
) -> None:
    a = LvAttr.parse(raw)
    assert (a.volume_type, a.permission, a.state, a.open, a.skip_activation, a.health) == (
        vtype,
        perm,
        state,
        open_,
        skip,
        health,
    )
    assert a.raw == raw


def test_snapshot_row() -> None:
    text = (
        '{"report":[{"lv":[{"lv_name":"_snapshot-b","vg_name":"cohort","lv_uuid":"u",'
        '"lv_size":"1073741824","lv_attr":"Vwi---tz-k","pool_lv":"pool","origin":"volume-a",'
        '"data_percent":"","metadata_percent":"","lv_metadata_size":"",'
        '"lv_tags":"cohort,cohort_id_b","lv_dm_path":"/dev/mapper/cohort-_snapshot--b",'
        '"lv_kernel_major":"-1","lv_kernel_minor":"-1","segtype":"thin"}]}]}'
    )
    (lv,) = parse_lvs(text)
    assert lv.is_snapshot and lv.origin == "volume-a"
    assert lv.tags == ("cohort", "cohort_id_b")
    assert lv.data_percent is None and lv.devno is None
    assert lv.full_name == "cohort/_snapshot-b"


def test_report_with_log_section_and_several_elements() -> None:
    text = (
        '{"report":[{"lv":[]},{"lv":[{"lv_name":"a","vg_name":"v","lv_uuid":"u","lv_size":"512",'
        '"lv_attr":"Vwi-a-tz--"}]}],"log":[{"log_ret_code":"1"}]}'
    )
    (lv,) = parse_lvs(text)
    assert lv.name == "a" and lv.devno is None and lv.tags == ()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  Failed to find logical volume",
        '{"nope": []}',
        '{"report": [{"lv": [{"lv_name": "a"}]}]}',
        '{"report": [{"lv": [{"lv_name":"a","vg_name":"v","lv_uuid":"u","lv_size":"12x",'
        '"lv_attr":"V"}]}]}',
        '{"report": [{"lv": [{"lv_name":"a","vg_name":"v","lv_uuid":"u","lv_size":"1",'
        '"lv_attr":"V","data_percent":"abc"}]}]}',
        '{"report": [["x"]]}',
    ],
)
def test_bad_reports_raise_report_error(text: str) -> None:
    with pytest.raises(ReportError):
        parse_lvs(text)


def test_truncated_recorded_report() -> None:
    text = fixture("lvs_thin_pool.json")
    with pytest.raises(ReportError):
        parse_lvs(text[: len(text) // 2])


def test_lvs_argv_explicit_columns_and_selectors_after_double_dash() -> None:
    argv = lvs_argv("cohort/volume-a")
    assert argv[:2] == ["lvm", "lvs"]
    assert "--reportformat" in argv and "json" in argv and "--nosuffix" in argv
    assert argv[argv.index("-o") + 1] == ",".join(LV_COLUMNS)
    assert argv[-2:] == ["--", "cohort/volume-a"]
