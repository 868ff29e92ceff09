"""The buyer of a checkout: their account (found by Stripe customer, else by contact email, else
created) and their contact."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from ...errors import Conflict, TransientError
from ...models import Account
from .context import PurchaseContext
from .stripe_events import CheckoutSession


@dataclass
class Buyers:
    context: PurchaseContext

    def account_for(self, session: CheckoutSession) -> Account:
        """The buyer's account: by Stripe customer, else by contact email, else a new one."""
        store = self.context.store
        account_id = self._known_account_id(session.customer, session.email)
        account = store.get_account(account_id) if account_id else None
        if account is None:
            account = self._create_account(session)
        elif session.customer and account.stripe_customer_id is None:
            # Found by email: remember the customer, so that its next purchase finds the account.
            account = store.link_customer(account, session.customer)
        if session.email:
            store.add_contact(account.id, session.email, session.buyer_name)
        return account

    def existing_account_id(self, session: CheckoutSession) -> str | None:
        """The buyer's account if they have one already (by customer, else by their email)."""
        return self._known_account_id(session.customer, session.details_email)

    def _known_account_id(self, customer: str | None, email: str) -> str | None:
        store = self.context.store
        account_id = store.account_id_for_customer(customer) if customer else None
        if account_id is None and email:
            contact = store.get_contact(email)
            account_id = contact.account_ids[0] if contact and contact.account_ids else None
        return account_id

    def _create_account(self, session: CheckoutSession) -> Account:
        name = str(session.company or session.buyer_name or session.email or "Stripe customer")
        # The id is derived from the buyer, so that concurrent first purchases share one account.
        seed = f"stripe:{session.customer or session.email or session.id}".encode()
        account_id = "acc_" + base64.b32encode(hashlib.sha256(seed).digest()).decode().lower()[:16]
        account = Account(
            id=account_id,
            name=name,
            kind="organisation" if session.company else "person",
            stripe_customer_id=session.customer,
            billing_address=session.address,
            tax_ids=session.tax_ids,
        )
        try:
            self.context.store.create_account(account)
        except Conflict:
            existing = self.context.store.get_account(account_id)
            if existing is None:
                raise TransientError("account creation raced; retry") from None
            return existing
        return account
