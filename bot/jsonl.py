"""Read JSON Lines input files with errors that name the file and line."""

import json
from pathlib import Path
from typing import Dict, Iterator, Sequence, Union


class InputFileError(ValueError):
    """An input file is missing, unreadable or has a malformed line."""


def read_records(path: Union[str, Path], required: Sequence[str]) -> Iterator[Dict]:
    """Yield one dict per non-blank line; each must be a JSON object with the required string keys."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{path}:{number}: not valid JSON: {exc.msg}") from exc
        if not isinstance(record, dict):
            raise InputFileError(f"{path}:{number}: expected a JSON object")
        for key in required:
            if not isinstance(record.get(key), str):
                raise InputFileError(f"{path}:{number}: missing string field {key!r}")
        yield record
