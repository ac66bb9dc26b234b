"""Ask cohortd's standard gRPC health service for the overall status ("" service).

    python health.py --unix /run/cohort/cohortd.sock
    python health.py --tcp 127.0.0.1:PORT --ca CA --cert CERT --key KEY

Prints the status name (SERVING, NOT_SERVING, ...) and exits 0 only for SERVING. Needs only
grpcio: the two messages are encoded by hand (HealthCheckRequest{service=""} is empty,
HealthCheckResponse is field 1, an enum), so it runs with any Python that has grpc.
"""

from __future__ import annotations

import argparse
import sys

import grpc

STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def decode_status(payload: bytes) -> int:
    # Field 1, wire type varint (tag byte 0x08); absent means 0 (UNKNOWN).
    if len(payload) >= 2 and payload[0] == 0x08:
        return payload[1]
    return 0


def check(channel: grpc.Channel, timeout: float) -> str:
    call = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=lambda _: b"",
        response_deserializer=decode_status,
    )
    return STATUS.get(call(None, timeout=timeout), "UNKNOWN")


def main() -> int:
    parser = argparse.ArgumentParser()
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--unix", metavar="SOCKET")
    target.add_argument("--tcp", metavar="HOST:PORT")
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()

    if args.unix:
        channel = grpc.insecure_channel(f"unix://{args.unix}")
    else:
        with open(args.ca, "rb") as ca, open(args.cert, "rb") as cert, open(args.key, "rb") as key:
            creds = grpc.ssl_channel_credentials(ca.read(), key.read(), cert.read())
        channel = grpc.secure_channel(args.tcp, creds)
    try:
        status = check(channel, args.timeout)
    except grpc.RpcError as e:
        print(f"ERROR {e.code().name}: {e.details()}")
        return 1
    finally:
        channel.close()
    print(status)
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
