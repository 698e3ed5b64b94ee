"""The README's table of environment variables lists every variable the settings read."""

import re

from django.conf import settings

# env("X"), env.bool("X", ...), env.db("X"), env.list("X") ...: django-environ reads in polar/settings/.
ENV_READ = re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def settings_variables() -> set[str]:
    names = set()
    for path in (settings.BASE_DIR / "polar" / "settings").glob("*.py"):
        names.update(ENV_READ.findall(path.read_text()))
    return names


def test_the_scan_finds_the_settings_variables():
    # Guards the regular expression: if it found nothing, the next test would pass vacuously.
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_DEBUG"} <= settings_variables()


def test_every_settings_variable_has_a_row_in_the_readme():
    readme = (settings.BASE_DIR / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, flags=re.MULTILINE))
    missing = sorted(settings_variables() - documented)
    assert missing == [], f"add a row to the README's environment table for: {', '.join(missing)}"
