"""EventBridge publisher: domain events on the bus, for the queue-fed workers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..catalogue import EVENT_SOURCE
from ..errors import TransientError
from ..events import Event
from .aws import client, translate

_BATCH = 10  # PutEvents takes at most ten entries


class EventBridgePublisher:
    def __init__(self, bus_name: str, events: Any | None = None) -> None:
        self.bus_name = bus_name
        self._client = events

    def publish(self, events: Sequence[Event]) -> None:
        """Put every event on the bus; raises TransientError if any entry was refused."""
        events_client = self._client or client("events")
        for start in range(0, len(events), _BATCH):
            entries = [
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": event.detail_type,
                    "Detail": json.dumps(event.detail, default=str),
                    "EventBusName": self.bus_name,
                }
                for event in events[start : start + _BATCH]
            ]
            try:
                answer = events_client.put_events(Entries=entries)
            except ClientError as error:
                raise translate(error, "publish events") from error
            if answer.get("FailedEntryCount"):
                raise TransientError("publish events: EventBridge refused some entries")
