"""The browser tests check the page with Playwright's waiting assertions (``expect``), never with a
snapshot the moment after a click: after a click that navigates, a read that does not wait
(``is_visible()``, ``is_hidden()``, ``count()``, ``all()``, ``all_inner_texts()``,
``all_text_contents()``) sees whatever the browser has at that instant, the old page or the new one
half parsed. That made the story tests fail one run in three, then the proposal-kinds test once in
CI (``locator("#kinds a").all()`` right after the click answered an empty list).

The rule: such a snapshot is allowed only on the line after a step that waits for the page it reads
(an ``expect(...)``, a ``wait_for(...)`` or a ``goto(...)``). Reads that wait by themselves
(``inner_text()``, ``input_value()``, ``get_attribute()``) are not snapshots. This reads the tests'
own source."""

from __future__ import annotations

import re
from pathlib import Path

SNAPSHOT = re.compile(
    r"assert\s+(not\s+)?\w+\.locator\(.*\)\.(is_visible|is_hidden|count)\(\)"
    r"|\.locator\(.*\)\.(all|all_inner_texts|all_text_contents)\(\)"
)
WAITS = re.compile(r"\bexpect\(|\.wait_for\(|\.goto\(")


def offending_lines(source: str) -> list[int]:
    """The numbers of the lines holding a snapshot read not right after a waiting step."""
    offenders = []
    previous = ""
    for number, line in enumerate(source.splitlines(), start=1):
        if SNAPSHOT.search(line) and not WAITS.search(previous):
            offenders.append(number)
        if line.strip():
            previous = line
    return offenders


def test_no_browser_test_reads_a_snapshot_of_the_page_without_waiting_first() -> None:
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(Path(__file__).parent.glob("test_*.py"))
        if path.name != Path(__file__).name
        for number in offending_lines(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_rule_recognises_a_snapshot() -> None:
    click = '    page.locator("#go").click()\n'
    assert offending_lines(click + '    assert page.locator("#x").is_visible()') == [2]
    assert offending_lines(click + '    assert ops.locator("#rows tr").count() == 2') == [2]
    assert offending_lines(click + '    ids = {a.get_attribute("id") for a in p.locator("a").all()}') == [2]
    assert offending_lines(click + '    texts = page.locator("li").all_inner_texts()') == [2]
    assert offending_lines(click + '    expect(page.locator("#x")).to_be_visible()') == []


def test_the_rule_allows_a_snapshot_right_after_a_wait() -> None:
    waited = '    expect(page.locator("a")).to_have_count(3)\n\n'
    assert offending_lines(waited + '    ids = [a.text_content() for a in p.locator("a").all()]') == []
    loaded = '    page.goto("/app")\n'
    assert offending_lines(loaded + '    assert page.locator("#x").count() == 0') == []
