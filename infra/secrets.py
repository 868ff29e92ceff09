"""The secrets the functions read at run time, never in their environment: only their ARNs are.

Every secret is created once and kept: none has a ``GenerateSecretString``, whose every edit
would replace the value (the real Stripe values, or the key every extension has pinned).

- Stripe webhook signing secret (``{stage}-licensing/stripe-webhook-secret``): created empty; the
  operator puts the ``whsec_...`` value of the webhook endpoint. Until then webhooks fail (5xx,
  Stripe retries for three days) and nothing is issued.
- Stripe API key (``.../stripe-api-key``): created empty; a restricted ``rk_...`` key that may
  read Checkout Sessions and create renewal sessions.
- Response-signing key (``.../signing-key``): the 32-byte Ed25519 seed, 64 hexadecimal characters,
  that signs license answers; its public key is what installed extensions verify with
  (``GET /v1/keys``).
- Token key (``.../token-key``): 64 hexadecimal characters, the HMAC key of download and
  unsubscribe tokens, kept apart from the signing key.

The two keys are generated inside AWS at their creation by a small custom resource
(``infra/secret_seeder``) that fills a secret only while it is empty; an update of the stack never
touches a value. Put a value with ``aws secretsmanager put-secret-value --secret-id NAME
--secret-string VALUE`` (the names and ARNs are stack outputs).

The secrets outlive the stack (RetainExceptOnCreate): kept on deletion and replacement, removed only
when the stack's very first deploy fails and rolls back, so that a retry does not collide with them.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, CfnOutput, CustomResource, Duration, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import constants

ED25519_SEED_HEX_LENGTH = 64
SEEDER_RUNTIME = lambda_.Runtime.PYTHON_3_14
SEEDER_TIMEOUT = Duration.seconds(30)
SEEDER_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
SECRET_REMOVAL_POLICY = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
SEEDER_SOURCE = Path(__file__).parent / "secret_seeder"


class Secrets(Construct):
    """The Stripe webhook signing secret, the Stripe API key, the signing key and the token key."""

    def __init__(self, scope: Construct, construct_id: str, *, name_prefix: str) -> None:
        super().__init__(scope, construct_id)
        self._name_prefix = name_prefix
        self.stripe_webhook_secret = self._secret(
            constants.STRIPE_WEBHOOK_SECRET,
            "stripe-webhook-secret",
            "Stripe webhook signing secret (whsec_...): put the value from Stripe's dashboard.",
        )
        self.stripe_api_key = self._secret(
            constants.STRIPE_API_KEY_SECRET,
            "stripe-api-key",
            "Stripe API key (rk_... or sk_...): put a restricted key.",
        )
        self.signing_key = self._secret(
            constants.SIGNING_KEY_SECRET,
            "signing-key",
            "Ed25519 seed of the license response-signing key, 64 hex characters, generated once.",
        )
        self.token_key = self._secret(
            constants.TOKEN_KEY_SECRET,
            "token-key",
            "HMAC key of download and unsubscribe tokens, 64 hex characters, generated once.",
        )
        self.seeder = self._seeder()
        for secret, construct_id in (
            (self.signing_key, constants.SIGNING_KEY_SECRET),
            (self.token_key, constants.TOKEN_KEY_SECRET),
        ):
            CustomResource(
                self,
                f"{construct_id}{constants.SECRET_SEED}",
                service_token=self.seeder.function_arn,
                resource_type="Custom::SecretSeed",
                properties={"SecretId": secret.secret_arn},
            )

    def _secret(self, construct_id: str, name: str, description: str) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            construct_id,
            secret_name=f"{self._name_prefix}/{name}",
            description=description,
            removal_policy=SECRET_REMOVAL_POLICY,
        )
        # CDK gives every secret a GenerateSecretString unless told a value: this one starts empty.
        resource = secret.node.default_child
        assert isinstance(resource, secretsmanager.CfnSecret)
        resource.add_property_deletion_override("GenerateSecretString")
        Validations.of(secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="Stripe issues the Stripe secrets and the signing key's public half is trusted "
                "by installed extensions: each is rotated by the operator together with its other "
                "side (README: rotating the signing key), which a rotation Lambda cannot reach.",
            )
        )
        CfnOutput(self, f"{construct_id}Name", value=secret.secret_name, description=description)
        CfnOutput(self, f"{construct_id}Arn", value=secret.secret_arn, description=description)
        return secret

    def _seeder(self) -> lambda_.Function:
        role = iam.Role(
            self,
            f"{constants.SECRET_SEEDER}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Fills the generated secrets once, at their creation: nothing else.",
        )
        log_group = logs.LogGroup(self, f"{constants.SECRET_SEEDER}Logs", retention=SEEDER_LOG_RETENTION)
        log_group.grant_write(role)
        role.add_to_policy(
            iam.PolicyStatement(
                # Metadata and a new version; never GetSecretValue: it has no reason to read a key.
                actions=["secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"],
                resources=[self.signing_key.secret_arn, self.token_key.secret_arn],
            )
        )
        function = lambda_.Function(
            self,
            f"{constants.SECRET_SEEDER}Function",
            description="Custom resource: a generated value for an empty secret, once.",
            runtime=SEEDER_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(SEEDER_SOURCE), exclude=["__pycache__", "*.pyc"]),
            handler="handler.lambda_handler",
            timeout=SEEDER_TIMEOUT,
            memory_size=128,
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
        )
        return function
