"""The portal's session policy: how long a signed-in customer stays signed in.

A session ends after 30 idle minutes or 8 hours in all, whichever comes first. It is checked at
every request rather than left to DynamoDB's TTL, which removes expired items only eventually.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# The purpose of a sign-in link's token: the notifier creates it, the portal uses it up.
SIGN_IN_PURPOSE = "signin"
SESSION_IDLE = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=8)
TOUCH_INTERVAL = timedelta(minutes=1)  # at most one write a minute per session


def session_expires_at(created_at: datetime) -> datetime:
    """When a session created at `created_at` ends at the latest (its TTL)."""
    return created_at + SESSION_LIFETIME


def session_is_live(created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
    """Whether a session is still live at `now`: not idle too long, not too old."""
    return now - last_seen_at <= SESSION_IDLE and now - created_at <= SESSION_LIFETIME


def session_needs_touch(last_seen_at: datetime, now: datetime) -> bool:
    """Whether a live session's last-seen time is worth writing again at `now`."""
    return now - last_seen_at > TOUCH_INTERVAL
