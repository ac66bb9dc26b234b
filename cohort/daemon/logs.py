"""structlog set-up: JSON lines on stderr (journald under systemd), request ids from contextvars."""

from __future__ import annotations

import logging
import sys

import structlog


def configure(level: str = "info") -> None:
    numeric = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries using stdlib logging (grpc, sqlalchemy, alembic) go to stderr at the same level.
    logging.basicConfig(
        stream=sys.stderr, level=numeric, format="%(levelname)s %(name)s %(message)s"
    )
