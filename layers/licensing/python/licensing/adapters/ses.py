"""SES mailer: sends a rendered message as Raw MIME (HTML and text parts, our own headers)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..mail import Message, to_mime
from ..services.pacing import Throttled
from .aws import error_code, sending_client, translate

# SES's answers to a sender that is too fast: v2's TooManyRequestsException (429), the
# ThrottlingException its guide names ("Maximum sending rate exceeded"), v1's Throttling.
THROTTLING = frozenset({"TooManyRequestsException", "ThrottlingException", "Throttling"})


class SesMailer:
    def __init__(self, sender: str, sesv2: Any | None = None) -> None:
        self.sender = sender
        self._client = sesv2

    def send(self, message: Message) -> str:
        """Send one message; returns SES's message id. Transient failures raise TransientError."""
        ses = self._client or sending_client("sesv2")
        raw = to_mime(message, sender=self.sender)
        try:
            answer = ses.send_email(
                FromEmailAddress=self.sender,
                Destination={"ToAddresses": list(message.to)},
                Content={"Raw": {"Data": raw}},
            )
        except ClientError as error:
            if error_code(error) in THROTTLING:
                raise Throttled("send email: SES asks us to slow down") from error
            raise translate(error, "send email") from error
        return str(answer.get("MessageId", ""))
