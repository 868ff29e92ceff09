"""Synthesize the CDK app once per session and share its templates with every infra test.

Three stacks are synthesized in one app, all checked by cdk-nag: the real one from the catalogue
with the default context (stage ``dev``, no optional value); the same catalogue with every optional
context value of API.md section 6 set (``production``); and one from an example catalogue that
uses every trigger (route, queue, schedule) and every right, so that each construct path is proven
before the real catalogue grows into it. The tests opt in to an empty placeholder for the
dependencies layer explicitly, by building the layer assets themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import cx_api
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra import build, constants
from infra.functions import LayerAssets
from infra.stack import LicensingConfig, LicensingStack
from licensing import catalogue
from tests.conftest import ROOT

SENDER_EMAIL = "licenses@vendor.example"
VENDOR_NAME = "Example Vendor"
EXAMPLE_STAGE = "example"
EXAMPLE_STACK_NAME = catalogue.stack_name(EXAMPLE_STAGE)
# Every optional context value set, as a vendor's production deploy would.
PRODUCTION = {
    "stage": "prod",
    "domain": "licenses.vendor.example",
    "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/0b5a1f6e-2f4d-4a8e-9c0d-1e2f3a4b5c6d",
    "alarm_email": "ops@vendor.example",
    "mail_from": "licenses@mail.vendor.example",
    "staff_email": "support@vendor.example",
    "monthly_budget_usd": 25,
}
PRODUCTION_STACK_NAME = catalogue.stack_name(str(PRODUCTION["stage"]))

# The catalogue plus what it does not use yet (named "example" so they never clash with it).
EXAMPLE_QUEUE = catalogue.Queue(name="example_jobs", detail_types=("ExampleRequested",), max_receive_count=3)
EXAMPLE_QUEUES: tuple[catalogue.Queue, ...] = (*catalogue.QUEUES, EXAMPLE_QUEUE)
# Without `mail_from` a stage has no mail events queue, and so no function that reads it.
WITHOUT_MAIL = tuple(spec for spec in catalogue.FUNCTIONS if spec.queue != catalogue.MAIL_EVENTS.name)
EXAMPLE_FUNCTIONS: tuple[catalogue.Function, ...] = (
    *WITHOUT_MAIL,
    catalogue.Function(
        name="example_daily_job",
        description="A scheduled job.",
        schedule="cron(15 3 * * ? *)",
        rights=(catalogue.TABLE_READ, catalogue.TABLE_WRITE, catalogue.EVENTS_PUT),
        timeout_seconds=300,
    ),
    catalogue.Function(
        name="example_release_upload",
        description="Stores release files.",
        routes=("PUT /staff/releases/{proxy+}",),
        rights=(catalogue.TABLE_READ, catalogue.BUCKET_WRITE),
        extra_environment={"MAX_UPLOAD_MB": "50"},
    ),
    catalogue.Function(
        name="example_mailer",
        description="Sends mail from a queue, reading release files.",
        queue=EXAMPLE_QUEUE.name,
        rights=(catalogue.BUCKET_READ, catalogue.MAIL_SEND, catalogue.SIGNING_KEY),
        timeout_seconds=60,
        batch_size=5,
    ),
)


@dataclass(frozen=True)
class Deployment:
    """One synthesized stack and the catalogue functions it was made from."""

    name: str
    functions: tuple[catalogue.Function, ...]
    queues: tuple[catalogue.Queue, ...]
    template: Template

    @property
    def json(self) -> dict[str, Any]:
        return dict(self.template.to_json())

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: dict(value) for key, value in self.template.find_resources(resource_type).items()}

    def function(self, name: str) -> tuple[str, dict[str, Any]]:
        """The logical id and resource of a catalogue function, found by its service name."""
        for logical_id, resource in self.resources("AWS::Lambda::Function").items():
            environment = resource["Properties"].get("Environment", {}).get("Variables", {})
            if environment.get("POWERTOOLS_SERVICE_NAME") == name:
                return logical_id, resource
        raise KeyError(name)

    def alias(self, name: str) -> tuple[str, dict[str, Any]]:
        """The logical id and resource of the ``live`` alias of a catalogue function."""
        function_id, _ = self.function(name)
        (found,) = [
            (logical_id, resource)
            for logical_id, resource in self.resources("AWS::Lambda::Alias").items()
            if resource["Properties"]["FunctionName"] == {"Ref": function_id}
        ]
        return found

    def statements_of(self, function_name: str) -> list[dict[str, Any]]:
        """Every IAM statement of the role of a catalogue function."""
        role = self.function(function_name)[1]["Properties"]["Role"]["Fn::GetAtt"][0]
        return self.role_statements(role)

    def role_statements(self, role_logical_id: str) -> list[dict[str, Any]]:
        statements = []
        for policy in self.resources("AWS::IAM::Policy").values():
            if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
                statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        return statements

    def logical_id(self, path_prefix: str, resource_type: str) -> str:
        """The one resource of a type whose logical id starts with the construct path given."""
        found = [key for key in self.resources(resource_type) if key.startswith(path_prefix)]
        assert len(found) == 1, (path_prefix, resource_type, found)
        return found[0]

    @staticmethod
    def actions(statement: dict[str, Any]) -> list[str]:
        value = statement["Action"]
        return [value] if isinstance(value, str) else list(value)

    @staticmethod
    def resources_of(statement: dict[str, Any]) -> list[Any]:
        value = statement["Resource"]
        return value if isinstance(value, list) else [value]


def _function_sources(root: Path) -> Path:
    for spec in EXAMPLE_FUNCTIONS:
        handler = root / spec.source_dir / "handler.py"
        handler.parent.mkdir(parents=True, exist_ok=True)
        handler.write_text("def lambda_handler(event, context):\n    return None\n")
    return root


@dataclass(frozen=True)
class Synthesis:
    outdir: Path
    assembly: cx_api.CloudAssembly

    def template_file(self, stack_name: str) -> Path:
        return self.outdir / self.assembly.get_stack_by_name(stack_name).template_file

    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text())


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """Both stacks, synthesized once with cdk-nag's checks as app.py adds them (raises on findings)."""
    work = tmp_path_factory.mktemp("cdk")
    layers = LayerAssets(
        licensing=build.copy_package_layer(build.PACKAGE_DIR, build.TEMPLATES_DIR, work / "layer-licensing"),
        dependencies=_with_byte_code(build.placeholder_layer(work / "layer-deps")),
    )
    # Another dependencies layer for production, as a later `make build` would give.
    other_dependencies = build.placeholder_layer(work / "layer-deps-2")
    (other_dependencies / "python" / "newer.txt").write_text("another build\n")
    app = cdk.App(outdir=str(work / "cdk.out"))
    LicensingStack(
        app,
        constants.STACK_NAME,
        config=LicensingConfig(
            sender_email=SENDER_EMAIL, vendor_name=VENDOR_NAME, source_root=ROOT, layers=layers
        ),
    )
    LicensingStack(
        app,
        PRODUCTION_STACK_NAME,
        config=LicensingConfig(
            sender_email=SENDER_EMAIL,
            vendor_name=VENDOR_NAME,
            source_root=ROOT,
            layers=LayerAssets(licensing=layers.licensing, dependencies=other_dependencies),
            **PRODUCTION,  # type: ignore[arg-type]
        ),
    )
    LicensingStack(
        app,
        EXAMPLE_STACK_NAME,
        config=LicensingConfig(
            sender_email=SENDER_EMAIL,
            vendor_name=VENDOR_NAME,
            source_root=_function_sources(work / "example"),
            layers=layers,
            functions=EXAMPLE_FUNCTIONS,
            queues=EXAMPLE_QUEUES,
            stage=EXAMPLE_STAGE,
        ),
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return Synthesis(outdir=work / "cdk.out", assembly=app.synth())


def _with_byte_code(layer: Path) -> Path:
    """A layer with byte code for Lambda's Python (as `make build` compiles it) and for another one."""
    cache = layer / "python" / "compiled" / "__pycache__"
    cache.mkdir(parents=True)
    for tag in ("cpython-314", "cpython-311"):
        (cache / f"module.{tag}.pyc").write_bytes(b"byte code")
    return layer


def _deployment(
    synthesis: Synthesis,
    name: str,
    functions: tuple[catalogue.Function, ...],
    queues: tuple[catalogue.Queue, ...],
) -> Deployment:
    template = Template.from_json(synthesis.assembly.get_stack_by_name(name).template)
    return Deployment(name=name, functions=functions, queues=queues, template=template)


@pytest.fixture(scope="session")
def stack(synthesis: Synthesis) -> Deployment:
    """The real stack, from the catalogue (without `mail_from`)."""
    return _deployment(synthesis, constants.STACK_NAME, WITHOUT_MAIL, catalogue.QUEUES)


@pytest.fixture(scope="session")
def production(synthesis: Synthesis) -> Deployment:
    """The real catalogue with every optional context value set (PRODUCTION)."""
    return _deployment(synthesis, PRODUCTION_STACK_NAME, catalogue.FUNCTIONS, catalogue.QUEUES)


@pytest.fixture(scope="session")
def example(synthesis: Synthesis) -> Deployment:
    """The stack of the example catalogue: every trigger and every right."""
    return _deployment(synthesis, EXAMPLE_STACK_NAME, EXAMPLE_FUNCTIONS, EXAMPLE_QUEUES)


@pytest.fixture(scope="session", params=["catalogue", "production", "example"])
def deployment(
    request: pytest.FixtureRequest, stack: Deployment, production: Deployment, example: Deployment
) -> Deployment:
    """Each of the three stacks in turn."""
    return {"catalogue": stack, "production": production, "example": example}[request.param]
