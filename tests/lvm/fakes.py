"""A fake command runner: records every argv and answers like lvm2 2.03 / dmsetup would, from a
small in-memory model of one VG with a thin pool (JSON reports in lvm2's format)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from cohort.lvm.run import CommandError, FlightRecorder, Result

EXTENT = 4 * 1024**2


@dataclass
class FakeLv:
    name: str
    size: int
    attr: str
    origin: str = ""
    tags: list[str] = field(default_factory=list)
    minor: int = -1


def _opts(argv: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Options (with their values) and positionals after `--`."""
    flags_without_value = {
        "--snapshot",
        "--yes",
        "--retry",
        "--nosuffix",
        "-An",
        "--noudevsync",
        "--ignoremonitoring",
        "--refresh",
        "--readonly",
        "--ignoreactivationskip",
    }
    opts: dict[str, list[str]] = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return opts, list(argv[i + 1 :])
        if a in flags_without_value:
            opts.setdefault(a, []).append("")
            i += 1
            continue
        assert a.startswith("-"), f"positional {a!r} before --"
        opts.setdefault(a, []).append(argv[i + 1])
        i += 2
    return opts, []


def _size(value: str) -> int:
    assert value.endswith("b"), value
    n = int(value[:-1])
    return -(-n // EXTENT) * EXTENT


class FakeSystem:
    def __init__(self, vg: str = "vg0", pool: str = "pool", pool_size: int = 8 * 1024**3) -> None:
        self.vg = vg
        self.pool = pool
        self.lvs: dict[str, FakeLv] = {pool: FakeLv(pool, pool_size, "twi-aotz--", minor=2)}
        self.data_percent = 1.5
        self.metadata_percent = 10.25
        self.when_full = "error"
        self.gates: dict[str, tuple[str, str]] = {}  # name -> (uuid, table)
        self.suspended: set[str] = set()  # dm names of suspended gates and LVs ("vg-lv")
        self.transaction_id = 3  # in LVM's metadata
        self.kernel_transaction: int | None = 3  # None: the pool's -tpool is not active
        self.calls: list[tuple[str, ...]] = []
        self.batches: list[list[list[str]]] = []
        self.backups = 0
        self.fail: Callable[[Sequence[str]], str | None] = lambda argv: None
        self.recorder = FlightRecorder()
        self._minor = 10

    # -- Runner ----------------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        ok_codes: Sequence[int] = (0,),
        env: Mapping[str, str] | None = None,
    ) -> Result:
        args = tuple(argv)
        self.calls.append(args)
        if args == ("lvm",):
            assert env is not None and env["LVM_REPORT_FD"] == "1"
            assert input is not None
            return self._shell(input)
        failure = self.fail(args)
        if failure:
            raise CommandError(args, 5, failure)
        out = self._dispatch(args)
        return Result(args, 0, out, "", 0.0)

    def _shell(self, text: str) -> Result:
        batch = [line.split(" ") for line in text.splitlines() if line]
        self.batches.append(batch)
        docs, errors = [], []
        for argv in batch:
            failure = self.fail(("lvm", *argv))
            code = "5" if failure else "1"
            if failure:
                errors.append(failure)
            else:
                try:
                    self._dispatch(("lvm", *argv))
                except CommandError as err:
                    code = "5"
                    errors.append(err.stderr)
            docs.append(
                json.dumps(
                    {"log": [{"log_type": "status", "log_context": "shell", "log_ret_code": code}]}
                )
            )
        stdout = "\n".join(docs) + '\n{"log": []}\n'
        return Result(("lvm",), 0, stdout, "\n".join(errors), 0.0)

    # -- commands --------------------------------------------------------------------------
    def _dispatch(self, args: tuple[str, ...]) -> str:
        tool, cmd = args[0], args[1]
        if tool == "dmsetup":
            return self._dmsetup(cmd, args[2:])
        if tool == "losetup":
            return ""
        assert tool == "lvm", args
        opts, pos = _opts(args[2:])
        handler = getattr(self, "_" + cmd)
        result: str = handler(opts, pos)
        return result

    def _full(self, name: str) -> FakeLv:
        vg, _, lv = name.partition("/")
        if vg != self.vg or lv not in self.lvs:
            raise CommandError(("lvm",), 5, f'  Failed to find logical volume "{name}"')
        return self.lvs[lv]

    def _row(self, lv: FakeLv) -> dict[str, str]:
        is_pool = lv.name == self.pool
        active = lv.attr[4] in "as"
        return {
            "lv_name": lv.name,
            "vg_name": self.vg,
            "lv_uuid": "uuid-" + lv.name,
            "lv_size": str(lv.size),
            "lv_attr": lv.attr,
            "pool_lv": "" if is_pool else self.pool,
            "origin": lv.origin,
            "data_percent": f"{self.data_percent:.2f}" if is_pool else "0.00",
            "metadata_percent": f"{self.metadata_percent:.2f}" if is_pool else "",
            "lv_metadata_size": "8388608" if is_pool else "",
            "lv_tags": ",".join(lv.tags),
            "lv_dm_path": f"/dev/mapper/{self.vg}-{lv.name}",
            "lv_kernel_major": "253" if active else "-1",
            "lv_kernel_minor": str(lv.minor) if active else "-1",
            "segtype": "thin-pool" if is_pool else "thin",
            "lv_when_full": self.when_full if is_pool else "",
        }

    def _lvs(self, opts: dict[str, list[str]], pos: list[str]) -> str:
        assert opts["--reportformat"] == ["json"] and opts["--units"] == ["b"]
        (sel,) = pos
        if opts["-o"] == ["lv_name,transaction_id"]:
            assert sel == f"{self.vg}/{self.pool}"
            row = {"lv_name": self.pool, "transaction_id": str(self.transaction_id)}
            return json.dumps({"report": [{"lv": [row]}]})
        if "/" in sel:
            lvs = [self._full(sel)]
        else:
            assert sel == self.vg
            lvs = list(self.lvs.values())
        for expr in opts.get("--select", []):
            key, _, value = expr.partition("=")
            assert key == "lv_name", expr
            lvs = [lv for lv in lvs if lv.name == value]
        return json.dumps({"report": [{"lv": [self._row(lv) for lv in lvs]}]})

    def _vgs(self, opts: dict[str, list[str]], pos: list[str]) -> str:
        return json.dumps(
            {
                "report": [
                    {
                        "vg": [
                            {
                                "vg_name": self.vg,
                                "vg_uuid": "vgu",
                                "vg_size": str(9 * 1024**3),
                                "vg_free": str(1024**3),
                                "vg_extent_size": str(EXTENT),
                                "vg_extent_count": "2304",
                                "vg_free_count": "256",
                                "vg_tags": "",
                            }
                        ]
                    }
                ]
            }
        )

    def _pvs(self, opts: dict[str, list[str]], pos: list[str]) -> str:
        return json.dumps(
            {
                "report": [
                    {
                        "pv": [
                            {
                                "pv_name": "/dev/vdb",
                                "vg_name": self.vg,
                                "pv_uuid": "p",
                                "pv_size": "1",
                                "pv_free": "0",
                                "dev_size": "1",
                            }
                        ]
                    }
                ]
            }
        )

    def _new_lv(self, name: str, size: int, attr: str, tags: list[str], origin: str = "") -> None:
        if name in self.lvs:
            raise CommandError(("lvm",), 5, f'  Logical Volume "{name}" already exists')
        self._minor += 1
        self.lvs[name] = FakeLv(name, size, attr, origin, tags, self._minor)

    def _lvcreate(self, opts: dict[str, list[str]], pos: list[str]) -> str:
        (name,) = opts["--name"]
        assert not name.startswith("-")
        if name.startswith(("snapshot", "pvmove")):  # lvm2 2.03 refuses these (rc 3)
            raise CommandError(("lvm",), 3, f'Names starting "{name[:8]}" are reserved.')
        tags = opts.get("--addtag", [])
        if "--snapshot" in opts:
            (origin_name,) = pos
            origin = self._full(origin_name)
            writable = opts.get("--setactivationskip") == ["n"]
            attr = "Vwi-a-tz--" if writable else "Vwi---tz-k"
            self._new_lv(name, origin.size, attr, tags, origin.name)
        else:
            assert pos == [self.vg] and opts["--thinpool"] == [self.pool]
            self._new_lv(name, _size(opts["--virtualsize"][0]), "Vwi-a-tz--", tags)
        return ""

    def _lvextend(self, opts: dict[str, list[str]], pos: list[str]) -> str:
        (name,) = pos
        self._full(name).size = _size(opts["--size"][0])
        return ""

    def _lvchange(self, opts: dict[str, list[str]], pos: list[str]) -> str:
        (target,) = pos
        if target.startswith("@"):
            for lv in self.lvs.values():
                if target[1:] in lv.tags and lv.attr[9] != "k":
                    lv.attr = lv.attr[:4] + "a" + lv.attr[5:]
            return ""
        lv = self._full(target)
        if "--refresh" in opts:
            self.suspended.discard(f"{self.vg}-{lv.name}")
            if lv.attr[4] == "s":
                lv.attr = lv.attr[:4] + "a" + lv.attr[5:]
        if opts.get("--activate") == ["y"] and (
            lv.attr[9] != "k" or "--ignoreactivationskip" in opts
        ):
            lv.attr = lv.attr[:4] + "a" + lv.attr[5:]
        if opts.get("--activate") == ["n"]:
            lv.attr = lv.attr[:4] + "-" + lv.attr[5:]
        if "--errorwhenfull" in opts:
            self.when_full = "error"
        return ""

    def _vgcfgbackup(self, opts: dict[str, list[str]], pos: list[str]) -> str:
        assert pos == [self.vg], pos
        self.backups += 1
        return ""

    def _lvremove(self, opts: dict[str, list[str]], pos: list[str]) -> str:
        (name,) = pos
        lv = self._full(name)
        if lv.attr[4] == "a" and any(f" 253:{lv.minor} " in t for _, t in self.gates.values()):
            raise CommandError(("lvm",), 5, f"  Logical volume {name} in use.")
        del self.lvs[name.partition("/")[2]]
        return ""

    def _dmsetup(self, cmd: str, rest: tuple[str, ...]) -> str:
        opts, pos = _opts(rest) if cmd != "info" else ({}, [])
        if cmd == "create":
            (name,) = pos
            if name in self.gates:
                raise CommandError(
                    ("dmsetup",), 1, "device-mapper: create ioctl failed: Device or resource busy"
                )
            self.gates[name] = (opts["--uuid"][0], opts["--table"][0])
            return ""
        if cmd == "info":
            return "".join(
                f"{n}:{u}:253:{i + 100}:0:{'Suspended' if n in self.suspended else 'Active'}\n"
                for i, (n, (u, _)) in enumerate(self.gates.items())
            )
        if cmd == "status":
            assert opts == {"--target": ["thin-pool"]}, opts
            if self.kernel_transaction is None:
                return "No devices found\n"
            return (
                f"{self.vg}-{self.pool}-tpool: 0 16777216 thin-pool {self.kernel_transaction} "
                "546/4096 0/131072 - rw no_discard_passdown error_if_no_space - 1024 \n"
            )
        (name,) = pos
        if name not in self.gates:
            raise CommandError(
                ("dmsetup",),
                1,
                f"device-mapper: {cmd} ioctl on {name}  failed: No such device or address",
            )
        if cmd == "remove":
            del self.gates[name]
            return ""
        if cmd == "table":
            return self.gates[name][1] + "\n"
        if cmd == "reload":
            self.gates[name] = (self.gates[name][0], opts["--table"][0])
            return ""
        if cmd == "resume":
            self.suspended.discard(name)
            return ""
        raise AssertionError(cmd)
