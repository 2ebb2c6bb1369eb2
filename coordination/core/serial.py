"""One JSON encoder for everything crossforce prints or exports as JSON.

Services return pydantic/SQLModel models and frozen dataclasses; :func:`jsonable` turns any of
them (and dates, times, paths, sets and tuples inside them) into plain JSON values, so no type needs
a hand-written ``to_dict``. Two conventions shape a dataclass's JSON where its fields alone would
not: ``field(metadata={"json": False})`` leaves a field out, and a ``json_extra()`` method returns
derived values (a message, a rounded figure, a property) merged over the fields.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import PurePath
from typing import Any

__all__ = ["dumps", "jsonable"]


def jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON values (dict, list, str, int, float, bool, None).

    Parameters
    ----------
    value
        A model, dataclass, mapping, sequence, date/datetime (ISO 8601; aware datetimes in UTC),
        path, enum or plain value.

    Returns
    -------
    Any
        The same data as JSON values.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {
            f.name: jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("json", True)
        }
        extra = getattr(value, "json_extra", None)
        if callable(extra):
            out.update({k: jsonable(v) for k, v in extra().items()})
        return out
    if hasattr(value, "_asdict"):  # a NamedTuple
        return jsonable(value._asdict())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [jsonable(v) for v in items]
    raise TypeError(f"cannot turn {type(value).__name__} into JSON")


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """Return ``value`` as JSON text (UTF-8 characters kept, not escaped)."""
    return json.dumps(jsonable(value), indent=indent, ensure_ascii=False)
