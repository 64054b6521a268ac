"""Which SQLite errors are about the database file itself (damaged, or unusable where it is).

Both SQLite stores (the index catalog, the chat store) turn these into product errors that name
the file; any other SQLite error is a bug in a query and keeps its traceback.
"""

from __future__ import annotations

import sqlite3
from typing import Literal

# SQLite's primary result codes: a file that is not (or no longer) a database ...
_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
# ... and one that cannot be opened or written where it is (permissions, a full disk, I/O).
_UNUSABLE = (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)


def file_problem(exc: sqlite3.Error) -> Literal["damaged", "unusable"] | None:
    """``damaged``, ``unusable`` or None (not about the file) for a SQLite error."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # extended codes carry the primary one
    if code in _DAMAGED:
        return "damaged"
    if code in _UNUSABLE:
        return "unusable"
    return None
