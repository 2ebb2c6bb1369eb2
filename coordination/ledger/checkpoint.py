"""Checkpoints of the audit log's head, kept outside the database.

A hash chain alone cannot show that events were cut from its *end*: the shorter chain is valid.
So after every commit that appended events, the head of the log (the last event's id, hash and
seal) is written to a small file in the data directory, itself sealed with the audit key, and
``crossforce audit verify`` compares the database with it: fewer events than the checkpoint, or
another event under the checkpoint's id, means the log was truncated or rewritten. ``audit verify``
also appends each checkpoint to a history file, and with ``CROSSFORCE_AUDIT_SYSLOG`` every
checkpoint goes to the system log as well, out of reach of the database and the data directory.

One file per database (named by a hash of its URL without the password); several processes
write it under a file lock, and a checkpoint only ever moves forward.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import logging.handlers
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession

from coordination.core.clock import utcnow
from coordination.core.settings import Settings, get_settings
from coordination.ledger.chain import HEAD_KEY, key_id

__all__ = ["Head", "head_path", "read_head", "record_checkpoint", "write_head"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Head:
    """The last event of the log as a checkpoint saw it."""

    id: int
    hash: str
    seal: str
    at: str
    #: True when the checkpoint's own seal matches (a forged or edited file is reported).
    authentic: bool = True


def _database_name(bind: sa.engine.Engine | sa.engine.Connection) -> str:
    url = bind.engine.url.render_as_string(hide_password=True)
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def head_path(settings: Settings, bind: sa.engine.Engine | sa.engine.Connection) -> Path:
    """Where the checkpoint of this database's audit log lives."""
    return settings.audit_dir / f"head-{_database_name(bind)}.json"


def _mac(key: str, data: dict[str, Any]) -> str:
    text = f"checkpoint:{data['id']}:{data['hash']}:{data['seal']}:{data['at']}"
    return hmac.new(key.encode("utf-8"), text.encode("utf-8"), "sha256").hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(path: Path, keys: list[str]) -> Head | None:
    try:
        data = json.loads(path.read_text())
        fields = {k: data[k] for k in ("id", "hash", "seal", "at")}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    authentic = any(hmac.compare_digest(_mac(k, fields), str(data.get("mac", ""))) for k in keys)
    return Head(
        int(fields["id"]), str(fields["hash"]), str(fields["seal"]), str(fields["at"]), authentic
    )


def read_head(settings: Settings, bind: sa.engine.Engine | sa.engine.Connection) -> Head | None:
    """Return the last checkpoint of this database's log, or ``None`` if there is none."""
    return _read(head_path(settings, bind), settings.audit_keys)


def write_head(
    settings: Settings,
    bind: sa.engine.Engine | sa.engine.Connection,
    *,
    event_id: int,
    chain_hash: str,
    seal: str,
) -> bool:
    """Move the checkpoint forward to ``event_id``; return whether it moved.

    Written atomically (a temporary file, then a rename) under a file lock, and only when the
    event is later than the one already there, so parallel writers never move it back.
    """
    path = head_path(settings, bind)
    key = settings.audit_keys[0]
    with _locked(path):
        current = _read(path, settings.audit_keys)
        if current is not None and current.id >= event_id:
            return False
        data: dict[str, Any] = {
            "id": event_id,
            "hash": chain_hash,
            "seal": seal,
            "at": utcnow().isoformat(),
        }
        data["mac"] = _mac(key, data)
        data["key_id"] = key_id(key)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(data, sort_keys=True))
        os.replace(temporary, path)
    if settings.audit_syslog:
        _to_syslog(data)
    return True


def record_checkpoint(
    settings: Settings, bind: sa.engine.Engine | sa.engine.Connection, head: Head
) -> Path:
    """Append a verified head to the checkpoint history (``audit verify`` does this)."""
    path = head_path(settings, bind).with_suffix(".log")
    line = {
        "id": head.id,
        "hash": head.hash,
        "seal": head.seal,
        "verified_at": utcnow().isoformat(),
    }
    with _locked(path), open(path, "a") as history:
        history.write(json.dumps(line, sort_keys=True) + "\n")
    return path


def _to_syslog(data: dict[str, Any]) -> None:
    try:
        handler = logging.handlers.SysLogHandler(address="/dev/log")
    except OSError:  # no local syslog here: the file checkpoint still stands
        log.warning("CROSSFORCE_AUDIT_SYSLOG is set but /dev/log is not available")
        return
    record = logging.makeLogRecord(
        {"msg": "crossforce audit head %s %s", "args": (data["id"], data["hash"]), "levelno": 20}
    )
    try:
        handler.emit(record)
    finally:
        handler.close()


def _after_commit(session: OrmSession) -> None:
    head = session.info.pop(HEAD_KEY, None)
    if head is None:
        return
    event_id, chain_hash, seal = head
    bind = session.get_bind()
    try:
        write_head(get_settings(), bind, event_id=event_id, chain_hash=chain_hash, seal=seal)
    except OSError:
        # The events are committed; a checkpoint that cannot be written weakens only the tail
        # check, which the next commit or `audit verify` restores. Say so, without details.
        log.warning("could not write the audit checkpoint for event %s", event_id)


def _after_rollback(session: OrmSession) -> None:
    session.info.pop(HEAD_KEY, None)


sa_event.listen(OrmSession, "after_commit", _after_commit)
sa_event.listen(OrmSession, "after_rollback", _after_rollback)
