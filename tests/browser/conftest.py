"""Browser tests: Playwright for Python driving Debian's Chromium (``/usr/bin/chromium``) against
pytest-django's ``live_server`` on the loopback interface.

They skip with a message when Playwright or Chromium is missing (``.ci/run`` installs Chromium with apt).
Screenshots go to ``$POLAR_SCREENSHOTS_DIR`` (``make screenshots`` sets it to docs/screenshots) or, by
default, to the test's temporary directory, so an ordinary ``make test`` leaves the tree clean.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("POLAR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every wait in a browser test is bounded: a hung page fails the test instead of the suite.
TIMEOUT_MS = 15_000


@pytest.fixture(autouse=True)
def _async_unsafe_ok(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are
    # still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -r requirements.txt)")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium): browser tests skipped")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1100, "height": 900}, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page, tmp_path):
    """``screenshot(name)`` saves a full-page PNG of the current page and returns its path."""
    directory = Path(os.environ.get("POLAR_SCREENSHOTS_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = directory / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        return path

    return take
