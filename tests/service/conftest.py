"""Fixtures of the service tests beyond tests/conftest.py."""

from tests.service.browser import browser_page  # noqa: F401 (the browser tests' page)
