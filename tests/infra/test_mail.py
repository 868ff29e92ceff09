"""With mail_from: the SES domain identity (Easy DKIM, custom MAIL FROM), its configuration set,
and bounce and complaint events delivered to a queue of this stage only."""

from __future__ import annotations

from infra import constants
from infra.mail import SES_EVENT_TYPES
from tests.infra.conftest import PRODUCTION, Deployment

DOMAIN = str(PRODUCTION["mail_from"]).rpartition("@")[2]


def test_without_mail_from_no_ses_resource_is_made(stack: Deployment) -> None:
    for resource_type in ("AWS::SES::EmailIdentity", "AWS::SES::ConfigurationSet"):
        assert not stack.resources(resource_type)


def test_the_sender_domain_gets_dkim_a_mail_from_domain_and_the_configuration_set(
    production: Deployment,
) -> None:
    (identity,) = production.resources("AWS::SES::EmailIdentity").values()
    properties = identity["Properties"]
    assert properties["EmailIdentity"] == DOMAIN
    assert properties["DkimAttributes"] == {"SigningEnabled": True}
    assert properties["MailFromAttributes"]["MailFromDomain"] == f"bounce.{DOMAIN}"
    assert properties["ConfigurationSetAttributes"] == {
        "ConfigurationSetName": {
            "Ref": production.logical_id(
                f"{constants.MAIL}{constants.CONFIGURATION_SET}", "AWS::SES::ConfigurationSet"
            )
        }
    }
    (configuration_set,) = production.resources("AWS::SES::ConfigurationSet").values()
    assert configuration_set["Properties"]["Name"] == "prod-licensing"
    assert configuration_set["Properties"]["ReputationOptions"] == {"ReputationMetricsEnabled": True}
    assert configuration_set["Properties"]["SuppressionOptions"] == {
        "SuppressedReasons": ["BOUNCE", "COMPLAINT"]
    }
    # The DNS records to create are outputs.
    outputs = " ".join(key for key in production.json["Outputs"])
    assert "DkimRecord1" in outputs and "MailFromMxRecord" in outputs


def test_bounces_and_complaints_reach_this_stage_s_queue(production: Deployment) -> None:
    (destination,) = production.resources("AWS::SES::ConfigurationSetEventDestination").values()
    event_destination = destination["Properties"]["EventDestination"]
    assert sorted(event_destination["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert event_destination["Enabled"] is True
    assert "EventBridgeDestination" in event_destination
    queue = production.logical_id(f"{constants.MAIL}MailEventsQueue", "AWS::SQS::Queue")
    (rule,) = [
        r["Properties"]
        for r in production.resources("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("source") == ["aws.ses"]
    ]
    assert rule.get("EventBusName", "default") == "default"  # SES publishes only to the default bus
    assert rule["EventPattern"]["detail-type"] == list(SES_EVENT_TYPES)
    # Two stages share the default bus: each takes only its own configuration set's events.
    assert rule["EventPattern"]["detail"] == {"mail": {"tags": {"ses:configuration-set": ["prod-licensing"]}}}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert "DeadLetterConfig" in target


def test_the_notifier_sends_through_the_configuration_set_and_from_mail_from(production: Deployment) -> None:
    environment = production.function("notifier")[1]["Properties"]["Environment"]["Variables"]
    assert environment[constants.ENV_SES_CONFIGURATION_SET] == "prod-licensing"
    assert environment[constants.ENV_MAIL_FROM].endswith(f"<{PRODUCTION['mail_from']}>")
    # The sends (the account's quota read, ses:GetAccount, has no resource and a statement of its own).
    (statement,) = [
        s
        for s in production.statements_of("notifier")
        if any(a.startswith("ses:Send") for a in Deployment.actions(s))
    ]
    resources = [r["Fn::Join"][1][-1] for r in Deployment.resources_of(statement)]
    assert resources == [
        f":identity/{PRODUCTION['mail_from']}",
        f":identity/{DOMAIN}",
        ":configuration-set/prod-licensing",
    ]
