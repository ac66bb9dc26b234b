"""The simulated pool's state file: everything the pool holds, as one JSON document written
atomically (temporary file, fsync, rename), so a restarted daemon finds its volumes again."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_VERSION = 1


@dataclass(slots=True)
class Lv:
    """A thin volume or snapshot: its size and its chunk map (chunk index -> chunk id)."""

    size: int
    chunks: dict[int, int] = field(default_factory=dict)
    origin: str | None = None


@dataclass(slots=True)
class Contents:
    """What the pool holds: volumes, snapshots, groups and the chunk table."""

    volumes: dict[str, Lv]
    snapshots: dict[str, Lv]
    groups: set[str]
    data: dict[int, bytes]
    next_chunk: int


def encode(contents: Contents) -> str:
    """The state file's text for `contents` (taken under the pool's lock; `write` is not)."""

    def lv_json(lv: Lv) -> dict[str, Any]:
        return {
            "size": lv.size,
            "origin": lv.origin,
            "chunks": {str(i): c for i, c in sorted(lv.chunks.items())},
        }

    document = {
        "version": STATE_VERSION,
        "volumes": {k: lv_json(v) for k, v in sorted(contents.volumes.items())},
        "snapshots": {k: lv_json(v) for k, v in sorted(contents.snapshots.items())},
        "groups": sorted(contents.groups),
        "next_chunk": contents.next_chunk,
        "data": {
            str(c): base64.b64encode(b).decode("ascii") for c, b in sorted(contents.data.items())
        },
    }
    return json.dumps(document, separators=(",", ":"))


def write(path: Path, text: str) -> None:
    """Replace the file atomically: a temporary file, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> Contents:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported version {state.get('version')!r}")

        def lv(obj: Mapping[str, Any]) -> Lv:
            origin = obj.get("origin")
            return Lv(
                size=int(obj["size"]),
                chunks={int(i): int(c) for i, c in obj["chunks"].items()},
                origin=str(origin) if origin is not None else None,
            )

        return Contents(
            volumes={str(k): lv(v) for k, v in state["volumes"].items()},
            snapshots={str(k): lv(v) for k, v in state["snapshots"].items()},
            groups={str(g) for g in state["groups"]},
            data={int(c): base64.b64decode(b) for c, b in state["data"].items()},
            next_chunk=int(state["next_chunk"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"simulated pool state file {path} is unreadable: {exc}") from exc
