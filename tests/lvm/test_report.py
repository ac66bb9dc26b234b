"""Parsers on lvm2 2.03.16 JSON reports recorded in the Debian 12 guest (tests/lvm/fixtures, made
by tests/lvm/record_fixtures.py from the exact argv cohort runs) and on edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cohort.lvm.report import (
    LV_COLUMNS,
    PV_COLUMNS,
    VG_COLUMNS,
    LvAttr,
    MissingColumn,
    Permission,
    PoolHealth,
    ReportError,
    State,
    VolumeType,
    lvs_argv,
    parse_lvs,
    parse_pvs,
    parse_vgs,
    pvs_argv,
    vgs_argv,
)

from .fakes import FakeSystem
from .record_fixtures import CLONE_ID, SNAPSHOT_ID, VOLUME_ID

FIXTURES = Path(__file__).parent / "fixtures"
MiB = 1024**2


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_lvs_recorded_vg() -> None:
    lvs = {lv.name: lv for lv in parse_lvs(fixture("lvs_vg.json"))}
    volume, snapshot, clone = (
        f"volume-{VOLUME_ID}",
        f"_snapshot-{SNAPSHOT_ID}",
        f"volume-{CLONE_ID}",
    )
    assert set(lvs) == {"pool", volume, snapshot, clone}  # no -a: hidden LVs are not listed
    pool = lvs["pool"]
    assert pool.attr.thin_pool and pool.attr.active and pool.attr.open
    assert pool.attr.health is PoolHealth.OK
    assert pool.size == 256 * MiB and pool.segtype == "thin-pool"
    assert pool.when_full == "error"
    assert pool.data_percent is not None and pool.data_percent > 0
    assert pool.metadata_percent is not None and pool.metadata_percent > 0
    assert pool.metadata_size is not None and pool.metadata_size > 0
    v = lvs[volume]
    assert v.attr.thin and v.attr.volume_type is VolumeType.THIN and v.attr.active
    assert v.attr.permission is Permission.WRITABLE and not v.attr.skip_activation
    assert v.pool_lv == "pool" and v.origin == "" and not v.is_snapshot
    assert v.size == 16 * MiB
    assert v.tags == ("cohort", f"cohort_id_{VOLUME_ID}")
    assert v.tag_value("cohort_id_") == VOLUME_ID
    assert v.devno is not None and v.devno.startswith("253:")
    assert v.dm_path == f"/dev/mapper/vg0-{volume.replace('-', '--')}"
    assert v.metadata_percent is None and v.metadata_size is None and v.when_full == ""
    s = lvs[snapshot]
    assert s.is_snapshot and s.origin == volume
    assert s.attr.skip_activation and s.attr.state is State.INACTIVE and s.devno is None
    assert s.size == 16 * MiB
    c = lvs[clone]
    assert c.is_snapshot and c.origin == snapshot and c.attr.active
    assert not c.attr.skip_activation and c.size == 32 * MiB


def test_lvs_selected_by_name_recorded() -> None:
    (lv,) = parse_lvs(fixture("lvs_select.json"))
    assert lv.name == f"volume-{CLONE_ID}"
    assert parse_lvs(fixture("lvs_select_absent.json")) == []


def test_vgs_and_pvs_recorded() -> None:
    (vg,) = parse_vgs(fixture("vgs.json"))
    assert vg.name == "vg0" and vg.tags == ()
    assert vg.extent_size == 4 * MiB
    assert vg.size == vg.extent_count * vg.extent_size
    assert vg.free == vg.free_count * vg.extent_size
    assert parse_vgs(fixture("vgs_select_absent.json")) == []
    pvs = {pv.vg: pv for pv in parse_pvs(fixture("pvs.json"))}
    assert pvs["vg0"].name.startswith("/dev/loop") and pvs["vg0"].size <= pvs["vg0"].dev_size
    assert pvs["cohort"].name == "/dev/vdb"


RECORDED = {
    "lvs_vg.json": ("lv", LV_COLUMNS, parse_lvs),
    "vgs.json": ("vg", VG_COLUMNS, parse_vgs),
    "pvs.json": ("pv", PV_COLUMNS, parse_pvs),
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_recorded_rows_carry_exactly_the_columns_asked_for(name: str) -> None:
    kind, columns, _ = RECORDED[name]
    for element in json.loads(fixture(name))["report"]:
        for row in element[kind]:
            assert list(row) == list(columns)


def test_fake_runner_reports_the_recorded_columns() -> None:
    fake = FakeSystem()
    for argv, kind, columns in [
        (lvs_argv("vg0"), "lv", LV_COLUMNS),
        (vgs_argv("vg0"), "vg", VG_COLUMNS),
        (pvs_argv(), "pv", PV_COLUMNS),
    ]:
        (element,) = json.loads(fake.run(argv).stdout)["report"]
        assert all(list(row) == list(columns) for row in element[kind])


@pytest.mark.parametrize(
    ("name", "column"),
    [(name, column) for name, (_, columns, _) in sorted(RECORDED.items()) for column in columns],
)
def test_missing_column_is_a_typed_error(name: str, column: str) -> None:
    kind, _, parse = RECORDED[name]
    doc = json.loads(fixture(name))
    for element in doc["report"]:
        for row in element[kind]:
            del row[column]
    with pytest.raises(MissingColumn) as ei:
        parse(json.dumps(doc))
    assert (ei.value.kind, ei.value.column) == (kind, column)
    assert isinstance(ei.value, ReportError) and column in str(ei.value)


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
        (
            "ewi-------",
            VolumeType.METADATA,
            Permission.WRITABLE,
            State.INACTIVE,
            False,
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


def one_lv(**values: object) -> str:
    """A report of one LV row: the recorded volume's row with `values` changed."""
    doc = json.loads(fixture("lvs_select.json"))
    doc["report"][0]["lv"][0].update(values)
    return json.dumps(doc)


def test_report_with_log_section_and_several_elements() -> None:
    row = json.loads(one_lv())["report"][0]["lv"][0]
    text = json.dumps({"report": [{"lv": []}, {"lv": [row]}], "log": [{"log_ret_code": "1"}]})
    (lv,) = parse_lvs(text)
    assert lv.name == f"volume-{CLONE_ID}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  Failed to find logical volume",
        '{"nope": []}',
        '{"report": [{"lv": [{"lv_name": "a"}]}]}',
        '{"report": [{"vg": []}]}',
        '{"report": [["x"]]}',
        one_lv(lv_size="12x"),
        one_lv(data_percent="abc"),
        one_lv(lv_kernel_major=""),
        one_lv(lv_tags=None),
        one_lv(origin=5),
    ],
)
def test_bad_reports_raise_report_error(text: str) -> None:
    with pytest.raises(ReportError):
        parse_lvs(text)


def test_truncated_recorded_report() -> None:
    text = fixture("lvs_vg.json")
    with pytest.raises(ReportError):
        parse_lvs(text[: len(text) // 2])


def test_lvs_argv_explicit_columns_and_selectors_after_double_dash() -> None:
    argv = lvs_argv("cohort/volume-a")
    assert argv[:2] == ["lvm", "lvs"]
    assert "--reportformat" in argv and "json" in argv and "--nosuffix" in argv
    assert argv[argv.index("-o") + 1] == ",".join(LV_COLUMNS)
    assert argv[-2:] == ["--", "cohort/volume-a"]
