"""Stable document ids (the ``fileId`` of the wire protocol), kept on the space's volume."""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid


class FileIds:
    def __init__(self, db_path: str) -> None:
        os.makedirs(os.path.dirname(db_path), exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # No fsync on the event loop for each document opened for the first time: WAL
        # commits survive a killed process; a power loss may forget the newest ids, as
        # it may the journal's newest updates without CollabService.journal_fsync.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS file_ids (id TEXT PRIMARY KEY, path TEXT UNIQUE NOT NULL)"
        )

    def get_or_create(self, path: str) -> str:
        with self._lock:
            row = self._db.execute("SELECT id FROM file_ids WHERE path = ?", (path,)).fetchone()
            if row:
                return row[0]
            file_id = str(uuid.uuid4())
            self._db.execute("INSERT INTO file_ids (id, path) VALUES (?, ?)", (file_id, path))
            return file_id

    def path_of(self, file_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT path FROM file_ids WHERE id = ?", (file_id,)).fetchone()
            return row[0] if row else None

    def move(self, old_path: str, new_path: str) -> None:
        with self._lock:
            self._db.execute("UPDATE file_ids SET path = ? WHERE path = ?", (new_path, old_path))

    def close(self) -> None:
        with self._lock:
            self._db.close()
