"""Load any model artefact by its ``format``: a scorecard (``lendcore.scorecard/1``) or an EBM
(``lendcore.ebm/1``). Request path: standard library only.

A directory is resolved to the artefact file it holds (``scorecard.json`` or ``ebm.json``;
``risk train`` writes exactly one of them). Errors keep the scorecard's stable codes for what both
families share (``SCORECARD_NOT_FOUND``, ``SCORECARD_MALFORMED``, ``SCORECARD_UNSUPPORTED_FORMAT``),
so a client that handled them before still does; the EBM's own faults carry ``EBM_*`` codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from lendcore.core.errors import ConfigurationError
from lendcore.risk import ebm, ebm_artefact, scorecard
from lendcore.risk.ebm import EbmModel
from lendcore.risk.scorecard import Scorecard

Model = Scorecard | EbmModel

#: Artefact file name per format, in the order a directory is searched.
ARTEFACT_FILES: Final = {scorecard.FORMAT_ID: "scorecard.json", ebm.FORMAT_ID: ebm.ARTEFACT_FILE}


def artefact_path(path: str | Path) -> Path:
    """The artefact file of ``path`` (itself, or the one file a model directory holds)."""
    p = Path(path)
    if not p.is_dir():
        return p
    found = [p / name for name in ARTEFACT_FILES.values() if (p / name).is_file()]
    if len(found) > 1:
        raise ConfigurationError(
            f"{p} holds more than one model artefact ({', '.join(f.name for f in found)}): name the file",
            code="MODEL_AMBIGUOUS",
            path=str(p),
        )
    return found[0] if found else p / "scorecard.json"


def parse_model(data: object) -> Model:
    """Validate a decoded artefact of either family (dispatch on ``format``)."""
    fmt = data.get("format") if isinstance(data, dict) else None
    if fmt == ebm.FORMAT_ID:
        return ebm_artefact.parse_ebm(data)
    if fmt == scorecard.FORMAT_ID:
        return scorecard.parse_scorecard(data)
    raise ConfigurationError(
        f"unsupported model format {fmt!r} (expected one of {', '.join(map(repr, ARTEFACT_FILES))})",
        code=scorecard.E_UNSUPPORTED_FORMAT,
        format=fmt,
    )


def load_model(path: str | Path) -> Model:
    """Load and validate the model artefact at ``path`` (a file, or a directory holding one)."""
    p = artefact_path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"model artefact not found: {p}", code=scorecard.E_NOT_FOUND, path=str(p)
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"cannot read model artefact {p}: {exc}", code=scorecard.E_MALFORMED
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"model artefact is not valid JSON: {exc}", code=scorecard.E_MALFORMED
        ) from exc
    return parse_model(data)
