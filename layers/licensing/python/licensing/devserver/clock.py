"""`/_dev/clock`: the local system's calendar (API.md section 5). `POST {"today": "YYYY-MM-DD"}`
moves the whole system to that day (validation, the portal, renewals, the daily job), `DELETE`
returns it to the real day, `GET` tells which day it is. Every move runs the daily job for the new
day at once, as the schedule would have, so that reminders and expiry catch up."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from werkzeug import Request, Response

from .. import dates

JOB = "lifecycle_job"


class DevClock:
    def __init__(self, invoke: Callable[[str, dict[str, Any]], Any]) -> None:
        self.invoke = invoke

    def state(self) -> dict[str, Any]:
        return {"today": dates.today().isoformat(), "moved": dates.local_day_moved()}

    def move(self, day: date | None) -> dict[str, Any]:
        """Move the clock (None: back to the real day) and run the daily job for the new day."""
        dates.set_local_day(day)
        report = self.invoke(JOB, {"today": dates.today().isoformat()})
        return self.state() | {"job": report}

    def view(self, request: Request) -> Response:
        if request.method == "GET":
            return _json(200, self.state())
        if request.method == "DELETE":
            return _json(200, self.move(None))
        if request.method != "POST":
            return _error(405, "METHOD_NOT_ALLOWED", "Use GET, POST or DELETE.")
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
            day = date.fromisoformat(str(body["today"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            return _error(400, "INVALID_INPUT", 'Send {"today": "YYYY-MM-DD"}.')
        return _json(200, self.move(day))


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json(status, {"error": {"code": code, "message": message, "details": []}})
