"""The DynamoDB store on moto and on AWS's DynamoDB Local."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from licensing.adapters.dynamo import DynamoStore
from licensing.errors import Conflict
from licensing.models import Billing, HistoryEntry, LicenseStatus, Release, Site
from tests import factories


def release(version: str, product: str = "crm-exporter") -> Release:
    return Release(
        product=product,
        version=version,
        file_key=f"{product}/{version}/{product}-{version}.zip",
        filename=f"{product}-{version}.zip",
        sha256="0" * 64,
        size=10,
    )


def test_product_round_trip_and_price_lookup(store: DynamoStore) -> None:
    product = factories.product(stripe_price_ids=["price_a", "price_b"])
    store.put_product(product)
    assert store.get_product("crm-exporter") == product
    assert store.product_for_price("price_b") == "crm-exporter"
    assert store.get_product("nope") is None


def test_changing_prices_removes_the_stale_lookup(store: DynamoStore) -> None:
    store.put_product(factories.product(stripe_price_ids=["price_old"]))
    store.put_product(factories.product(stripe_price_ids=["price_new"]))
    assert store.product_for_price("price_old") is None
    assert store.product_for_price("price_new") == "crm-exporter"


def test_products_are_listed_by_slug(store: DynamoStore) -> None:
    for slug in ("zeta", "alpha", "mid"):
        store.put_product(factories.product(slug))
    assert [product.slug for product in store.list_products()] == ["alpha", "mid", "zeta"]


def test_releases_come_newest_first_by_version_not_text(store: DynamoStore) -> None:
    published = {version: release(version) for version in ("1.9.0", "1.10.0", "1.2.0", "2.0.0rc1", "2.0.0")}
    for item in published.values():
        store.put_release(item)
    store.put_release(release("9.0.0", product="other"))
    assert [r.version for r in store.list_releases("crm-exporter")] == [
        "2.0.0",
        "2.0.0rc1",
        "1.10.0",
        "1.9.0",
        "1.2.0",
    ]
    assert store.get_release("crm-exporter", "1.10.0") == published["1.10.0"]


def test_a_version_is_published_once(store: DynamoStore) -> None:
    store.put_release(release("1.0.0"))
    with pytest.raises(Conflict, match="already published"):
        store.put_release(release("1.0.0"))


def test_accounts_contacts_and_customers(store: DynamoStore) -> None:
    acme = factories.account("Acme Corp", stripe_customer_id="cus_123")
    store.create_account(acme)
    store.add_contact(acme.id, "Buyer@Acme.test", "Bea Buyer")
    store.add_contact(acme.id, "buyer@acme.test")  # idempotent
    store.add_contact(acme.id, "it@acme.test")
    assert store.get_account(acme.id) == acme
    assert store.account_id_for_customer("cus_123") == acme.id
    assert sorted(store.contact_emails(acme.id)) == ["buyer@acme.test", "it@acme.test"]
    contact = store.get_contact("BUYER@acme.test")
    assert contact is not None and contact.account_ids == [acme.id] and contact.name == "Bea Buyer"
    with pytest.raises(Conflict):
        store.create_account(factories.account("Other", stripe_customer_id="cus_123"))
    assert store.account_id_for_customer("cus_123") == acme.id


def test_the_contacts_a_mail_goes_to_are_read_consistently(store: DynamoStore) -> None:
    # A checkout adds its buyer and the key mail follows at once: an eventually consistent read
    # could miss the new contact, and the mail would go to nobody.
    acme = factories.account("Acme Corp")
    store.create_account(acme)
    store.add_contact(acme.id, "bea@acme.test")
    queries: list[dict[str, object]] = []
    store.dynamodb.meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: queries.append(params)
    )
    assert store.contact_emails(acme.id) == ["bea@acme.test"]
    assert [query.get("ConsistentRead") for query in queries] == [True]


def test_license_create_read_and_history(store: DynamoStore) -> None:
    license = factories.license(billing=Billing(stripe_checkout_session_id="cs_1"))
    entry = HistoryEntry(license_id=license.id, actor="test", action="issued")
    store.create_license(license, [entry], refs=["cs_1", "pi_1"])
    assert store.get_license(license.id) == license
    assert [e.action for e in store.license_history(license.id)] == ["issued"]
    assert store.license_ids_for_ref("pi_1") == [license.id]
    with pytest.raises(Conflict):
        store.create_license(license, [], [])


def test_licenses_of_an_account_in_one_query(store: DynamoStore) -> None:
    mine = [factories.license("acc_me") for _ in range(3)]
    for license in [*mine, factories.license("acc_other")]:
        store.create_license(license, [], [])
    assert {license.id for license in store.licenses_of_account("acc_me")} == {lic.id for lic in mine}


def test_save_license_refuses_a_stale_revision(store: DynamoStore) -> None:
    license = factories.license()
    store.create_license(license, [], [])
    first = license.model_copy(update={"status": LicenseStatus.SUSPENDED})
    saved = store.save_license(first, [HistoryEntry(license_id=license.id, actor="t", action="suspended")])
    assert saved.revision == 1
    with pytest.raises(Conflict):
        store.save_license(license.model_copy(update={"status": LicenseStatus.REVOKED}))
    current = store.get_license(license.id)
    assert current is not None and current.status is LicenseStatus.SUSPENDED and current.revision == 1


def test_sparse_indexes_follow_status_and_dates(store: DynamoStore) -> None:
    ends = date(2027, 3, 1)
    active = factories.license(ends_on=ends, grace_days=7)
    suspended = factories.license(ends_on=ends, status=LicenseStatus.SUSPENDED)
    for license in (active, suspended):
        store.create_license(license, [], [])
    assert [lic.id for lic in store.active_licenses("crm-exporter")] == [active.id]
    assert [lic.id for lic in store.licenses_ending_on(ends)] == [active.id]
    assert list(store.licenses_ending_on(ends + timedelta(days=1))) == []
    assert [lic.id for lic in store.licenses_lapsing_on(ends + timedelta(days=8))] == [active.id]
    store.save_license(active.model_copy(update={"status": LicenseStatus.REVOKED}))
    assert list(store.active_licenses("crm-exporter")) == []
    assert list(store.licenses_ending_on(ends)) == []


def test_queries_follow_pages_past_one_megabyte(store: DynamoStore) -> None:
    license = factories.license()
    store.create_license(license, [], [])
    bulky = "x" * 200_000
    for batch in range(7):  # 7 x 200 KB of history: more than one 1 MB page
        store.save_license(
            store.require_license(license.id),
            [HistoryEntry(license_id=license.id, actor="t", action=f"note {batch}", detail={"blob": bulky})],
        )
    assert len(store.license_history(license.id)) == 7


def test_sites_survive_the_round_trip(store: DynamoStore) -> None:
    license = factories.license(sites={"shop.example.com": Site(host="shop.example.com", version="1.2.0")})
    store.create_license(license, [], [])
    loaded = store.require_license(license.id)
    assert loaded.sites["shop.example.com"].version == "1.2.0"
    assert loaded.sites_used == 1


def test_a_reference_named_twice_in_one_write_is_linked_once(store: DynamoStore) -> None:
    """A checkout without a payment intent (a 100 % coupon, a subscription) names its session id as
    both the session and the payment: DynamoDB refuses a transaction naming one item twice."""
    license = factories.license()
    store.create_license(license, [], ["cs_free", "cs_free"])
    renewed = store.require_license(license.id)
    store.save_license(renewed, [], ["cs_renewal", "cs_renewal"], guard="renewal:cs_renewal")
    store.add_refs(license.id, ["in_1", "in_1"])
    for ref in ("cs_free", "cs_renewal", "in_1"):
        assert store.license_ids_for_ref(ref) == [license.id]


def test_a_claim_is_granted_once(store: DynamoStore) -> None:
    assert store.claim("mail:1", ttl_days=5, detail={"to": "x"}) is True
    assert store.claim("mail:1", ttl_days=5) is False
    assert store.get_claim("mail:1") == {"to": "x"}
    store.release_claim("mail:1")
    assert store.claim("mail:1", ttl_days=5) is True


@pytest.mark.dynamodb_local
def test_concurrent_claims_grant_exactly_one(local_store: DynamoStore) -> None:
    store = local_store
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: store.claim("evt_race", ttl_days=5), range(20)))
    assert results.count(True) == 1


@pytest.mark.dynamodb_local
def test_concurrent_saves_of_one_revision_let_one_win(local_store: DynamoStore) -> None:
    store = local_store
    license = factories.license()
    store.create_license(license, [], [])

    def attempt(n: int) -> bool:
        try:
            store.save_license(license.model_copy(update={"name": f"writer {n}"}))
        except Conflict:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(16)))
    assert results.count(True) == 1
    assert store.require_license(license.id).revision == 1


def test_kinds_of_products_and_accounts_survive_the_round_trip(store: DynamoStore) -> None:
    person = factories.account("Pat Person", kind="person")
    custom = factories.product("acme-sales-automation", kind="custom", owner_account_id=person.id)
    store.create_account(person)
    store.put_product(custom)
    assert store.get_product(custom.slug) == custom
    assert store.get_account(person.id) == person


def test_a_contact_removed_from_one_account_keeps_the_others(store: DynamoStore) -> None:
    store.add_contact("acc_a", "pat@corp.test")
    store.add_contact("acc_b", "pat@corp.test")
    assert store.remove_contact("acc_a", "Pat@Corp.test") is True
    assert store.remove_contact("acc_a", "pat@corp.test") is False
    contact = store.get_contact("pat@corp.test")
    assert contact is not None and contact.account_ids == ["acc_b"]
    assert store.contact_emails("acc_a") == [] and store.contact_emails("acc_b") == ["pat@corp.test"]
