"""Events and emails are declared once, and the declarations hold together: every event routed to
the notifier sends an email or is a worker's own, and every template belongs to a declared email."""

from __future__ import annotations

from licensing import catalogue, emails, events
from tests.conftest import ROOT

TEMPLATES = ROOT / "templates" / "email"


def test_every_event_has_an_email_or_is_a_workers_own() -> None:
    with_email = {email.event for email in (*emails.EMAILS, emails.SIGNIN)}
    for event in events.EVENTS:
        assert event in with_email or event in emails.WORKER_EVENTS, f"{event.detail_type} sends nothing"


def test_every_template_belongs_to_a_declared_email_and_each_has_its_three_files() -> None:
    on_disk = {path.name.split(".")[0] for path in TEMPLATES.iterdir() if not path.name.startswith("_")}
    assert on_disk == emails.templates()
    for name in emails.templates():
        for suffix in (".subject.txt", ".txt", ".html"):
            assert (TEMPLATES / f"{name}{suffix}").is_file(), f"{name}{suffix} is missing"


def test_the_queue_routes_exactly_the_declared_events() -> None:
    routed = [detail_type for queue in catalogue.QUEUES for detail_type in queue.detail_types]
    assert sorted(routed) == sorted(event.detail_type for event in events.EVENTS)  # each on one queue
    assert set(catalogue.BULK.detail_types) == {
        "ReleasePublished",
        "ReleaseMail",
        "RemindersDue",
        "LicenseExpired",
    }
    assert len({event.detail_type for event in events.EVENTS}) == len(events.EVENTS)


def test_a_misspelt_event_is_refused_where_it_is_read() -> None:
    import pytest

    with pytest.raises(events.UnknownEvent):
        events.parse("LicenceIssued", {"license_ids": [], "account_id": "a", "product": "p"})
