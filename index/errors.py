"""What can go wrong with the index as a whole (a bad file is an ``IngestError`` instead)."""

from __future__ import annotations

from pathlib import Path

from core.errors import BusyError, StoreError

REBUILD_HINT = "rebuild it with `python -m index build --rebuild`"


class DamagedIndexError(StoreError):
    """A store of the index cannot be read as it should: the message names it and how to rebuild."""

    def __init__(self, what: str, where: Path | str, reason: str, index_dir: Path | None = None) -> None:
        folder = f" (or delete the folder {index_dir} and run `python -m index build`)" if index_dir else ""
        super().__init__(f"the {what} {where} is damaged: {reason}; {REBUILD_HINT}{folder}")
        self.where = str(where)


class IndexBusyError(BusyError):
    """Another process kept the index's writer lock for longer than this one would wait."""
