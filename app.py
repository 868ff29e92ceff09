"""The CDK app: one stack per stage, checked by cdk-nag's AWS Solutions rules. No network at synth.

Deployment settings are CDK context (``cdk.json``, or ``cdk deploy -c stage=prod -c domain=...``):
API.md section 6 names ``stage``, ``domain``, ``certificate_arn``, ``alarm_email`` and ``mail_from``.
The licensing layer is copied fresh on every synth, so a deploy never ships a stale domain
package; the dependencies layer comes from ``make build`` (``make deploy`` runs it first), and
synthesis stops when it is missing rather than ship functions that cannot import.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra import build, constants
from infra.functions import LayerAssets
from infra.stack import LicensingConfig, LicensingStack
from licensing import catalogue

LAYERS_MISSING = (
    "build/layer-deps is missing: run `make build` first (or `make deploy`, which runs it). Without "
    "it every function would fail to import its dependencies."
)


def _context(app: cdk.App, key: str) -> str:
    value = app.node.try_get_context(key)
    if not isinstance(value, str) or not value:
        raise SystemExit(f"missing CDK context {key!r}: set it in cdk.json or pass -c {key}=VALUE")
    return value


def _optional(app: cdk.App, key: str) -> str | None:
    value = app.node.try_get_context(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SystemExit(f"CDK context {key!r} must be a string, not {value!r}")
    return value


def _flag(app: cdk.App, key: str) -> bool:
    return str(app.node.try_get_context(key)).lower() in {"true", "1", "yes"}


def layer_assets(*, placeholders_allowed: bool) -> LayerAssets:
    """The two layers; an empty stand-in for the dependencies only when explicitly allowed."""
    licensing_layer = build.copy_package_layer(
        build.PACKAGE_DIR, build.TEMPLATES_DIR, build.LICENSING_LAYER_DIR
    )
    if build.DEPENDENCIES_LAYER_DIR.is_dir():
        return LayerAssets(licensing=licensing_layer, dependencies=build.DEPENDENCIES_LAYER_DIR)
    if not placeholders_allowed:
        raise SystemExit(LAYERS_MISSING)
    return LayerAssets(
        licensing=licensing_layer, dependencies=build.placeholder_layer(build.PLACEHOLDER_LAYER_DIR)
    )


def main() -> None:
    app = cdk.App(outdir="cdk.out")
    placeholders = _flag(app, constants.CONTEXT_PLACEHOLDER_LAYERS)
    layers = layer_assets(placeholders_allowed=placeholders)
    stage = _optional(app, constants.CONTEXT_STAGE) or catalogue.DEFAULT_STAGE
    budget = _optional(app, constants.CONTEXT_MONTHLY_BUDGET)
    try:
        config = LicensingConfig(
            sender_email=_context(app, constants.CONTEXT_SENDER_EMAIL),
            vendor_name=_context(app, constants.CONTEXT_VENDOR_NAME),
            source_root=build.ROOT,
            layers=layers,
            stage=stage,
            domain=_optional(app, constants.CONTEXT_DOMAIN),
            certificate_arn=_optional(app, constants.CONTEXT_CERTIFICATE_ARN),
            alarm_email=_optional(app, constants.CONTEXT_ALARM_EMAIL),
            staff_email=_optional(app, constants.CONTEXT_STAFF_EMAIL),
            mail_from=_optional(app, constants.CONTEXT_MAIL_FROM),
            monthly_budget_usd=int(budget) if budget else constants.DEFAULT_MONTHLY_BUDGET_USD,
        )
    except ValueError as error:
        raise SystemExit(f"invalid deployment settings: {error}") from None
    stack = LicensingStack(app, catalogue.stack_name(config.stage), config=config)
    if placeholders:
        cdk.Annotations.of(stack).add_warning_v2(
            "licensing:placeholderLayers",
            "synthesized with an empty placeholder for the dependencies layer: not deployable.",
        )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()


if __name__ == "__main__":
    main()
