"""Checks that `cargo bench -- --list` (read on stdin) names every benchmark group the README lists.

The README's "Benchmark groups include:" bullets are the contract; a group renamed or dropped in
the benches fails `make test` here instead of silently leaving the report without it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def readme_groups(readme: Path) -> list[str]:
    text = readme.read_text(encoding="utf-8")
    section = text.split("Benchmark groups include:", 1)[1].split("\n\n", 2)[1]
    return re.findall(r"^- `([a-z_]+)`", section, flags=re.M)


def main() -> int:
    groups = readme_groups(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
    listed = {line.split("/", 1)[0] for line in sys.stdin if line.endswith(": benchmark\n")}
    missing = [group for group in groups if group not in listed]
    if len(groups) < 10 or missing:
        print(f"bench groups missing from `cargo bench -- --list`: {missing} (README lists {groups})")
        return 1
    print(f"all {len(groups)} README bench groups are listed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
