"""The sandbox's Bulk API 2.0 query jobs, through simple-salesforce and plain HTTP."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from okrsync_salesforce_sandbox.bulk import java_double

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests
    from simple_salesforce import Salesforce

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

QUERY = (
    "SELECT Id, Name, Amount, CloseDate, Owner.Email, Account.Name, IsWon, CreatedDate, "
    "LeadSource FROM Opportunity"
)


def later(box: RunningSalesforceSandbox, seconds: float) -> None:
    """Move the sandbox's clock forward."""
    box.clock.move_to(box.clock() + timedelta(seconds=seconds))


def results(
    sf: Salesforce, box: RunningSalesforceSandbox, job_id: str, **params: Any
) -> requests.Response:
    """``GET jobs/query/{id}/results`` as plain HTTP (simple-salesforce parses only JSON)."""
    return sf.session.get(
        f"{box.instance_url}/services/data/v{sf.sf_version}/jobs/query/{job_id}/results",
        params=params,
        headers=sf.headers,
    )


def create(sf: Salesforce, query: str = QUERY, **body: Any) -> dict[str, Any]:
    """A new query job."""
    answer: dict[str, Any] = sf.restful(
        "jobs/query", method="POST", json={"operation": "query", "query": query, **body}
    )
    return answer


def refusal(sf: Salesforce, query: str) -> tuple[int, list[dict[str, Any]]]:
    """Status and error list of a job the API refuses."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        create(sf, query)
    return caught.value.status, caught.value.content


@pytest.fixture
def box(start: Callable[..., RunningSalesforceSandbox]) -> RunningSalesforceSandbox:
    """A sandbox with the small org whose jobs take 4 s of sandbox time."""
    return start(bulk_job_seconds=4)


@pytest.fixture
def api(box: RunningSalesforceSandbox, connect: Callable[..., Salesforce]) -> Salesforce:
    """A client of ``box``."""
    return connect(box)


def test_job_moves_through_its_states_on_the_sandbox_clock(
    box: RunningSalesforceSandbox, api: Salesforce
) -> None:
    """A job is UploadComplete when created, InProgress, then JobComplete with its row count."""
    job = create(api)
    assert job["state"] == "UploadComplete"
    assert job["id"].startswith("750")
    assert {k: job[k] for k in ("operation", "object", "contentType", "columnDelimiter")} == {
        "operation": "query",
        "object": "Opportunity",
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
    }
    assert job["lineEnding"] == "LF"
    assert job["apiVersion"] == float(api.sf_version)
    later(box, 2)
    info = api.restful(f"jobs/query/{job['id']}")
    assert info["state"] == "InProgress"
    assert info["jobType"] == "V2Query"
    assert info["numberRecordsProcessed"] == 0
    early = results(api, box, job["id"])
    assert early.status_code == 412
    assert early.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"
    assert "Current status: IN_PROGRESS" in early.json()[0]["message"]
    later(box, 3)
    done = api.restful(f"jobs/query/{job['id']}")
    assert done["state"] == "JobComplete"
    assert done["numberRecordsProcessed"] == 10
    listed = api.restful("jobs/query")
    assert [j["id"] for j in listed["records"]] == [job["id"]]
    assert listed["done"] is True


def test_results_page_by_locator_with_salesforce_csv_conventions(
    box: RunningSalesforceSandbox, api: Salesforce
) -> None:
    """Sets of maxRecords rows follow Sforce-Locator to `null`; the CSV matches the REST values."""
    job = create(api)
    later(box, 5)
    rows: list[dict[str, str]] = []
    locator = ""
    sizes = []
    while True:
        params: dict[str, Any] = {"maxRecords": 4}
        if locator:
            params["locator"] = locator
        answer = results(api, box, job["id"], **params)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("text/csv")
        sizes.append(int(answer.headers["Sforce-NumberOfRecords"]))
        assert answer.text.splitlines()[0] == (
            '"Id","Name","Amount","CloseDate","Owner.Email","Account.Name","IsWon",'
            '"CreatedDate","LeadSource"'
        )
        rows.extend(csv.DictReader(io.StringIO(answer.text)))
        locator = answer.headers["Sforce-Locator"]
        if locator == "null":
            break
    assert sizes == [4, 4, 2]
    again = results(api, box, job["id"], maxRecords=4, locator=_second_locator(api, box, job))
    assert int(again.headers["Sforce-NumberOfRecords"]) == 4  # a locator can be read again
    rest = {r["Id"]: r for r in api.query_all(QUERY)["records"]}
    assert len(rows) == len(rest) == 10
    for row in rows:
        record = rest[row["Id"]]
        assert row["Name"] == record["Name"]
        assert row["Amount"] == ("" if record["Amount"] is None else java_double(record["Amount"]))
        assert row["CloseDate"] == record["CloseDate"]
        assert row["Owner.Email"] == record["Owner"]["Email"]
        assert row["Account.Name"] == (record["Account"] or {}).get("Name", "")
        assert row["IsWon"] == ("true" if record["IsWon"] else "false")
        assert row["CreatedDate"] == record["CreatedDate"].replace("+0000", "Z")
        assert row["LeadSource"] == (record["LeadSource"] or "")
    text = results(api, box, job["id"], maxRecords=100).text
    assert '"Pure Trial",,' in text  # a null is an empty, unquoted field


def _second_locator(api: Salesforce, box: RunningSalesforceSandbox, job: dict[str, Any]) -> str:
    return str(results(api, box, job["id"], maxRecords=4).headers["Sforce-Locator"])


def test_delimiter_and_line_ending_are_the_jobs(
    box: RunningSalesforceSandbox, api: Salesforce
) -> None:
    """A PIPE / CRLF job answers with those; values with the delimiter or quotes are quoted."""
    job = create(
        api,
        "SELECT Name FROM Account WHERE Name LIKE 'Umbrella%'",
        columnDelimiter="PIPE",
        lineEnding="CRLF",
    )
    later(box, 5)
    assert results(api, box, job["id"]).content == b'"Name"\r\n"Umbrella O\'Hare"\r\n'


def test_queryall_job_includes_soft_deleted_rows(
    box: RunningSalesforceSandbox, api: Salesforce
) -> None:
    """A queryAll job returns a deleted record with IsDeleted true; a query job leaves it out."""
    victim = api.query("SELECT Id FROM Opportunity WHERE Name = 'Pure Trial'")["records"][0]["Id"]
    api.Opportunity.delete(victim)
    every = create(api, "SELECT Id, IsDeleted FROM Opportunity", operation="queryAll")
    live = create(api, "SELECT Id, IsDeleted FROM Opportunity")
    later(box, 5)
    every_rows = list(csv.DictReader(io.StringIO(results(api, box, every["id"]).text)))
    live_rows = list(csv.DictReader(io.StringIO(results(api, box, live["id"]).text)))
    assert {r["Id"]: r["IsDeleted"] for r in every_rows}[victim] == "true"
    assert victim not in {r["Id"] for r in live_rows}
    assert len(every_rows) == len(live_rows) + 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT COUNT() FROM Opportunity", "Aggregate functions such as COUNT()"),
        ("SELECT SUM(Amount) FROM Opportunity", "Aggregate functions"),
        ("SELECT StageName FROM Opportunity GROUP BY StageName", "GROUP BY is not supported"),
        ("SELECT Id FROM Opportunity LIMIT 5 OFFSET 2", "OFFSET is not supported"),
        (
            "SELECT Id, (SELECT Id FROM Opportunities) FROM Account",
            "Aggregate Relationships not supported in Bulk Query",
        ),
    ],
)
def test_soql_bulk_refuses_is_a_400_at_creation(api: Salesforce, query: str, message: str) -> None:
    """GROUP BY, OFFSET, aggregates and sub-queries are refused when the job is created."""
    status, errors = refusal(api, query)
    assert status == 400
    assert errors[0]["errorCode"] == "API_ERROR"
    assert message in errors[0]["message"]


def test_unknown_field_and_unsupported_object_are_refused(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """A bad name is INVALID_FIELD at its position; an object Bulk does not serve, INVALIDENTITY."""
    api = connect(start(bulk_unsupported_objects=["NPS_Response__c"]))
    status, errors = refusal(api, "SELECT Id, Nope__c FROM Opportunity")
    assert (status, errors[0]["errorCode"]) == (400, "INVALID_FIELD")
    assert "No such column 'Nope__c'" in errors[0]["message"]
    status, errors = refusal(api, "SELECT Id FROM nps_response__c")
    assert errors == [
        {
            "message": "NPS_Response__c is not supported by the Bulk API",
            "errorCode": "INVALIDENTITY",
        }
    ]


def test_bad_request_bodies_are_json_parser_errors(api: Salesforce) -> None:
    """An unknown operation or delimiter fails to deserialize, as Salesforce answers."""
    for body in ({"operation": "upsert"}, {"columnDelimiter": "DOT"}, {"lineEnding": "CR"}):
        with pytest.raises(SalesforceMalformedRequest) as caught:
            create(api, **body)
        assert caught.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_abort_then_delete(box: RunningSalesforceSandbox, api: Salesforce) -> None:
    """A running job cannot be deleted; aborted it can, and is gone afterwards."""
    job = create(api)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        api.restful(f"jobs/query/{job['id']}", method="DELETE")
    assert caught.value.content == [
        {
            "message": "Error encountered when deleting the job because the job is not terminated",
            "errorCode": "API_ERROR",
        }
    ]
    aborted = api.restful(f"jobs/query/{job['id']}", method="PATCH", json={"state": "Aborted"})
    assert aborted["state"] == "Aborted"
    later(box, 10)
    assert api.restful(f"jobs/query/{job['id']}")["state"] == "Aborted"
    assert results(api, box, job["id"]).status_code == 412
    assert api.restful(f"jobs/query/{job['id']}", method="DELETE") is None
    with pytest.raises(SalesforceResourceNotFound):
        api.restful(f"jobs/query/{job['id']}")


def test_a_failing_job_ends_failed_with_its_message(
    box: RunningSalesforceSandbox, api: Salesforce
) -> None:
    """A fault makes the job Failed with errorMessage; its results answer 412."""
    box.app.bulk.fail_next(1, "Retried more than 15 times")
    job = create(api)
    later(box, 5)
    info = api.restful(f"jobs/query/{job['id']}")
    assert (info["state"], info["errorMessage"]) == ("Failed", "Retried more than 15 times")
    assert "Current status: FAILED" in results(api, box, job["id"]).json()[0]["message"]


def test_results_expire_seven_days_after_completion(
    box: RunningSalesforceSandbox, api: Salesforce
) -> None:
    """A completed job and its results are there for 7 days, then every call on it is a 404."""
    job = create(api)
    later(box, 5)
    first = results(api, box, job["id"], maxRecords=4)
    later(box, 6 * 86_400)
    assert results(api, box, job["id"], locator=first.headers["Sforce-Locator"]).status_code == 200
    later(box, 86_400)
    gone = results(api, box, job["id"], locator=first.headers["Sforce-Locator"])
    assert gone.status_code == 404
    assert gone.json()[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        api.restful(f"jobs/query/{job['id']}")


def test_daily_job_limit_and_limits_resource(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """Past the daily query jobs the API answers LIMIT_EXCEEDED; /limits counts them down."""
    box = start(bulk_daily_jobs=2)
    api = connect(box)
    create(api)
    assert api.restful("limits")["DailyBulkV2QueryJobs"] == {"Max": 2, "Remaining": 1}
    create(api)
    status, errors = refusal(api, QUERY)
    assert (status, errors[0]["errorCode"]) == (400, "LIMIT_EXCEEDED")
    assert errors[0]["message"].startswith("Max bulk v2 query jobs (2) per 24 hrs has been reached")
    later(box, 86_401)
    assert create(api)["state"] == "UploadComplete"


def test_every_bulk_call_is_counted_and_spends_api_quota(
    box: RunningSalesforceSandbox, api: Salesforce
) -> None:
    """Accounting counts each bulk call by endpoint and object; each one is an API request."""
    box.org.accounting.reset()
    before = box.app.quota.used
    job = create(api)
    later(box, 5)
    api.restful(f"jobs/query/{job['id']}")
    results(api, box, job["id"])
    api.restful(f"jobs/query/{job['id']}", method="DELETE")
    stats = box.org.accounting.snapshot()["salesforce"]
    assert {k: v for k, v in stats["by_endpoint"].items() if k.startswith("bulk")} == {
        "bulk_create": 1,
        "bulk_info": 1,
        "bulk_results": 1,
        "bulk_delete": 1,
    }
    assert stats["by_object"]["Opportunity"] == 4
    assert box.app.quota.used - before == 4


def test_results_need_the_jobs_api_version(box: RunningSalesforceSandbox, api: Salesforce) -> None:
    """Results asked with another API version than the job's are a 409."""
    job = create(api)
    later(box, 5)
    other = api.session.get(
        f"{box.instance_url}/services/data/v58.0/jobs/query/{job['id']}/results",
        headers=api.headers,
    )
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12500.0, "12500.0"),
        (12500.5, "12500.5"),
        (1.25e7, "1.25E7"),
        (1e-4, "1.0E-4"),
        (0.0, "0.0"),
    ],
)
def test_numbers_are_written_as_java_doubles(value: float, text: str) -> None:
    """Bulk CSV numbers read like Java's Double.toString."""
    assert java_double(value) == text
