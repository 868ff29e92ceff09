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
    """Sends from `sender`, through `configuration_set` when one is given: its event destination
    reports bounces and complaints whichever identity (the address or its domain) authorizes the
    send, and it is the set that the send's IAM grant names."""

    def __init__(
        self, sender: str, sesv2: Any | None = None, *, configuration_set: str | None = None
    ) -> None:
        self.sender = sender
        self._client = sesv2
        self.configuration_set = configuration_set

    def send(self, message: Message) -> str:
        """Send one message; returns SES's message id. Transient failures raise TransientError."""
        ses = self._client or sending_client("sesv2")
        raw = to_mime(message, sender=self.sender)
        arguments: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": list(message.to)},
            "Content": {"Raw": {"Data": raw}},
        }
        if self.configuration_set:
            arguments["ConfigurationSetName"] = self.configuration_set
        try:
            answer = ses.send_email(**arguments)
        except ClientError as error:
            if error_code(error) in THROTTLING:
                raise Throttled("send email: SES asks us to slow down") from error
            raise translate(error, "send email") from error
        return str(answer.get("MessageId", ""))
