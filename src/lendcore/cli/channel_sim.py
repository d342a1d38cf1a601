"""``lendcore channel-sim``: the payment-channel simulator as an HTTP service on loopback.

    lendcore channel-sim --port 8765 --seed 7 --faults "lost_callback=0.2,late_success=0.1" \\
        --callback-url http://127.0.0.1:8000/channel/callbacks --secret s3cret

Deterministic given ``--seed`` and the sequence of requests; the fault spec is documented in
``lendcore.payments.sim.faults`` and docs/payments.md. Callbacks are signed with every ``--secret``
(two during a rotation). ``GET /health`` answers once it is ready.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import typer

from lendcore.cli import database
from lendcore.core.errors import ValidationError

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()


def _check_callback_url(url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"--callback-url {url!r} is not an http(s) URL", code="CALLBACK_URL_INVALID")


@commands.command("channel-sim")
def channel_sim(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8765,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=2**63 - 1, help="Seed of every random choice.")
    ] = 0,
    faults: Annotated[
        str, typer.Option("--faults", help="Fault spec: name=value,… (docs/payments.md).")
    ] = "",
    callback_url: Annotated[
        str | None,
        typer.Option("--callback-url", help="Where to send callbacks (when an instruction names none)."),
    ] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option("--secret", help="Callback signing secret (repeat to sign with several)."),
    ] = None,
) -> None:
    """Run the payment-channel simulator (asynchronous, with seeded faults) until interrupted."""

    def prepare() -> tuple[object, list[str]]:
        from lendcore.payments.sim.engine import ChannelSimulation
        from lendcore.payments.sim.faults import parse_faults

        spec = parse_faults(faults)
        _check_callback_url(callback_url)
        secrets = [s for s in (secret or []) if s]
        if secret and len(secrets) != len(secret):
            raise ValidationError("--secret must not be empty", code="INVALID_SECRET")
        return ChannelSimulation(seed=seed, faults=spec), secrets

    simulation, secrets = database.run(prepare)
    import uvicorn

    from lendcore.payments.sim.app import create_app
    from lendcore.payments.sim.engine import ChannelSimulation

    assert isinstance(simulation, ChannelSimulation)
    web = create_app(simulation, secrets=secrets, callback_url=callback_url)
    typer.echo(f"channel simulator on http://{host}:{port} (seed {seed}, faults {faults or 'none'})")
    uvicorn.run(web, host=host, port=port, log_level="warning", timeout_graceful_shutdown=1)
