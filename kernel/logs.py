"""Logging: plain text for people, JSON lines for log collectors (`VILA_LOG_JSON=true`).

Pipeline code passes `extra={"message_id": ...}`; the JSON formatter puts it, and the request id,
on the line so an operator can follow one message through every process.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from kernel.settings import Settings

_EXTRA = ("message_id", "request_id", "job_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in _EXTRA:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = str(value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO: a linked calendar's URL may carry its secret.
    logging.getLogger("httpx").setLevel(logging.WARNING)
