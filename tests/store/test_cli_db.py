"""``lendcore db url`` and ``lendcore db upgrade``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.core.errors import ValidationError
from lendcore.store.migrate import current_revision, head_revision, upgrade_database
from lendcore.store.settings import DATABASE_URL_ENV

runner = CliRunner()


def test_db_url_masks_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://app:s3cret@db:5432/lendcore")
    result = runner.invoke(app, ["db", "url"])
    assert result.exit_code == 0
    assert result.output.strip() == "postgresql+psycopg://app:***@db:5432/lendcore"


def test_db_upgrade_creates_the_schema_and_can_run_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    for _ in range(2):
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert f"revision {head_revision()}" in result.output
    assert current_revision(url) == head_revision()


def test_db_commands_reject_an_unsupported_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, "mysql://u@h/db")
    result = runner.invoke(app, ["db", "url"])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("revision", "code"),
    [("bogus", "UNKNOWN_REVISION"), ("+1", "INVALID_REVISION"), ("", "INVALID_REVISION")],
)
def test_an_unknown_revision_is_one_line_and_leaves_the_schema_as_it_was(
    database_url: str, monkeypatch: pytest.MonkeyPatch, revision: str, code: str
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, database_url)
    result = runner.invoke(app, ["db", "upgrade", "--revision", revision])
    assert result.exit_code == 2
    assert result.stderr.endswith(f"[{code}]\n") and result.stderr.count("\n") == 1
    assert current_revision(database_url) == head_revision()


def test_an_unknown_revision_is_a_validation_error_before_anything_runs(empty_database_url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        upgrade_database(empty_database_url, "bogus")
    assert caught.value.code == "UNKNOWN_REVISION"
    assert "0001" in caught.value.message  # the shipped revisions are named
    assert current_revision(empty_database_url) is None
