"""The CDK app: one stack, checked by cdk-nag's AWS Solutions rules. No network at synth time.

Deployment settings are CDK context (``cdk.json``, or ``cdk deploy -c licensing:senderEmail=...``).
The licensing layer is copied fresh on every synth, so a deploy never ships a stale domain
package; the dependencies layer comes from ``make build`` (``make deploy`` runs it first).
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra import build, constants
from infra.functions import LayerAssets
from infra.stack import LicensingConfig, LicensingStack


def _context(app: cdk.App, key: str) -> str:
    value = app.node.try_get_context(key)
    if not isinstance(value, str) or not value:
        raise SystemExit(f"missing CDK context {key!r}: set it in cdk.json or pass -c {key}=VALUE")
    return value


def main() -> None:
    app = cdk.App(outdir="cdk.out")
    licensing_layer = build.copy_package_layer(
        build.PACKAGE_DIR, build.TEMPLATES_DIR, build.LICENSING_LAYER_DIR
    )
    dependencies_built = build.DEPENDENCIES_LAYER_DIR.is_dir()
    dependencies_layer = (
        build.DEPENDENCIES_LAYER_DIR
        if dependencies_built
        else build.placeholder_layer(build.PLACEHOLDER_LAYER_DIR)
    )
    stack = LicensingStack(
        app,
        constants.STACK_NAME,
        config=LicensingConfig(
            sender_email=_context(app, constants.CONTEXT_SENDER_EMAIL),
            vendor_name=_context(app, constants.CONTEXT_VENDOR_NAME),
            source_root=build.ROOT,
            layers=LayerAssets(licensing=licensing_layer, dependencies=dependencies_layer),
        ),
    )
    if not dependencies_built:
        cdk.Annotations.of(stack).add_warning_v2(
            "licensing:dependenciesLayerMissing",
            "build/layer-deps is missing, an empty placeholder layer stands in: run `make build` "
            "before deploying, or the functions cannot import their dependencies.",
        )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()


if __name__ == "__main__":
    main()
