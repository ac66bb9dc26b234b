"""The one place where cohort.errors become gRPC status codes.

`RequestInterceptor` wraps every handler of the server: it binds a request id (the client's
`x-request-id` metadata, else a fresh uuid4) into structlog's contextvars, returns it in the
trailing metadata, maps cohort's exceptions to status codes (anything unexpected: INTERNAL and a
logged traceback), logs method, code and duration, and records the Prometheus metrics.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import structlog
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from cohort import errors
from cohort.daemon import metrics

log = structlog.get_logger(__name__)

REQUEST_ID_KEY = "x-request-id"
#: What a client's request id may look like; anything else is replaced by a fresh uuid4.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/-]{1,128}")

#: Most specific first: Busy is a BackendError.
ERROR_CODES: tuple[tuple[type[errors.CohortError], grpc.StatusCode], ...] = (
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.ObjectBusy, grpc.StatusCode.UNAVAILABLE),
    (errors.StoreBusy, grpc.StatusCode.UNAVAILABLE),
    (errors.BackendError, grpc.StatusCode.ABORTED),
)


#: The google.rpc.ErrorInfo of a refusal because another call holds an object.
BUSY_REASON = "OBJECT_BUSY"
#: ... and of a write the store's single writer lock did not let in within its busy timeout.
STORE_BUSY_REASON = "STORE_BUSY"
ERROR_DOMAIN = "cohort"
#: What a busy answer suggests as the client's back-off (google.rpc.RetryInfo).
BUSY_RETRY_DELAY_SECONDS = 1

_QUIET_PREFIX = "/grpc."
#: Codes that say something went wrong on this side (the others: the request was refused).
_SERVER_SIDE = frozenset(
    {grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
)


def status_code(exc: errors.CohortError) -> grpc.StatusCode:
    for cls, code in ERROR_CODES:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.INTERNAL  # a CohortError outside the hierarchy's leaves


class _Call:
    """Book-keeping of one RPC: request id, timing, the final code."""

    def __init__(self, method: str, context: Any) -> None:
        self.method = method
        self.context = context
        self.code = grpc.StatusCode.OK
        self.error = ""
        self.started = time.perf_counter()
        metadata = dict(context.invocation_metadata() or ())
        client_id = str(metadata.get(REQUEST_ID_KEY, ""))
        self.request_id = client_id if _REQUEST_ID.fullmatch(client_id) else str(uuid.uuid4())
        structlog.contextvars.bind_contextvars(request_id=self.request_id, method=method)
        context.set_trailing_metadata(((REQUEST_ID_KEY, self.request_id),))

    def fail(self, exc: BaseException) -> None:
        """Turn `exc` into the RPC's status (context.abort raises, ending the handler)."""
        if isinstance(exc, errors.ObjectBusy | errors.StoreBusy):
            self.code = grpc.StatusCode.UNAVAILABLE
            self.error = str(exc)
            self.context.abort_with_status(rpc_status.to_status(busy_status(exc)))
        if isinstance(exc, errors.CohortError):
            self.code = status_code(exc)
            self.error = str(exc) or type(exc).__name__
            self.context.abort(self.code, self.error)
        current = _current_code(self.context)
        if current is not None and current != grpc.StatusCode.OK:
            self.code = current  # the handler aborted on its own: keep its status
            raise exc
        self.code = grpc.StatusCode.INTERNAL
        self.error = f"{type(exc).__name__}: {exc}"
        log.error("unexpected error", exc_info=exc)
        self.context.abort(grpc.StatusCode.INTERNAL, f"internal error (request {self.request_id})")

    def finish(self) -> None:
        if self.code == grpc.StatusCode.OK and not self.context.is_active():
            self.code = grpc.StatusCode.CANCELLED  # the client went away first
        seconds = time.perf_counter() - self.started
        metrics.observe(self.method, self.code.name, seconds)
        if self.code in _SERVER_SIDE:
            level = log.warning
        elif self.method.startswith(_QUIET_PREFIX):
            level = log.debug  # health probes and reflection would flood the log
        else:
            level = log.info
        extra = {"error": self.error} if self.error else {}
        level("rpc", code=self.code.name, duration_ms=round(seconds * 1000, 3), **extra)
        structlog.contextvars.unbind_contextvars("request_id", "method")


def busy_status(exc: errors.ObjectBusy | errors.StoreBusy) -> status_pb2.Status:
    """UNAVAILABLE with an ErrorInfo (the object and its holder; or the store's write lock)
    and a RetryInfo."""
    if isinstance(exc, errors.ObjectBusy):
        reason = BUSY_REASON
        metadata = {"object": f"{exc.kind} {exc.object_id}", "operation": exc.operation}
    else:
        reason, metadata = STORE_BUSY_REASON, {}
    info = error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)
    retry = error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=BUSY_RETRY_DELAY_SECONDS)
    )
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=str(exc))
    status.details.add().Pack(info)
    status.details.add().Pack(retry)
    return status


def _current_code(context: Any) -> grpc.StatusCode | None:
    try:
        code: grpc.StatusCode | None = context.code()
    except (AttributeError, NotImplementedError):
        return None
    return code


def _unary(method: str, behavior: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def handle(request: Any, context: Any) -> Any:
        call = _Call(method, context)
        try:
            return behavior(request, context)
        except Exception as exc:
            call.fail(exc)
        finally:
            call.finish()

    return handle


def _stream(method: str, behavior: Callable[[Any, Any], Iterator[Any]]) -> Callable[..., Any]:
    def handle(request: Any, context: Any) -> Iterator[Any]:
        call = _Call(method, context)
        try:
            yield from behavior(request, context)
        except GeneratorExit:
            call.code = grpc.StatusCode.CANCELLED  # the client went away
            raise
        except Exception as exc:
            call.fail(exc)
        finally:
            call.finish()

    return handle


#: Handler attribute, whether it streams responses, and the factory that rebuilds it.
_KINDS = (
    ("unary_unary", False, grpc.unary_unary_rpc_method_handler),
    ("unary_stream", True, grpc.unary_stream_rpc_method_handler),
    ("stream_unary", False, grpc.stream_unary_rpc_method_handler),
    ("stream_stream", True, grpc.stream_stream_rpc_method_handler),
)


class RequestInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        for attribute, streams, make in _KINDS:
            behavior = getattr(handler, attribute)
            if behavior is not None:
                wrap = _stream if streams else _unary
                return make(
                    wrap(details.method, behavior),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return handler
