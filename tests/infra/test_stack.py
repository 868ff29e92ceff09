"""The whole stack: cdk-nag's AWS Solutions checks pass, cfn-lint finds nothing, the deployment
settings are checked, every name starts with the stage, and synthesis refuses missing layers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra import constants
from infra.functions import LayerAssets
from infra.stack import LicensingConfig
from tests.infra.conftest import EXAMPLE_STACK_NAME, PRODUCTION_STACK_NAME, Deployment, Synthesis

CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def test_cdk_nag_finds_nothing_unacknowledged(synthesis: Synthesis) -> None:
    # The session's synth ran AwsSolutionsChecks, as app.py does, and would have raised on any
    # finding not acknowledged with a reason; its report lists no failure.
    report = synthesis.validation_report()
    assert report["title"] == "Validation Report"
    assert report["pluginReports"] == []


@pytest.mark.parametrize("stack_name", [constants.STACK_NAME, PRODUCTION_STACK_NAME, EXAMPLE_STACK_NAME])
def test_cfn_lint_passes(synthesis: Synthesis, stack_name: str) -> None:
    # W3005: CDK writes DependsOn entries that cfn-lint finds redundant.
    result = subprocess.run(
        [str(CFN_LINT), str(synthesis.template_file(stack_name)), "--ignore-checks", "W3005"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("address", ["", "licenses", "@vendor.example", "a b@vendor.example"])
def test_the_sender_must_be_an_email_address(address: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sender email"):
        LicensingConfig(
            sender_email=address,
            vendor_name="V",
            source_root=tmp_path,
            layers=LayerAssets(licensing=tmp_path, dependencies=tmp_path),
        )


def test_the_staff_cli_finds_the_resources_through_outputs(stack: Deployment) -> None:
    from licensing import catalogue

    outputs = stack.json["Outputs"]
    table = stack.logical_id(constants.STORAGE, "AWS::DynamoDB::GlobalTable")
    bus = stack.logical_id(constants.MESSAGING, "AWS::Events::EventBus")
    assert outputs[catalogue.OUTPUT_TABLE]["Value"] == {"Ref": table}
    assert outputs[catalogue.OUTPUT_EVENT_BUS]["Value"] == {"Ref": bus}
    assert catalogue.OUTPUT_RELEASE_BUCKET in outputs and catalogue.OUTPUT_API_URL in outputs


def _config(tmp_path: Path, **settings: object) -> LicensingConfig:
    return LicensingConfig(
        sender_email="licenses@vendor.example",
        vendor_name="V",
        source_root=tmp_path,
        layers=LayerAssets(licensing=tmp_path, dependencies=tmp_path),
        **settings,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"stage": "Prod"}, "stage"),
        ({"stage": "prod-eu"}, "stage"),
        ({"stage": "averyverylongstage"}, "stage"),
        ({"stage": ""}, "stage"),
        ({"domain": "licenses.vendor.example"}, "certificate_arn"),
        ({"certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}, "domain"),
        (
            {
                "domain": "https://licenses.vendor.example",
                "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/0a",
            },
            "domain",
        ),
        ({"domain": "licenses.vendor.example", "certificate_arn": "not-an-arn"}, "certificate_arn"),
        ({"alarm_email": "ops"}, "alarm_email"),
        ({"mail_from": "vendor.example"}, "sender"),
        ({"monthly_budget_usd": 0}, "budget"),
    ],
)
def test_bad_deployment_settings_are_refused_with_a_clear_message(
    tmp_path: Path, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _config(tmp_path, **settings)


def test_the_stack_of_a_stage_is_named_by_it() -> None:
    from licensing import catalogue

    assert catalogue.stack_name("prod") == "prod-licensing"
    # The staff CLI finds the default stage's stack as before, by STACK_NAME.
    assert catalogue.STACK_NAME == catalogue.stack_name(catalogue.DEFAULT_STAGE) == "dev-licensing"


# Resource types whose name property is set by the stack (others get CloudFormation names that
# start with the stack's, i.e. the stage's, name).
NAMES = {
    "AWS::Events::EventBus": "Name",
    "AWS::ApiGatewayV2::Api": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::SES::ConfigurationSet": "Name",
}


def test_every_name_the_stack_sets_starts_with_the_stage(deployment: Deployment) -> None:
    prefix = deployment.name
    for resource_type, name_property in NAMES.items():
        for logical_id, resource in deployment.resources(resource_type).items():
            name = resource["Properties"][name_property]
            assert isinstance(name, str) and name.startswith(prefix), (logical_id, name)
    for budget in deployment.resources("AWS::Budgets::Budget").values():
        assert budget["Properties"]["Budget"]["BudgetName"].startswith(prefix)
    # And nothing else is named by hand: a fixed name would collide between two stages.
    for logical_id, resource in deployment.resources("AWS::Lambda::Function").items():
        assert "FunctionName" not in resource["Properties"], logical_id
    for logical_id, resource in deployment.resources("AWS::SQS::Queue").items():
        assert "QueueName" not in resource["Properties"], logical_id


def test_synthesis_stops_when_the_dependencies_layer_was_not_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import app
    from infra import build

    monkeypatch.setattr(build, "DEPENDENCIES_LAYER_DIR", tmp_path / "never-built")
    monkeypatch.setattr(build, "LICENSING_LAYER_DIR", tmp_path / "layer-licensing")
    monkeypatch.setattr(build, "PLACEHOLDER_LAYER_DIR", tmp_path / "layer-placeholder")
    with pytest.raises(SystemExit, match="make build"):
        app.layer_assets(placeholders_allowed=False)
    # Only an explicit opt-in (tests: -c licensing:placeholderLayers=true) gets the empty stand-in.
    layers = app.layer_assets(placeholders_allowed=True)
    assert layers.dependencies == tmp_path / "layer-placeholder"


def test_a_built_dependencies_layer_is_used_whatever_the_opt_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import app
    from infra import build

    built = tmp_path / "layer-deps"
    (built / "python").mkdir(parents=True)
    monkeypatch.setattr(build, "DEPENDENCIES_LAYER_DIR", built)
    monkeypatch.setattr(build, "LICENSING_LAYER_DIR", tmp_path / "layer-licensing")
    assert app.layer_assets(placeholders_allowed=False).dependencies == built
    assert app.layer_assets(placeholders_allowed=True).dependencies == built


def test_the_staff_cli_works_on_the_stage_licensing_stage_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from licensing import catalogue

    monkeypatch.delenv(catalogue.STAGE_VARIABLE, raising=False)
    assert catalogue.deployed_stack_name() == "dev-licensing"
    monkeypatch.setenv(catalogue.STAGE_VARIABLE, "prod")
    assert catalogue.deployed_stack_name() == "prod-licensing"
