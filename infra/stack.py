"""The one stack of the license manager: it composes the constructs and nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra import constants
from infra.api import Api
from infra.functions import Backends, Functions, LayerAssets
from infra.messaging import Messaging
from infra.secrets import Secrets
from infra.storage import Storage
from licensing import catalogue

S3_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


@dataclass(frozen=True)
class LicensingConfig:
    """What a deployment decides; the functions and queues come from the catalogue."""

    sender_email: str
    vendor_name: str
    source_root: Path
    layers: LayerAssets
    functions: Sequence[catalogue.Function] = catalogue.FUNCTIONS
    queues: Sequence[catalogue.Queue] = catalogue.QUEUES

    def __post_init__(self) -> None:
        local, _, domain = self.sender_email.partition("@")
        if not local or not domain or " " in self.sender_email:
            raise ValueError(f"the sender email must be an address (an SES identity): {self.sender_email!r}")


class LicensingStack(Stack):
    """Storage, messaging, secrets, the HTTP API and the catalogue's functions."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: LicensingConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Access logs are delivered under a bucket policy rather than an ACL, so every bucket can
        # keep ACLs disabled (BucketOwnerEnforced).
        self.node.set_context(S3_LOGS_USE_BUCKET_POLICY, True)
        storage = Storage(self, constants.STORAGE)
        messaging = Messaging(self, constants.MESSAGING, queues=config.queues)
        secrets = Secrets(self, constants.SECRETS)
        api = Api(self, constants.API)
        functions = Functions(
            self,
            constants.FUNCTIONS,
            specs=config.functions,
            source_root=config.source_root,
            layers=config.layers,
            backends=Backends(
                table=storage.table,
                release_bucket=storage.release_bucket,
                bus=messaging.bus,
                queues=messaging.queues,
                secrets=secrets,
                sender_email=config.sender_email,
                vendor_name=config.vendor_name,
                public_base_url=api.url,
            ),
        )
        api.add_routes(config.functions, functions.functions)
        CfnOutput(self, constants.API_URL_OUTPUT, value=api.url, description="The API's base URL.")
        # The staff CLI finds the resources of the stack through these outputs.
        CfnOutput(self, catalogue.OUTPUT_TABLE, value=storage.table.table_name, description="The table.")
        CfnOutput(
            self,
            catalogue.OUTPUT_RELEASE_BUCKET,
            value=storage.release_bucket.bucket_name,
            description="The release files.",
        )
        CfnOutput(
            self, catalogue.OUTPUT_EVENT_BUS, value=messaging.bus.event_bus_name, description="The bus."
        )
