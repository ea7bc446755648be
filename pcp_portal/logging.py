"""Log formatting: one JSON object per line on stdout, and no line a user can forge.

Values that come from users (a username typed at log-in, a search string) may hold CR or LF;
written raw they would start a fake log line. JsonFormatter's output is JSON-encoded, which
escapes them; EscapingFormatter (the plain alternative, LOG_FORMAT=plain) escapes them itself.
"""

from __future__ import annotations

import datetime
import json
import logging

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def escape_line_breaks(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # json.dumps escapes CR, LF and every control character: one record, one line.
        return json.dumps(entry, ensure_ascii=False, default=str)


class EscapingFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        # The message (with the user's values in it) is escaped; a traceback appended after it
        # is the program's own text and keeps its lines.
        record.message = escape_line_breaks(record.message)
        return super().formatMessage(record)
