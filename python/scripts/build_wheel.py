"""Builds what `pip install engram-context` installs: one abi3 wheel (every CPython from 3.9, the
Postgres and MySQL backends compiled in) and an sdist, with maturin.

    .venv/bin/python python/scripts/build_wheel.py --out dist          # release (make wheel)
    .venv/bin/python python/scripts/build_wheel.py --out DIR --dev     # debug: quicker, for tests

Prints the paths of the wheel and the sdist, one per line.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "python" / "Cargo.toml"
FEATURES = "abi3,mysql,postgres"


def maturin() -> str:
    """The maturin next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("maturin")
    return str(beside) if beside.exists() else "maturin"


def build(out: Path, dev: bool) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.iterdir())
    environment = {**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parents[1])}
    profile = ["--profile", "dev"] if dev else ["--release"]
    subprocess.run([maturin(), "build", "--quiet", "-m", str(MANIFEST), "--features", FEATURES, *profile,
                    "--interpreter", sys.executable, "-o", str(out)], check=True, env=environment)
    subprocess.run([maturin(), "sdist", "-m", str(MANIFEST), "-o", str(out)], check=True, env=environment,
                   stdout=subprocess.DEVNULL)
    return sorted(set(out.iterdir()) - before)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="where to put them (default dist/)")
    parser.add_argument("--dev", action="store_true", help="a debug build (quicker; for tests)")
    args = parser.parse_args()
    for path in build(args.out.resolve(), args.dev):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
