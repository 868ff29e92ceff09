"""The DynamoDB table (from ``licensing.tables``) and the private bucket of release files."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants
from licensing import tables

ACCESS_LOG_DAYS = 365
# Kept on deletion and replacement; removed only when the very first deploy fails and rolls back,
# while the buckets are still empty, so that a failed first deploy leaves nothing behind.
BUCKET_REMOVAL_POLICY = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE


def _attribute(name: str) -> dynamodb.Attribute:
    # Every key of the single-table design is a string (see `tables.create_table_arguments`).
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Storage(Construct):
    """Licenses, accounts, products, releases and sessions in one table; release files in S3."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.TableV2(
            self,
            constants.TABLE,
            partition_key=_attribute(tables.PARTITION_KEY),
            sort_key=_attribute(tables.SORT_KEY),
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=index.name,
                    partition_key=_attribute(index.partition_key),
                    sort_key=_attribute(index.sort_key),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
                for index in tables.ALL_INDEXES
            ],
            time_to_live_attribute=tables.TTL_ATTRIBUTE,
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            # Plain Retain, not RetainExceptOnCreate: deletion protection would make the delete of a
            # failed first deploy's rollback fail; an empty table left behind costs nothing.
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.access_logs_bucket = s3.Bucket(
            self,
            constants.ACCESS_LOGS_BUCKET,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # S3 server access logging can only write to a bucket encrypted with S3-managed keys.
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(ACCESS_LOG_DAYS))],
            removal_policy=BUCKET_REMOVAL_POLICY,
        )
        Validations.of(self.access_logs_bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This bucket receives the release bucket's access logs; logging its own access "
                "would need a third bucket and would log the log delivery itself.",
            )
        )

        self.release_bucket = s3.Bucket(
            self,
            constants.RELEASE_BUCKET,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="releases/",
            removal_policy=BUCKET_REMOVAL_POLICY,
        )
