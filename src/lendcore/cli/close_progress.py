"""A Rich progress bar for the daily close (``lendcore eod run --progress``): one task per step of the
close (the aggregate step's partitions, the event contracts folded), fed by the close's
``progress(step, done, total)`` callback (:class:`lendcore.batch.close_options.CloseOptions`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from lendcore.batch.close_partitions import Progress as CloseProgress
from lendcore.cli.output import err_console

_LABELS = {"quiet": "quiet contracts (partitions)", "events": "event contracts folded"}


@contextmanager
def close_progress(enabled: bool) -> Iterator[CloseProgress | None]:
    """The callback to pass to the close (``None`` when disabled), drawing on stderr."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(_LABELS.get(step, step), total=total or None)
        bar.update(tasks[step], completed=done, total=total or None)

    with bar:
        yield update
