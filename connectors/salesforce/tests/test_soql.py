"""SOQL through simple-salesforce: the subset's constructs with exact answers, and rejections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from okrsync_salesforce_sandbox.ids import make_id

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

O1, O2, O3, O4, O5 = (
    "Acme Expansion",
    "Acme Renewal",
    "Globex Pilot",
    "Globex Rollout",
    "Initech Deal",
)
O6, O7, O8, O9, O10 = (
    "Umbrella Starter",
    "Pure Trial",
    "Soylent Winback",
    "Orphan Deal",
    "Acme Services",
)
ALL = {O1, O2, O3, O4, O5, O6, O7, O8, O9, O10}
ACME, GLOBEX = make_id("001", 101), make_id("001", 102)
OPP1 = make_id("006", 101)
Q = "SELECT Name FROM Opportunity WHERE "


def first_values(records: list[dict[str, Any]]) -> list[Any]:
    """The first selected field of each record."""
    return [next(v for k, v in r.items() if k != "attributes") for r in records]


# (query, expected first-field values; a set when the order is not part of the answer)
RECORD_QUERIES: list[tuple[str, set[str] | list[str]]] = [
    ("SELECT Name FROM Opportunity", ALL),
    ("select name from opportunity where name = 'acme expansion'", {O1}),
    (Q + "Name LIKE 'Acme%'", {O1, O2, O10}),
    (Q + "Name LIKE '%deal'", {O5, O9}),
    ("SELECT Name FROM Account WHERE Name LIKE '%\\%%'", {"100% Pure"}),
    ("SELECT Name FROM Account WHERE Name LIKE 'Glo_ex'", {"Globex"}),
    ("SELECT Name FROM Account WHERE Name = 'Umbrella O\\'Hare'", {"Umbrella O'Hare"}),
    (Q + "StageName IN ('Closed Won', 'closed lost')", {O1, O3, O6, O9, O10}),
    (Q + "LeadSource NOT IN ('Web')", {O2, O4, O6, O8, O9, O10}),
    (Q + "LeadSource != 'Web'", {O2, O4, O6, O8, O9, O10}),
    (Q + "LeadSource = null", {O9}),
    (Q + "LeadSource <> null", ALL - {O9}),
    (Q + "Amount = null", {O7}),
    (Q + "Amount > 20000", {O1, O4, O5, O8}),
    (Q + "Amount >= 20000", {O1, O2, O4, O5, O8}),
    (Q + "Amount < 10000", {O6, O9}),
    (Q + "Amount <= 12500.5", {O6, O9, O10}),
    (Q + "Amount != 50000", ALL - {O1}),
    (Q + "IsWon = true", {O1, O6, O10}),
    (Q + "IsClosed = FALSE", {O2, O4, O5, O7, O8}),
    (Q + "Probability > 50", {O1, O2, O6, O8, O10}),
    (
        "SELECT Name FROM Account WHERE NumberOfEmployees > 100",
        {"Acme Corp", "Globex", "Umbrella O'Hare"},
    ),
    ("SELECT Name FROM Account WHERE NumberOfEmployees IN (10, 50)", {"Initech", "100% Pure"}),
    (
        "SELECT Name FROM Account WHERE AnnualRevenue >= 1000000",
        {"Acme Corp", "Globex", "Umbrella O'Hare"},
    ),
    (Q + "(StageName = 'Prospecting' OR StageName = 'Qualification') AND Amount > 50000", {O4}),
    (Q + "StageName = 'Prospecting' OR (IsWon = true AND Amount < 10000)", {O4, O6}),
    (Q + "NOT (IsClosed = true OR Amount = null)", {O2, O4, O5, O8}),
    (Q + "NOT Name LIKE 'Acme%'", ALL - {O1, O2, O10}),
    (Q + "Owner.Email = 'ada@acme.example'", {O1, O2, O6, O8}),
    (Q + "Account.Owner.Email = 'bob@acme.example'", {O3, O4, O5}),
    (Q + "Account.Type = 'Customer'", {O1, O2, O3, O4, O6, O10}),
    (Q + "Owner.Department = null", {O7}),
    (Q + "Owner.IsActive = false", {O7}),
    (Q + "AccountId = null", {O9}),
    (Q + f"AccountId IN ('{ACME}', '{GLOBEX[:15]}')", {O1, O2, O3, O4, O10}),
    (Q + f"Id = '{OPP1}'", {O1}),
    ("SELECT Name FROM Opportunity WHERE Opportunity.Amount > 100000", {O4}),
    (Q + "CloseDate = 2026-07-05", {O1}),
    (Q + "CloseDate > 2026-09-01", {O2, O4, O8}),
    (Q + "CloseDate = TODAY", {O6}),
    (Q + "CloseDate = YESTERDAY", {O5}),
    (Q + "CloseDate = TOMORROW", {O7}),
    (Q + "CloseDate = THIS_WEEK", {O5, O6}),
    (Q + "CloseDate = LAST_MONTH", {O1, O3}),
    (Q + "CloseDate = NEXT_MONTH", {O2}),
    (Q + "CloseDate = THIS_QUARTER", {O1, O2, O3, O5, O6, O7}),
    (Q + "CloseDate = LAST_QUARTER", {O10}),
    (Q + "CloseDate = NEXT_QUARTER", {O4, O8}),
    (Q + "CloseDate = THIS_YEAR", ALL - {O9}),
    (Q + "CloseDate = LAST_YEAR", {O9}),
    (Q + "CloseDate = NEXT_YEAR", set()),
    (Q + "CloseDate = LAST_N_DAYS:7", {O5, O6}),
    (Q + "CloseDate = NEXT_N_DAYS:30", {O7}),
    (Q + "CloseDate = LAST_N_QUARTERS:2", {O10}),
    (Q + "CloseDate > THIS_MONTH", {O2, O4, O8}),
    (Q + "CloseDate < THIS_YEAR", {O9}),
    (Q + "CloseDate <= LAST_MONTH", {O1, O3, O9, O10}),
    (Q + "CloseDate != THIS_QUARTER", {O4, O8, O9, O10}),
    (Q + "CreatedDate = TODAY", {O6}),
    (Q + "CreatedDate = YESTERDAY", {O5}),
    (Q + "CreatedDate = THIS_WEEK", {O4, O5, O6, O7}),
    (Q + "CreatedDate = LAST_N_DAYS:1", {O5, O6}),
    (Q + "CreatedDate < 2026-08-15T00:00:00Z", ALL - {O6}),
    (Q + "CreatedDate >= 2026-08-15T00:30:00+01:00", {O5, O6}),
    (Q + "CreatedDate < 2026-05-01T12:00:00+02:00", {O3, O8, O9, O10}),
    ("SELECT Name FROM Opportunity ORDER BY Amount DESC NULLS LAST LIMIT 3", [O4, O1, O8]),
    ("SELECT Name FROM Opportunity ORDER BY Amount LIMIT 2", [O7, O9]),
    ("SELECT Name FROM Opportunity ORDER BY Amount DESC NULLS LAST LIMIT 2 OFFSET 1", [O1, O8]),
    (
        "SELECT Name FROM Account ORDER BY Name",
        [
            "100% Pure",
            "Acme Corp",
            "bluebird Ltd",
            "Globex",
            "Initech",
            "Soylent",
            "Umbrella O'Hare",
        ],
    ),
    (Q + "IsClosed = true ORDER BY CloseDate DESC", [O6, O3, O1, O10, O9]),
    (
        "SELECT Name FROM Opportunity ORDER BY Owner.LastName, Amount DESC NULLS LAST",
        [O4, O5, O3, O10, O9, O1, O8, O2, O6, O7],
    ),
    ("SELECT Name FROM Opportunity ORDER BY StageName ASC, Name DESC LIMIT 4", [O9, O3, O6, O10]),
    (
        (
            "SELECT Subject FROM Task WHERE Type = 'Customer Interview' AND Status = 'Completed' "
            "AND ActivityDate = THIS_QUARTER"
        ),
        {"Interview: why Globex declined"},
    ),
    (
        "SELECT Subject FROM Task WHERE AccountId = " + f"'{GLOBEX}'",  # noqa: S608  (test constants)
        {"Interview: why Globex declined"},
    ),
    (
        "SELECT Name FROM NPS_Response__c WHERE Account__r.Name = 'Globex' ORDER BY Response_Date__c",
        ["NPS-000006", "NPS-000003"],
    ),
]


@pytest.mark.parametrize(("soql", "expected"), RECORD_QUERIES, ids=[q for q, _ in RECORD_QUERIES])
def test_record_query(sf: Salesforce, soql: str, expected: set[str] | list[str]) -> None:
    """The query returns exactly the expected records (in order when the order is specified)."""
    result = sf.query(soql)
    values = first_values(result["records"])
    assert result["done"] is True
    assert result["totalSize"] == len(expected)
    if isinstance(expected, set):
        assert set(values) == expected
        assert len(values) == len(expected)
    else:
        assert values == expected


AGGREGATE_QUERIES: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "SELECT COUNT(Id), COUNT(Amount), COUNT_DISTINCT(AccountId) FROM Opportunity",
        [{"expr0": 10, "expr1": 9, "expr2": 6}],
    ),
    (
        "SELECT SUM(Amount), AVG(Amount), MIN(Amount), MAX(Amount) FROM Opportunity",
        [{"expr0": 305500.5, "expr1": 33944.5, "expr2": 5000.0, "expr3": 120000.0}],
    ),
    (
        "SELECT MIN(CloseDate) earliest, MAX(CreatedDate) latest FROM Opportunity",
        [{"earliest": "2025-12-31", "latest": "2026-08-15T00:00:00.000+0000"}],
    ),
    (
        "SELECT COUNT(Id), SUM(Amount) won FROM Opportunity WHERE IsWon = true AND CloseDate = THIS_QUARTER",
        [{"expr0": 2, "won": 58000.0}],
    ),
    (
        "SELECT StageName, COUNT(Id) n, SUM(Amount) total FROM Opportunity GROUP BY StageName ORDER BY StageName",
        [
            {"StageName": "Closed Lost", "n": 2, "total": 20000.0},
            {"StageName": "Closed Won", "n": 3, "total": 70500.5},
            {"StageName": "Needs Analysis", "n": 1, "total": None},
            {"StageName": "Negotiation/Review", "n": 1, "total": 20000.0},
            {"StageName": "Proposal/Price Quote", "n": 1, "total": 45000.0},
            {"StageName": "Prospecting", "n": 1, "total": 120000.0},
            {"StageName": "Qualification", "n": 1, "total": 30000.0},
        ],
    ),
    (
        "SELECT Owner.Email, COUNT(Id) FROM Opportunity GROUP BY Owner.Email ORDER BY COUNT(Id) DESC",
        [
            {"Email": "bob@acme.example", "expr0": 5},
            {"Email": "ada@acme.example", "expr0": 4},
            {"Email": "cy@acme.example", "expr0": 1},
        ],
    ),
    (
        "SELECT IsWon, SUM(Amount) FROM Opportunity WHERE IsClosed = true GROUP BY IsWon ORDER BY IsWon",
        [{"IsWon": False, "expr0": 20000.0}, {"IsWon": True, "expr0": 70500.5}],
    ),
    (
        (
            "SELECT Account.Industry, COUNT(Id) FROM Opportunity GROUP BY Account.Industry "
            "ORDER BY Account.Industry NULLS LAST"
        ),
        [
            {"Industry": "Finance", "expr0": 2},
            {"Industry": "Food & Beverage", "expr0": 1},
            {"Industry": "Healthcare", "expr0": 1},
            {"Industry": "Retail", "expr0": 1},
            {"Industry": "Technology", "expr0": 4},
            {"Industry": None, "expr0": 1},
        ],
    ),
    (
        (
            "SELECT Account__r.Name, AVG(Score__c) FROM NPS_Response__c GROUP BY Account__r.Name "
            "ORDER BY AVG(Score__c) DESC"
        ),
        [
            {"Name": "Acme Corp", "expr0": 9.5},
            {"Name": "Umbrella O'Hare", "expr0": 5.5},
            {"Name": "Globex", "expr0": 4.5},
        ],
    ),
    ("SELECT SUM(Amount) FROM Opportunity WHERE Name = 'nothing'", [{"expr0": None}]),
    (
        (
            "SELECT COUNT(Id) FROM NPS_Response__c WHERE Score__c >= 9 "
            "AND Response_Date__c = THIS_QUARTER AND Survey_Type__c = 'NPS'"
        ),
        [{"expr0": 2}],
    ),
    (
        (
            "SELECT LeadSource, COUNT(Id) FROM Opportunity GROUP BY LeadSource "
            "ORDER BY COUNT(Id) DESC, LeadSource LIMIT 2"
        ),
        [{"LeadSource": "Web", "expr0": 4}, {"LeadSource": "Referral", "expr0": 2}],
    ),
]


@pytest.mark.parametrize(
    ("soql", "expected"), AGGREGATE_QUERIES, ids=[q for q, _ in AGGREGATE_QUERIES]
)
def test_aggregate_query(sf: Salesforce, soql: str, expected: list[dict[str, Any]]) -> None:
    """Aggregates come back as AggregateResult rows with the hand-computed values."""
    result = sf.query(soql)
    assert result["totalSize"] == len(expected)
    assert all(r["attributes"] == {"type": "AggregateResult"} for r in result["records"])
    assert [
        {k: v for k, v in r.items() if k != "attributes"} for r in result["records"]
    ] == expected


@pytest.mark.parametrize(
    ("soql", "total"),
    [
        ("SELECT COUNT() FROM Opportunity", 10),
        ("SELECT COUNT() FROM Opportunity WHERE IsWon = true", 3),
        (
            "SELECT count() FROM Task WHERE Subject = 'Call guide v2 published' AND Status = 'Completed'",
            1,
        ),
        ("SELECT COUNT() FROM Opportunity LIMIT 4", 4),
    ],
)
def test_plain_count(sf: Salesforce, soql: str, total: int) -> None:
    """Plain COUNT() answers with totalSize only and no records."""
    assert dict(sf.query(soql)) == {"totalSize": total, "done": True, "records": []}


REJECTED: list[tuple[str, str]] = [
    ("SELECT Id FORM Opportunity", "MALFORMED_QUERY"),
    ("SELECT Id FROM Foo", "INVALID_TYPE"),
    ("SELECT Foo FROM Opportunity", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE Bogus.Name = 'x'", "INVALID_FIELD"),
    ("SELECT Id, (SELECT Id FROM Opportunities) FROM Account", "MALFORMED_QUERY"),
    (
        "SELECT StageName, COUNT(Id) FROM Opportunity GROUP BY StageName HAVING COUNT(Id) > 1",
        "MALFORMED_QUERY",
    ),
    ("SELECT TYPEOF What WHEN Account THEN Name END FROM Task", "MALFORMED_QUERY"),
    ("SELECT Id FROM Opportunity WITH SECURITY_ENFORCED", "MALFORMED_QUERY"),
    ("SELECT Id FROM Opportunity LIMIT 1 FOR UPDATE", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity)", "MALFORMED_QUERY"),
    (
        "SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Opportunity)",
        "MALFORMED_QUERY",
    ),
    ("SELECT Id FROM Opportunity WHERE Amount = '100'", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE Name = 100", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE CreatedDate = 2026-08-15", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = 2026-08-15T00:00:00Z", "INVALID_FIELD"),
    (
        "SELECT Id FROM Opportunity WHERE IsWon = true AND Amount > 1 OR Amount < 0",
        "MALFORMED_QUERY",
    ),
    ("SELECT Name, COUNT(Id) FROM Opportunity", "MALFORMED_QUERY"),
    ("SELECT Amount, COUNT(Id) FROM Opportunity GROUP BY Amount", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE Name = 'unterminated", "MALFORMED_QUERY"),
    ("SELECT Id FROM Opportunity OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
    ("SELECT Id FROM Task WHERE What.Name = 'x'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Opportunity WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = THIS_FISCAL_QUARTER", "MALFORMED_QUERY"),
    ("SELECT SUM(Name) FROM Opportunity", "MALFORMED_QUERY"),
    ("SELECT Id FROM Opportunity WHERE Name = :name", "MALFORMED_QUERY"),
    ("SELECT toLabel(StageName) FROM Opportunity", "MALFORMED_QUERY"),
    ("SELECT Id, id FROM Opportunity", "MALFORMED_QUERY"),
    ("SELECT Id FROM Opportunity WHERE Amount LIKE '5%'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Opportunity WHERE Name NOT LIKE 'A%'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Opportunity o", "MALFORMED_QUERY"),
    ("SELECT Id FROM Opportunity GROUP BY ROLLUP(StageName)", "MALFORMED_QUERY"),
    ("SELECT FIELDS(ALL) FROM Opportunity LIMIT 1", "MALFORMED_QUERY"),
    ("SELECT Id FROM Opportunity WHERE Name INCLUDES ('a')", "MALFORMED_QUERY"),
    ('SELECT Id FROM Opportunity WHERE Name = "x"', "MALFORMED_QUERY"),
    ("SELECT Id FROM NPS_Response__c WHERE Comment__c = 'x'", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity ORDER BY SUM(Amount)", "MALFORMED_QUERY"),
    ("SELECT Name FROM Opportunity ORDER BY Name LIMIT", "MALFORMED_QUERY"),
    ("SELECT MIN(CloseDate) first FROM Opportunity", "MALFORMED_QUERY"),
]


@pytest.mark.parametrize(("soql", "code"), REJECTED, ids=[q for q, _ in REJECTED])
def test_rejected_query(sf: Salesforce, soql: str, code: str) -> None:
    """A query outside the subset or with a mistake is refused with Salesforce's error code."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(soql)
    assert caught.value.status == 400
    assert caught.value.content[0]["errorCode"] == code


