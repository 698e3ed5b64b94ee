#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    if "DJANGO_SETTINGS_MODULE" not in os.environ:
        # No settings chosen: this is a developer's machine (`make demo`, `make seed`). Production chooses
        # polar.settings.production explicitly, which accepts no development default (docs/security.md).
        os.environ["DJANGO_SETTINGS_MODULE"] = "polar.settings.base"
        os.environ.setdefault("POLAR_DEVELOPMENT", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
