"""A stand-in for `lvm`'s shell: one status document per input line, as the command profile of
cohort.lvm.shell makes lvm print. A line's first word picks the outcome: `fail` fails, `die`
exits without a status, `report` prints a report document before its status; anything else
succeeds."""

from __future__ import annotations

import json
import sys


def status(code: int) -> str:
    entry = {"log_type": "status", "log_context": "shell", "log_ret_code": str(code)}
    return json.dumps({"log": [entry]}, indent=2)


def main() -> None:
    for line in sys.stdin:
        word = line.split()[0]
        if word == "die":
            sys.exit(3)
        if word == "report":
            print(json.dumps({"report": [{"lv": [{"lv_name": "x"}]}]}))
        print("lvm> ", end="")
        print(status(5 if word == "fail" else 1), flush=True)


if __name__ == "__main__":
    main()
