"""The portal's session policy: 30 idle minutes, 8 hours in all, one touch a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from licensing.sessions import session_expires_at, session_is_live, session_needs_touch

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_session_lives_through_30_idle_minutes_and_not_past_them() -> None:
    assert session_is_live(START, START, START + timedelta(minutes=30))
    assert not session_is_live(START, START, START + timedelta(minutes=30, seconds=1))


def test_a_busy_session_still_ends_after_8_hours() -> None:
    eight_hours = START + timedelta(hours=8)
    assert session_is_live(START, eight_hours - timedelta(minutes=1), eight_hours)
    assert not session_is_live(START, eight_hours, eight_hours + timedelta(seconds=1))
    assert session_expires_at(START) == eight_hours


def test_the_last_seen_time_is_written_at_most_once_a_minute() -> None:
    assert not session_needs_touch(START, START + timedelta(seconds=60))
    assert session_needs_touch(START, START + timedelta(seconds=61))
