"""Logging that never carries a young person's address or user agent (SAFETY S-15).

uvicorn logs client addresses on ``uvicorn.error`` at INFO ("… - WebSocket /ws/youth [accepted]")
even with the access log off, so that logger is held at WARNING and the access log is off.
"""

from __future__ import annotations

from typing import Any


def logging_config(level: str = "INFO") -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "app": {"level": level, "handlers": ["stderr"], "propagate": False},
            "uvicorn": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
            "uvicorn.error": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
            "uvicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
            "sqlalchemy": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
    }
