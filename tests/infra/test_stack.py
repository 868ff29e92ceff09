"""The whole stack: cdk-nag's AWS Solutions checks pass and cfn-lint finds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra import constants
from infra.functions import LayerAssets
from infra.stack import LicensingConfig
from tests.infra.conftest import EXAMPLE_STACK_NAME, Deployment, Synthesis

CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def test_cdk_nag_finds_nothing_unacknowledged(synthesis: Synthesis) -> None:
    # The session's synth ran AwsSolutionsChecks, as app.py does, and would have raised on any
    # finding not acknowledged with a reason; its report lists no failure.
    report = synthesis.validation_report()
    assert report["title"] == "Validation Report"
    assert report["pluginReports"] == []


@pytest.mark.parametrize("stack_name", [constants.STACK_NAME, EXAMPLE_STACK_NAME])
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
