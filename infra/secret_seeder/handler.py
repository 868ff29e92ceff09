"""CloudFormation custom resource: give an empty secret a generated value, once.

Create and Update: a secret without a current value gets 32 random bytes as 64 hexadecimal
characters (an Ed25519 seed, or an HMAC key); a secret that has a value keeps it, whatever the
template says. Delete: nothing, the secret outlives the stack by its own policy. So no edit of
the template can replace a key that installed extensions trust, unlike ``GenerateSecretString``.

Standard library and the runtime's boto3 only; the secret's value is never logged or answered.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from typing import Any

SEED_BYTES = 32
CURRENT = "AWSCURRENT"


def has_value(client: Any, secret_id: str) -> bool:
    """Whether the secret has a current version (reads its metadata, never its value)."""
    versions = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    return any(CURRENT in stages for stages in versions.values())


def seed(client: Any, secret_id: str, request_token: str) -> bool:
    """Put a generated value into the secret unless it has one; True when it was put."""
    if has_value(client, secret_id):
        return False
    # The request's own token makes a retried request put the same version, not a second one.
    client.put_secret_value(
        SecretId=secret_id, SecretString=secrets.token_hex(SEED_BYTES), ClientRequestToken=request_token
    )
    return True


def respond(event: dict[str, Any], status: str, reason: str, physical_id: str) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason,
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": True,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (CloudFormation's presigned https URL)
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        answer.read()


def lambda_handler(event: dict[str, Any], context: Any, client: Any = None) -> None:
    secret_id = str(event.get("ResourceProperties", {}).get("SecretId", ""))
    physical_id = str(event.get("PhysicalResourceId") or secret_id or "unknown")
    status, reason = "SUCCESS", ""
    try:
        if event["RequestType"] in ("Create", "Update"):
            if client is None:
                import boto3

                client = boto3.client("secretsmanager")
            # A request token is 32 to 64 characters: CloudFormation's request id is 36.
            seed(client, secret_id, event["RequestId"])
    except Exception as error:  # CloudFormation waits an hour for an answer that never comes
        status, reason = "FAILED", f"{type(error).__name__} seeding {secret_id}"
        print(json.dumps({"level": "ERROR", "message": reason}))
    respond(event, status, reason, physical_id)
