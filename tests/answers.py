"""What a call answered, as the concurrency tiers judge it: the status code, the reply, the
client's clock around the call, and, for a "busy, retry later" refusal, what the rich status
(google.rpc.ErrorInfo + RetryInfo in grpc-status-details-bin) says holds the object."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

OK = grpc.StatusCode.OK
BUSY = grpc.StatusCode.UNAVAILABLE
BUSY_REASON = "OBJECT_BUSY"
BUSY_DOMAIN = "cohort"


@dataclass(frozen=True, slots=True)
class Busy:
    """The ErrorInfo of a BUSY answer: which object is held, by which operation."""

    reason: str
    domain: str
    object: str
    operation: str
    retry_seconds: float | None

    @property
    def object_id(self) -> str:
        """The id in `object` ("<kind> <id>")."""
        return self.object.rsplit(" ", 1)[-1]


@dataclass(frozen=True, slots=True)
class Answer:
    """One call's outcome: its code, reply (OK) or message, and the client's clock around it."""

    code: grpc.StatusCode
    reply: Any
    message: str
    busy: Busy | None
    start: float
    end: float

    @property
    def ok(self) -> bool:
        return self.code is OK

    def before(self, other: Answer) -> bool:
        """This call was answered before `other` was sent: the server saw them in that order."""
        return self.end < other.start

    def __str__(self) -> str:
        if self.ok:
            return "OK"
        return f"{self.code.name}: {self.message}"


def busy_of(error: grpc.RpcError) -> Busy | None:
    """The ErrorInfo (and RetryInfo) in a failed call's rich status; None when it has none."""
    status = rpc_status.from_call(error)
    if status is None:
        return None
    info: error_details_pb2.ErrorInfo | None = None
    retry: float | None = None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry_info = error_details_pb2.RetryInfo()
            detail.Unpack(retry_info)
            retry = retry_info.retry_delay.ToTimedelta().total_seconds()
    if info is None:
        return None
    return Busy(
        reason=info.reason,
        domain=info.domain,
        object=info.metadata.get("object", ""),
        operation=info.metadata.get("operation", ""),
        retry_seconds=retry,
    )


def answer(call: Callable[[], Any]) -> Answer:
    """Make the call; its answer, whatever the code."""
    start = time.perf_counter()
    try:
        reply = call()
    except grpc.RpcError as error:
        end = time.perf_counter()
        code = error.code()
        busy = busy_of(error) if code is BUSY else None
        return Answer(code, None, error.details() or "", busy, start, end)
    return Answer(OK, reply, "", None, start, time.perf_counter())


def busy_problems(ans: Answer, objects: set[str], operations: set[str]) -> list[str]:
    """What is wrong with `ans` as a documented BUSY refusal naming one of `objects` held by
    one of `operations` (empty: nothing)."""
    if ans.code is not BUSY:
        return [f"not BUSY: {ans}"]
    problems = []
    if not ans.message.startswith("busy:"):
        problems.append(f"message does not start with 'busy:': {ans.message!r}")
    info = ans.busy
    if info is None:
        return [*problems, f"UNAVAILABLE without an ErrorInfo: {ans.message!r}"]
    if (info.reason, info.domain) != (BUSY_REASON, BUSY_DOMAIN):
        problems.append(f"ErrorInfo reason/domain {info.reason}/{info.domain}")
    if info.object_id not in objects:
        problems.append(f"ErrorInfo names {info.object!r}, none of {sorted(objects)}")
    if info.operation not in operations:
        problems.append(f"ErrorInfo operation {info.operation!r}, not one of {sorted(operations)}")
    if info.retry_seconds is None:
        problems.append("no RetryInfo")
    return problems
