"""The browser tests check the page with Playwright's waiting assertions (``expect``), never with a
snapshot such as ``assert locator.is_visible()`` or ``assert locator.count() == n``: after a click
that navigates, a snapshot reads whatever the browser has at that instant (the old page, or the new
one half parsed), which made the story tests fail one run in three. This reads the tests' own source."""

from __future__ import annotations

import re
from pathlib import Path

SNAPSHOT = re.compile(r"assert\s+(not\s+)?\w+\.locator\(.*\)\.(is_visible|is_hidden|count)\(\)")


def test_no_browser_test_asserts_on_a_snapshot_of_the_page() -> None:
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(Path(__file__).parent.glob("test_*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SNAPSHOT.search(line) and path.name != Path(__file__).name
    ]
    assert offenders == []


def test_the_rule_recognises_a_snapshot() -> None:
    assert SNAPSHOT.search('    assert page.locator("#x").is_visible()')
    assert SNAPSHOT.search('    assert ops.locator("#rows tr").count() == 2')
    assert not SNAPSHOT.search('    expect(page.locator("#x")).to_be_visible()')
