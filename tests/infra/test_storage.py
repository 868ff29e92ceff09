"""The table follows licensing.tables and is protected; the release bucket is private and logged."""

from __future__ import annotations

from aws_cdk.assertions import Match

from licensing import tables
from tests.infra.conftest import Deployment


def _table(stack: Deployment) -> dict:
    (table,) = stack.resources("AWS::DynamoDB::GlobalTable").values()
    return table


def test_table_keys_are_those_of_licensing_tables(stack: Deployment) -> None:
    properties = _table(stack)["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": tables.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": tables.SORT_KEY, "KeyType": "RANGE"},
    ]
    expected = tables.create_table_arguments("licensing")["AttributeDefinitions"]
    assert sorted(properties["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == expected
    assert properties["BillingMode"] == "PAY_PER_REQUEST"


def test_table_has_every_index_with_all_attributes(stack: Deployment) -> None:
    indexes = {index["IndexName"]: index for index in _table(stack)["Properties"]["GlobalSecondaryIndexes"]}
    assert set(indexes) == {index.name for index in tables.ALL_INDEXES}
    for index in tables.ALL_INDEXES:
        assert indexes[index.name]["KeySchema"] == [
            {"AttributeName": index.partition_key, "KeyType": "HASH"},
            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
        ]
        assert indexes[index.name]["Projection"] == {"ProjectionType": "ALL"}


def test_table_expires_items_on_the_ttl_attribute(stack: Deployment) -> None:
    assert _table(stack)["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": tables.TTL_ATTRIBUTE,
        "Enabled": True,
    }


def test_table_is_recoverable_protected_encrypted_and_retained(stack: Deployment) -> None:
    table = _table(stack)
    (replica,) = table["Properties"]["Replicas"]
    assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert replica["DeletionProtectionEnabled"] is True
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_release_bucket_is_private_encrypted_versioned_logged_and_retained(stack: Deployment) -> None:
    bucket_id = stack.logical_id("StorageReleaseBucket", "AWS::S3::Bucket")
    logs_id = stack.logical_id("StorageAccessLogsBucket", "AWS::S3::Bucket")
    bucket = stack.resources("AWS::S3::Bucket")[bucket_id]
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "AccessControl" not in properties
    # Kept, except when the very first deploy fails: then it is still empty and goes with it.
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate"
    assert bucket["UpdateReplacePolicy"] == "Retain"


def test_access_logs_bucket_is_private_encrypted_and_expires_logs(stack: Deployment) -> None:
    logs_id = stack.logical_id("StorageAccessLogsBucket", "AWS::S3::Bucket")
    properties = stack.resources("AWS::S3::Bucket")[logs_id]["Properties"]
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert properties["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365


def test_both_buckets_refuse_requests_without_tls(stack: Deployment) -> None:
    for prefix in ("StorageReleaseBucket", "StorageAccessLogsBucket"):
        bucket_id = stack.logical_id(prefix, "AWS::S3::Bucket")
        stack.template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": bucket_id},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "s3:*",
                                    "Principal": {"AWS": "*"},
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                },
            },
        )


def test_access_logs_are_delivered_by_bucket_policy_to_the_logging_service(stack: Deployment) -> None:
    logs_id = stack.logical_id("StorageAccessLogsBucket", "AWS::S3::Bucket")
    stack.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": logs_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Action": "s3:PutObject",
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                            }
                        )
                    ]
                )
            },
        },
    )
