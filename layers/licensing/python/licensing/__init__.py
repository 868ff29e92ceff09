"""The license manager's domain package: licenses, products, releases, accounts and their rules."""
