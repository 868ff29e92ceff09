"""The AWS CDK app of the license manager: one stack composed of constructs, one module each.

Everything the stack deploys per function, queue and index comes from ``licensing.catalogue`` and
``licensing.tables``; this package only turns those descriptions into resources.
"""
