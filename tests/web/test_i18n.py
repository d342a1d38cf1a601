"""The pages' message catalogue: every key in both languages, Chinese by default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lendcore.web.customer import language_return_path
from lendcore.web.i18n import MESSAGES, lang_of

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "lendcore" / "web" / "templates"


def test_both_languages_have_the_same_keys_and_no_empty_text() -> None:
    assert MESSAGES["zh"].keys() == MESSAGES["en"].keys()
    assert all(text.strip() for lang in MESSAGES.values() for text in lang.values())


def test_every_key_a_template_names_is_in_the_catalogue() -> None:
    named = {m for f in TEMPLATES.glob("*.html") for m in re.findall(r"t\('([a-z_]+)'\)", f.read_text())}
    assert named, "the pattern found nothing: the test would pass vacuously"
    assert named - MESSAGES["zh"].keys() == set()


def test_chinese_unless_the_cookie_says_english() -> None:
    assert lang_of(None) == "zh"
    assert lang_of("fr") == "zh"
    assert lang_of("en") == "en"


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [
        ("/app", "/app"),
        ("/app/repay?mode=by-amount", "/app/repay?mode=by-amount"),
        ("/office/contracts/ln_1", "/office/contracts/ln_1"),  # staff stay in the back office
        ("/office", "/office"),
        ("//evil.example/app", "/app"),
        ("https://evil.example/office", "/app"),
        ("/\\\\evil.example", "/app"),
        ("/office:evil", "/app"),
        ("/docs", "/app"),
        ("", "/app"),
    ],
)
def test_the_language_toggle_returns_to_the_page_it_was_on_and_nowhere_else(asked: str, goes_to: str) -> None:
    assert language_return_path(asked) == goes_to
