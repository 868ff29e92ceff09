"""Signing in to the portal as a customer does (API.md section 3): back to the page that needed the
session (`next`, never an open redirect), an honest answer to a second request within two minutes,
and the same work whether or not the address is a customer's."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.events import EventBridgePublisher
from licensing.dates import utc_now
from licensing.devserver.mailbox import Mailbox
from licensing.devserver.resources import LOCAL
from licensing.errors import TransientError
from licensing.services import portal as portal_service
from licensing.sessions import SIGN_IN_PURPOSE
from tests.integration.test_portal import CSRF, TOKEN, Portal, page_text


@pytest.fixture
def portal(aws: dict[str, Any], gateway_url: str) -> Portal:
    return Portal(aws, gateway_url)


def queued_sign_ins(portal: Portal) -> list[str]:
    answer = boto3.client("sqs").receive_message(
        QueueUrl=portal.aws["queues"]["transactional"], MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    return [message["Body"] for message in answer.get("Messages", []) if "SignInRequested" in message["Body"]]


def test_a_renew_link_returns_to_the_renewal_page_after_signing_in(portal: Portal) -> None:
    renew = f"/portal/licenses/{portal.license.id}/renew"
    login = portal.get(renew)
    assert login.url.endswith("/portal/login?next=%2Fportal%2Flicenses%2F" + portal.license.id + "%2Frenew")
    assert f'name="next" value="{renew}"' in login.text and "return to the page you asked for" in login.text
    portal.post(
        "/portal/login", {"email": "bea@acme.test", "csrf": CSRF.findall(login.text)[0], "next": renew}
    )
    portal.deliver_mail()
    (mail,) = Mailbox().messages()
    assert "next=%2Fportal%2Flicenses%2F" in mail["text"]
    link = mail["text"].split("/portal/auth?", 1)[1].split()[0]
    button = portal.get(f"/portal/auth?{link}")
    token = TOKEN.findall(mail["text"])[0]
    landed = portal.post(
        "/portal/auth", {"token": token, "csrf": CSRF.findall(button.text)[0], "next": renew}
    )
    assert landed.status_code == 200 and landed.url.endswith(renew)
    assert "Renew your license" in landed.text


@pytest.mark.parametrize(
    "bad",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/portal/",
        "/portal/../x",
        "/portal/%2e%2e/x",
        "/portal//evil.example",
        "/unsubscribe",
        "javascript:alert(1)",
    ],
)
def test_next_never_leaves_the_portal(portal: Portal, bad: str) -> None:
    login = portal.get("/portal/login", params={"next": bad})
    assert 'name="next"' not in login.text
    token = portal.store.create_token(
        "bea@acme.test", purpose=SIGN_IN_PURPOSE, lifetime=timedelta(minutes=15)
    )
    button = portal.get("/portal/auth", params={"token": token, "next": bad})
    assert 'name="next"' not in button.text
    landed = portal.post(
        "/portal/auth",
        {"token": token, "csrf": CSRF.findall(button.text)[0], "next": bad},
        allow_redirects=False,
    )
    assert landed.status_code == 303 and landed.headers["Location"] == "/portal/"


def test_a_second_request_within_two_minutes_says_the_last_link_is_still_valid(portal: Portal) -> None:
    page = portal.get("/portal/login")
    csrf = CSRF.findall(page.text)[0]
    first = portal.post("/portal/login", {"email": "bea@acme.test", "csrf": csrf})
    again = portal.post("/portal/login", {"email": "bea@acme.test", "csrf": csrf})
    assert "is on its way" in first.text and "less than two minutes ago" not in first.text
    assert "less than two minutes ago" in again.text and "still valid" in again.text
    assert "ask for a new link" not in again.text  # no "try again" that would do nothing
    stranger = portal.post("/portal/login", {"email": "nobody@nowhere.test", "csrf": csrf})
    stranger_again = portal.post("/portal/login", {"email": "nobody@nowhere.test", "csrf": csrf})
    # The same answers for an address that is no customer's: nothing to learn from them.
    assert page_text(first, "bea@acme.test") == page_text(stranger, "nobody@nowhere.test")
    assert page_text(again, "bea@acme.test") == page_text(stranger_again, "nobody@nowhere.test")
    portal.deliver_mail()
    assert [m["to"] for m in Mailbox().messages()] == [["bea@acme.test"]]


def test_the_request_does_the_same_work_for_known_and_unknown_addresses(portal: Portal) -> None:
    page = portal.get("/portal/login")
    csrf = CSRF.findall(page.text)[0]
    portal.post("/portal/login", {"email": "bea@acme.test", "csrf": csrf})
    portal.post("/portal/login", {"email": "nobody@nowhere.test", "csrf": csrf})
    # Both requests are handed on to the notifier; it alone knows who is a customer.
    handed_on = queued_sign_ins(portal)
    assert len(handed_on) == 2
    assert any("nobody@nowhere.test" in body for body in handed_on)
    portal.deliver_mail()
    assert [m["to"] for m in Mailbox().messages()] == [["bea@acme.test"]]


class RefusingOnce:
    """The real publisher behind an EventBridge that refuses the first PutEvents (throttled)."""

    def __init__(self) -> None:
        self.real = EventBridgePublisher(LOCAL.bus)
        self.refusals = 1

    def publish(self, events: list[Any]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise TransientError("publish events: throttled; retry")
        self.real.publish(events)


def test_a_sign_in_request_not_handed_on_is_handed_on_at_the_customers_retry(aws: dict[str, Any]) -> None:
    store, publisher, now = DynamoStore(aws["names"].table), RefusingOnce(), utc_now()
    with pytest.raises(TransientError):  # the portal answers 503: try again
        portal_service.request_sign_in(store, publisher, "bea@acme.test", now=now)
    # Not "a link was sent recently": nothing was. The retry hands it on, once.
    assert portal_service.request_sign_in(store, publisher, "bea@acme.test", now=now) is True
    assert portal_service.request_sign_in(store, publisher, "bea@acme.test", now=now) is False
    answer = boto3.client("sqs").receive_message(
        QueueUrl=aws["queues"]["transactional"], MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    assert sum("SignInRequested" in message["Body"] for message in answer.get("Messages", [])) == 1


def test_a_link_whose_session_could_not_be_written_still_signs_in_at_the_retry(aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["names"].table)
    link = store.create_token("bea@acme.test", purpose=SIGN_IN_PURPOSE, lifetime=timedelta(minutes=15))
    refusals = [{"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}]

    def throttled(**_: Any) -> tuple[Any, dict[str, Any]] | None:  # DynamoDB refusing the write once
        return (SimpleNamespace(status_code=400), refusals.pop()) if refusals else None

    store.dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", throttled)
    with pytest.raises(TransientError):  # a 503: try again
        portal_service.sign_in(store, link)
    session = portal_service.sign_in(store, link)  # the link was not used up by the failure
    assert session is not None and store.get_session(session).email == "bea@acme.test"  # type: ignore[union-attr]
    assert portal_service.sign_in(store, link) is None  # and is single-use still