def _error(sf: Salesforce, soql: str) -> dict[str, Any]:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(soql)
    return dict(caught.value.content[0])


def test_syntax_error_message(sf: Salesforce) -> None:
    """A syntax error points at the token with Salesforce's row/column layout."""
    error = _error(sf, "SELECT Id FORM Opportunity")
    assert error == {
        "message": "\nSELECT Id FORM Opportunity\n          ^\nERROR at Row:1:Column:11\n"
        "unexpected token: 'FORM'",
        "errorCode": "MALFORMED_QUERY",
    }


def test_unknown_field_and_type_messages(sf: Salesforce) -> None:
    """Unknown fields and objects are named as Salesforce names them."""
    field = _error(sf, "SELECT Id, Foo FROM Opportunity")
    assert field["errorCode"] == "INVALID_FIELD"
    assert field["message"].endswith(
        "No such column 'Foo' on entity 'Opportunity'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference your "
        "WSDL or the describe call for the appropriate names."
    )
    assert "ERROR at Row:1:Column:12" in field["message"]
    kind = _error(sf, "SELECT Id FROM Foo__c")
    assert kind["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'Foo__c' is not supported." in kind["message"]


def test_records_nest_relationships_with_canonical_names(sf: Salesforce) -> None:
    """Parent fields come nested with attributes, names in describe case, typed values."""
    result = sf.query(
        "select name, account.owner.email, owner.name, amount, closedate, createddate, iswon, "
        "probability FROM opportunity WHERE Name = 'Globex Pilot'"
    )
    record = result["records"][0]
    assert record == {
        "attributes": {
            "type": "Opportunity",
            "url": f"/services/data/v59.0/sobjects/Opportunity/{make_id('006', 103)}",
        },
        "Name": "Globex Pilot",
        "Account": {
            "attributes": {
                "type": "Account",
                "url": f"/services/data/v59.0/sobjects/Account/{GLOBEX}",
            },
            "Owner": {
                "attributes": {
                    "type": "User",
                    "url": f"/services/data/v59.0/sobjects/User/{make_id('005', 102)}",
                },
                "Email": "bob@acme.example",
            },
        },
        "Owner": {
            "attributes": {
                "type": "User",
                "url": f"/services/data/v59.0/sobjects/User/{make_id('005', 102)}",
            },
            "Name": "Bob Builder",
        },
        "Amount": 15000.0,
        "CloseDate": "2026-07-18",
        "CreatedDate": "2026-04-20T14:00:00.000+0000",
        "IsWon": False,
        "Probability": 0.0,
    }


def test_null_parent_is_null(sf: Salesforce) -> None:
    """A record without a parent shows the relationship as null."""
    record = sf.query("SELECT Name, Account.Name FROM Opportunity WHERE Name = 'Orphan Deal'")[
        "records"
    ][0]
    assert record["Account"] is None


def test_describe_matches_what_is_stored(sf: Salesforce) -> None:
    """Every queryable object answers a query of every field its describe lists."""
    for entry in sf.describe()["sobjects"]:
        fields = [f["name"] for f in getattr(sf, entry["name"]).describe()["fields"]]
        result = sf.query(f"SELECT {', '.join(fields)} FROM {entry['name']} LIMIT 1")  # noqa: S608  (SOQL from test constants)
        for record in result["records"]:
            assert [k for k in record if k != "attributes"] == fields
