"""The local dev server: the whole system on a laptop, with no AWS account and no Docker."""
