"""Fail when a Python module (migrations aside) grows past MAX_LINES: a module that long holds more than
one concern and should be split (docs/architecture.md)."""

import subprocess
import sys

MAX_LINES = 600


def main() -> int:
    files = subprocess.run(["git", "ls-files", "*.py"], capture_output=True, text=True, check=True).stdout.split()
    too_long = []
    for path in files:
        if "/migrations/" in path:
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                count = sum(1 for _ in handle)
        except FileNotFoundError:
            continue
        if count > MAX_LINES:
            too_long.append((count, path))
    for count, path in sorted(too_long, reverse=True):
        print(f"{path}: {count} lines (at most {MAX_LINES})")
    return 1 if too_long else 0


if __name__ == "__main__":
    sys.exit(main())
