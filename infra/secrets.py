"""The secrets the functions read at run time, never in their environment: only their ARNs are.

Each secret is created with a generated value so that a first deploy succeeds; the operator
then puts the real value in place (``aws secretsmanager put-secret-value --secret-id ARN
--secret-string VALUE``, the ARNs are stack outputs):

- Stripe webhook signing secret: the ``whsec_...`` value of the webhook endpoint in Stripe's
  dashboard. Until it is set, every webhook is refused as badly signed (nothing is issued).
- Stripe API key: a restricted ``rk_...`` (or secret ``sk_...``) key that may read Checkout
  Sessions and create renewal sessions. Until it is set, Stripe calls fail.
- Response-signing key: 64 hexadecimal characters, the 32-byte seed of the Ed25519 key that signs
  license answers. The generated value already is one, so it works unchanged; replacing it
  changes the public key that installed extensions verify with (``GET /v1/keys``).

The secrets are retained when the stack is deleted: the signing key in particular cannot be
recreated, and extensions in the field trust its public key.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnOutput, RemovalPolicy, Validations
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import constants

ED25519_SEED_HEX_LENGTH = 64
_NOT_HEX = "ghijklmnopqrstuvwxyz"


class Secrets(Construct):
    """The Stripe webhook signing secret, the Stripe API key and the Ed25519 signing key."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.stripe_webhook_secret = self._secret(
            constants.STRIPE_WEBHOOK_SECRET,
            "Stripe webhook signing secret (whsec_...): replace the generated placeholder.",
            secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=40),
        )
        self.stripe_api_key = self._secret(
            constants.STRIPE_API_KEY_SECRET,
            "Stripe API key (rk_... or sk_...): replace the generated placeholder.",
            secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=40),
        )
        self.signing_key = self._secret(
            constants.SIGNING_KEY_SECRET,
            "Ed25519 seed of the license response-signing key, 64 hex characters.",
            # Lowercase hexadecimal only, every character equally likely: a uniform 256-bit seed.
            secretsmanager.SecretStringGenerator(
                password_length=ED25519_SEED_HEX_LENGTH,
                exclude_punctuation=True,
                exclude_uppercase=True,
                exclude_characters=_NOT_HEX,
                include_space=False,
                require_each_included_type=False,
            ),
        )

    def _secret(
        self, construct_id: str, description: str, generator: secretsmanager.SecretStringGenerator
    ) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            construct_id,
            description=description,
            generate_secret_string=generator,
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="Stripe issues the Stripe secrets and the signing key's public half is trusted "
                "by installed extensions: each is rotated by the operator together with its other "
                "side, which a rotation Lambda cannot reach.",
            )
        )
        CfnOutput(self, f"{construct_id}Arn", value=secret.secret_arn, description=description)
        return secret
