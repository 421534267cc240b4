"""The synthetic city is a function of its seed: the same arguments give the same rows, byte for byte.

The checksums below were taken from the generator before it was split by area (persistence/seed/); a
change to the generator that alters the city must change them on purpose (a new city is a new
baseline for every benchmark run and every test that reads it).
"""

from __future__ import annotations

import hashlib
from datetime import date

from persistence.crypto import NumberVault
from persistence.seed.generate import CityGenerator
from persistence.seed.tables import COLUMNS, TABLES

from .conftest import TEST_KEY

TODAY = date(2026, 11, 1)

# sha256 per table of the rows of `CityGenerator(insured=1200, seed=7, today=2026-11-01)`, taken with
# the generator as it was before the split (commit 599b6c2).
EXPECTED = {
    "persons": "40f333bcb543bfa899462df2f5ab8489ae17a7a14b0900ea209c5d8c7559a8eb",
    "resident_moves": "b25f9209d04b44796e4102ee523d1db2f93b37bafca648de1cb0f9f88b144aa5",
    "qualifications": "f0e4a55dee9233628c0f20304807396789d9b2f42452d8728b8eec87c3a0e580",
    "qualification_events": "66789a438e4454c3d0ff9d9b4d0630eeb62235c869a92c58ffbaa901ffade49a",
    "copay_ratios": "aea5eeec608ed5bd0f8b43ff2d03e75b7457d896cb5dcd9a8340119907dec8a3",
    "certificate_issuances": "d4f3fc4b92ad777d4d7db7f99e624a720a681fb4b36db921d73f7b194dfb9cb0",
    "facility_admissions": "85637770eec47e5f833e45ad23996a808bbe567b8c630ee54c62d0e62c783aa3",
    "certifications": "af7b2bc356bcb523756a83af2cc12207dd1a1b93715711051f38e9c22cd27c56",
    "care_plan_notifications": "7c2bf72541eaaf74aeb35e420733e6b8c6b2f6149544cdb853847bbb48c6dbb0",
    "reimbursements": "82323524231cd22c438cb57d9aff339c92cf062f2ba4975369cd378db310b972",
    "high_cost_benefits": "8db5fec35d90c17e1b2d68ce50c90af24acd231e8c3fa12a609fa2e98cc626c3",
    "combined_benefits": "5681da76e30d0c4af7e40d490c78fffe46c614e107275025b1287cb77ca0f75b",
    "cost_reductions": "5ee0d8da2d65bf9a945b566268591346217b3987dfe40850fc6cbbc4608ef23d",
    "benefit_restrictions": "b629154211cf341ecbdf686e39ce2da2b70e771f4054a3520c7090ed49cf0d29",
    "claim_results": "3361faaf7b43fe9bfcf0a8f44f67296d4d6ec2d514d7380d321344c455c050f8",
    "recipient_notices": "f027f96074227f1fe477d031db3b05dffb220cf10e38422a33adf0954920b9a4",
    "community_eligibilities": "b61f5d9b9679de500dbc5eb46611863ff7418d02af476d270a47fa034ba960e9",
    "levies": "ad358b62605a33b681945801894a63a6497f500fce437eecf82077115ac243c0",
    "levy_installments": "ed6973bbcb4e8e54ef5dec69b5ba05a0e039e97a2de2c0fdc1942f61915c868b",
    "levy_receipts": "84f9790db7b1e87e5673f36619a11f6ab336ed004ca88aa52343ddb1d399a2ae",
    "levy_reminders": "98251d5f2a17e0a18e74e9140123fb4e3d7210a64a903525708930dceff0e06f",
    "levy_refunds": "11699f35c7669c0e72665bdbb0648cd8c743f182ff7056307b3d610c833e4ba2",
}


def city_checksums(insured: int, seed: int) -> dict[str, str]:
    """One sha256 per table over its rows in generation order (repr of each tuple). The ciphertext of an
    individual number has a random nonce: it enters as the number it decrypts to (checked against the
    blind index beside it)."""
    vault = NumberVault(TEST_KEY)
    digests = {name: hashlib.sha256() for name in TABLES}
    enc = COLUMNS["persons"].index("individual_number_enc")
    code = COLUMNS["persons"].index("addressee_code")
    index = COLUMNS["persons"].index("individual_number_index")
    for batch in CityGenerator(vault, insured=insured, seed=seed, today=TODAY).batches(300):
        for name in TABLES:
            for row in batch[name]:
                if name == "persons" and row[enc] is not None:
                    number = vault.decrypt(row[enc], context=row[code].encode("ascii"))
                    assert vault.blind_index(number) == row[index]
                    row = (*row[:enc], number.reveal(), *row[enc + 1 :])
                digests[name].update(repr(row).encode())
                digests[name].update(b"\n")
    return {name: d.hexdigest() for name, d in digests.items()}


def test_the_same_seed_gives_the_city_it_gave_before() -> None:
    assert city_checksums(1200, 7) == EXPECTED
