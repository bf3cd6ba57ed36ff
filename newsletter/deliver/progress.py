"""A campaign's progress display: rich's Progress on a terminal, nothing at all (and no rich loaded) otherwise."""

from __future__ import annotations

from typing import Any, Protocol


class ProgressView(Protocol):
    """What a run tells its progress display: rich's Progress on a terminal, else nothing at all."""

    def __enter__(self) -> Any: ...

    def __exit__(self, kind: Any, error: Any, traceback: Any, /) -> Any: ...

    def add_task(self, description: str, **fields: Any) -> Any: ...

    def update(self, task_id: Any, **fields: Any) -> None: ...


class NoProgress:
    """A run nobody watches (a pipe, the scheduler, a worker) does not load rich at all."""

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any, /) -> None:
        return None

    def add_task(self, description: str, **fields: Any) -> int:
        return 0

    def update(self, task_id: Any, **fields: Any) -> None:
        return None


def progress_view(show: bool) -> ProgressView:
    if not show:
        return NoProgress()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]:.1f} msg/s · {task.fields[failed]} failed"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
