"""Adapters to the outside world (DynamoDB, S3, SES, EventBridge, Stripe): the only modules that
import boto3 or stripe."""
