"""Exit 0 when every ``name==version`` pin of a requirements file is installed at that version.

scripts/run-app.sh runs pip only when this says no: pip's own check of an installed set takes
2-3 s of every start (on a first start, before the demo database can begin to build).

    python3 scripts/requirements_met.py requirements.txt
"""
from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, version

PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)\s*(?:#.*)?$")


def met(path: str) -> bool:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = PIN.match(line)
            if m is None:  # anything but a plain pin: let pip decide
                return False
            try:
                if version(m.group(1)) != m.group(2):
                    return False
            except PackageNotFoundError:
                return False
    return True


if __name__ == "__main__":
    sys.exit(0 if met(sys.argv[1]) else 1)
