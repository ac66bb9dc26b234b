"""Page tokens over gRPC: whatever a client sends as a token, every List RPC answers a page or
INVALID_ARGUMENT, never INTERNAL (a seq beyond SQLite's integer range included)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import grpc

from cohort.v1 import consistency_groups_pb2 as cg_pb
from cohort.v1 import group_snapshots_pb2 as gs_pb
from cohort.v1 import groups_pb2 as g_pb
from cohort.v1 import snapshots_pb2 as s_pb
from cohort.v1 import types_pb2 as t_pb
from cohort.v1 import volumes_pb2 as v_pb
from tests.api.conftest import Api
from tests.api.scenario import code_of

INT64_MAX = (1 << 63) - 1


def token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def lists(api: Api) -> list[tuple[Callable[..., Any], type[Any]]]:
    """Each List RPC and its request message."""
    return [
        (api.types.ListVolumeTypes, t_pb.ListVolumeTypesRequest),
        (api.types.ListGroupTypes, t_pb.ListGroupTypesRequest),
        (api.volumes.ListVolumes, v_pb.ListVolumesRequest),
        (api.snapshots.ListSnapshots, s_pb.ListSnapshotsRequest),
        (api.groups.ListGroups, g_pb.ListGroupsRequest),
        (api.group_snapshots.ListGroupSnapshots, gs_pb.ListGroupSnapshotsRequest),
        (api.cgs.ListConsistencyGroups, cg_pb.ListConsistencyGroupsRequest),
        (api.cgs.ListCgsnapshots, cg_pb.ListCgsnapshotsRequest),
    ]


BAD_TOKENS = (
    token(f"v1:{INT64_MAX + 1}"),
    token(f"v1:{10**40}"),
    token("v1:-1"),
    token("v1:0"),
    token("v1:007"),
    "garbage",
    "é",
)


def test_every_list_refuses_bad_tokens_with_invalid_argument(api: Api) -> None:
    for call, request in lists(api):
        assert call(request(page_token=token(f"v1:{INT64_MAX}"))).next_page_token == ""
        for bad in BAD_TOKENS:
            code = code_of(call, request(page_token=bad))
            assert code is grpc.StatusCode.INVALID_ARGUMENT, (request.__name__, bad)
