"""Capability matching of extra specs / group specs (Cinder's capabilities filter semantics)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort.domain.specs import capability_name, is_true, mismatches, requirement_matches

CAPS: dict[str, object] = {
    "thin_provisioning_support": True,
    "thick_provisioning_support": False,
    "total_capacity_gb": 100,
    "free_capacity_gb": 42.5,
    "reserved_percentage": 0,
    "max_over_subscription_ratio": "20.0",
    "volume_backend_name": "sim",
    "vendor_name": "Open Source",
    "storage_protocol": "iSCSI",
    "pool_name": "pool-b",
    "consistent_group_snapshot_enabled": "True",
}

# (capability, requirement, matches)
TABLE = [
    # <is>
    ("thin_provisioning_support", "<is> True", True),
    ("thin_provisioning_support", "<is> true", True),
    ("thin_provisioning_support", "<is> False", False),
    ("thick_provisioning_support", "<is> False", True),
    ("thick_provisioning_support", "<is> True", False),
    ("consistent_group_snapshot_enabled", "<is> True", True),
    # numeric
    ("total_capacity_gb", "== 100", True),
    ("total_capacity_gb", "== 100.0", True),
    ("total_capacity_gb", "== 99", False),
    ("total_capacity_gb", "!= 99", True),
    ("total_capacity_gb", "!= 100", False),
    ("free_capacity_gb", ">= 42.5", True),
    ("free_capacity_gb", ">= 43", False),
    ("free_capacity_gb", "<= 42.5", True),
    ("free_capacity_gb", "<= 10", False),
    ("free_capacity_gb", "= 40", True),  # Cinder: "=" is "at least"
    ("free_capacity_gb", "= 50", False),
    ("max_over_subscription_ratio", ">= 20", True),  # a numeric string capability
    # string
    ("volume_backend_name", "s== sim", True),
    ("volume_backend_name", "s== SIM", False),
    ("volume_backend_name", "s!= lvm", True),
    ("volume_backend_name", "s!= sim", False),
    ("pool_name", "s< pool-c", True),
    ("pool_name", "s<= pool-b", True),
    ("pool_name", "s> pool-a", True),
    ("pool_name", "s>= pool-c", False),
    ("vendor_name", "s== Open Source", True),
    # <in>
    ("storage_protocol", "<in> SCSI", True),
    ("storage_protocol", "<in> FC", False),
    ("vendor_name", "<in> Open", True),
    # <or>
    ("storage_protocol", "<or> FC <or> iSCSI", True),
    ("storage_protocol", "<or> FC <or> NVMe", False),
    ("storage_protocol", "<or> iSCSI", True),
    ("thin_provisioning_support", "<or> true <or> maybe", True),
    # bare values
    ("volume_backend_name", "sim", True),
    ("volume_backend_name", "lvm", False),
    ("thin_provisioning_support", "True", True),
    ("thin_provisioning_support", "true", True),
    ("thin_provisioning_support", "False", False),
    ("thick_provisioning_support", "false", True),
    ("thin_provisioning_support", "yes please", False),
    ("total_capacity_gb", "100", True),
    ("consistent_group_snapshot_enabled", "True", True),
]


@pytest.mark.parametrize(("cap", "requirement", "expected"), TABLE)
def test_operator_table(cap: str, requirement: str, expected: bool) -> None:
    assert requirement_matches(requirement, CAPS[cap]) is expected
    reasons = mismatches({cap: requirement}, CAPS)
    assert (reasons == []) is expected
    # the capabilities: scope means the same
    assert mismatches({f"capabilities:{cap}": requirement}, CAPS) == [
        r.replace(f"spec {cap} ", f"spec capabilities:{cap} ") for r in reasons
    ]


MALFORMED = [
    ("total_capacity_gb", ">= abc", "'abc' is not a number"),
    ("total_capacity_gb", "== nan", "is not a number"),
    ("total_capacity_gb", ">= 1 2", "exactly one operand"),
    ("total_capacity_gb", "<=", "exactly one operand"),
    ("volume_backend_name", ">= 3", "needs a numeric capability"),
    ("thin_provisioning_support", ">= 1", "boolean, not a number"),
    ("thin_provisioning_support", "<is> maybe", "<is> needs True or False"),
    ("volume_backend_name", "<is> True", "is not a boolean"),
    ("thin_provisioning_support", "<is>", "exactly one operand"),
    ("storage_protocol", "<or>", "<or> needs the form"),
    ("storage_protocol", "<or> a b", "<or> needs the form"),
    ("storage_protocol", "<or> a <or>", "<or> needs the form"),
    ("storage_protocol", "<in>", "needs an operand"),
    ("storage_protocol", "s==", "needs an operand"),
    ("storage_protocol", "<all-in> iSCSI", "unknown operator <all-in>"),
    ("storage_protocol", "<nope> x", "unknown operator <nope>"),
]


@pytest.mark.parametrize(("cap", "requirement", "reason"), MALFORMED)
def test_malformed_requirements_are_mismatches(cap: str, requirement: str, reason: str) -> None:
    (message,) = mismatches({cap: requirement}, CAPS)
    assert reason in message
    assert cap in message and requirement in message
    with pytest.raises(ValueError, match=re.escape(reason)):
        requirement_matches(requirement, CAPS[cap])


def test_reason_wording() -> None:
    assert mismatches({"thin_provisioning_support": "<is> False"}, CAPS) == [
        "extra spec thin_provisioning_support '<is> False' does not match capability True"
    ]
    assert mismatches({"volume_backend_name": "lvm"}, CAPS, what="group spec") == [
        "group spec volume_backend_name 'lvm' does not match capability sim"
    ]


def test_keys_that_name_no_capability_or_another_scope_are_ignored() -> None:
    specs = {
        "volume_backend_name": "sim",
        "qos:read_iops": "1000",
        "volume_backend:thin_provisioning_support": "<is> False",
        "capabilities:unknown_capability": "<is> True",
        "replication_enabled": "<is> True",
        "capabilities:": "x",
    }
    assert mismatches(specs, CAPS) == []


def test_several_mismatches_are_all_reported_in_key_order() -> None:
    reasons = mismatches(
        {"volume_backend_name": "lvm", "thin_provisioning_support": "<is> False"}, CAPS
    )
    assert [r.split()[2] for r in reasons] == ["thin_provisioning_support", "volume_backend_name"]


def test_capability_name() -> None:
    assert capability_name("a") == "a"
    assert capability_name("capabilities:a") == "a"
    assert capability_name("capabilities:a:b") == "a:b"
    assert capability_name("qos:a") is None
    assert capability_name("capabilities:") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<is> True", True),
        ("<is> true", True),
        ("True", True),
        ("true", True),
        ("  <is>   True ", True),
        ("1", True),
        ("<is> False", False),
        ("False", False),
        ("", False),
        ("<is>", False),
        ("<is> True extra", False),
        ("maybe", False),
        ("<in> True", False),
    ],
)
def test_is_true(value: str, expected: bool) -> None:
    assert is_true(value) is expected


@given(st.booleans(), st.booleans())
def test_is_operator_agrees_with_booleans(cap: bool, wanted: bool) -> None:
    assert requirement_matches(f"<is> {wanted}", cap) is (cap is wanted)
    assert requirement_matches(str(wanted), cap) is (cap is wanted)


@given(
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
def test_numeric_operators_agree_with_python(cap: float, operand: float) -> None:
    text = repr(operand)
    assert requirement_matches(f">= {text}", cap) is (cap >= operand)
    assert requirement_matches(f"<= {text}", cap) is (cap <= operand)
    assert requirement_matches(f"== {text}", cap) is (cap == operand)
    assert requirement_matches(f"!= {text}", cap) is (cap != operand)


@given(st.text(alphabet=st.characters(whitelist_categories=("L", "N")), min_size=1))
def test_string_equality_and_substring(word: str) -> None:
    assert requirement_matches(f"s== {word}", word)
    assert requirement_matches(f"<in> {word}", f"x{word}y")
    assert requirement_matches(f"<or> zz-other <or> {word}", word)
