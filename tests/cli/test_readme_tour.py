"""The README's command tour is a script, and it runs: the block after the ``<!-- tour: … -->`` marker
is extracted from README.md and run with bash (``-euo pipefail``: every command must succeed) on a
fresh SQLite database, so the tour cannot drift from the commands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- tour:"


def tour_script() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme[readme.index(MARKER) :]
    block = re.search(r"```sh\n(.*?)```", after, re.S)
    assert block is not None, "the tour marker is not followed by a ```sh block"
    return block.group(1)


def test_the_readme_tour_runs_and_shows_a_close_with_accrual_and_an_overdue_loan(tmp_path: Path) -> None:
    lendcore = Path(sys.executable).parent / "lendcore"
    if shutil.which("bash") is None or not lendcore.exists():  # pragma: no cover - CI has both
        pytest.skip("needs bash and the installed lendcore command")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENDCORE_")}
    env |= {"L": str(lendcore), "TMPDIR": str(tmp_path), "COLUMNS": "200"}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", tour_script()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "approved" in out
    # the close of 2026-04-10 caught up the 40 days since the drawdown, one close each, and shows
    # the accrual and the loan that fell due on 04-01
    assert "caught up 40 unclosed day(s) 2026-03-01 … 2026-04-09, one close each: interest ¥10.85" in out
    assert "close of 2026-04-10: succeeded" in out and "overdue 1 {'M1': 1}" in out
    assert "DPD 9 M1 special-mention" in out
    assert "open business date: 2026-04-11" in out
    assert ") reversed" in out and '"balanced": true' in out
    assert "error:" not in done.stderr
    assert not (ROOT / "tour.db").exists()
