"""Exit codes of cohortctl, one per class of gRPC status."""

from __future__ import annotations

import grpc

OK = 0
FAILURE = 1  # INTERNAL, UNKNOWN, DATA_LOSS and anything unexpected
USAGE = 2  # bad command line or unreadable local file (argparse's own code)
INVALID = 3  # INVALID_ARGUMENT, OUT_OF_RANGE
NOT_FOUND = 4  # NOT_FOUND
CONFLICT = 5  # ALREADY_EXISTS, ABORTED
PRECONDITION = 6  # FAILED_PRECONDITION
EXHAUSTED = 7  # RESOURCE_EXHAUSTED
DENIED = 8  # PERMISSION_DENIED, UNAUTHENTICATED
UNAVAILABLE = 9  # UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED; health not SERVING
UNIMPLEMENTED = 10  # UNIMPLEMENTED
INTERRUPTED = 130  # Ctrl-C

_BY_CODE: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: INVALID,
    grpc.StatusCode.OUT_OF_RANGE: INVALID,
    grpc.StatusCode.NOT_FOUND: NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS: CONFLICT,
    grpc.StatusCode.ABORTED: CONFLICT,
    grpc.StatusCode.FAILED_PRECONDITION: PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED: EXHAUSTED,
    grpc.StatusCode.PERMISSION_DENIED: DENIED,
    grpc.StatusCode.UNAUTHENTICATED: DENIED,
    grpc.StatusCode.UNAVAILABLE: UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: UNAVAILABLE,
    grpc.StatusCode.CANCELLED: UNAVAILABLE,
    grpc.StatusCode.UNIMPLEMENTED: UNIMPLEMENTED,
}


def for_status(code: grpc.StatusCode | None) -> int:
    return _BY_CODE.get(code, FAILURE) if code is not None else FAILURE


EPILOG = """\
exit codes:
  0    success
  1    server error (INTERNAL, UNKNOWN, DATA_LOSS) or unexpected failure
  2    usage error (bad arguments, unreadable TLS file)
  3    INVALID_ARGUMENT, OUT_OF_RANGE
  4    NOT_FOUND
  5    ALREADY_EXISTS, ABORTED
  6    FAILED_PRECONDITION
  7    RESOURCE_EXHAUSTED
  8    PERMISSION_DENIED, UNAUTHENTICATED
  9    UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED (daemon unreachable); health not SERVING
  10   UNIMPLEMENTED
  130  interrupted
gRPC errors are printed on stderr as "ERROR: <CODE>: <details>".
"""
