"""A deterministic, CRM-neutral history of a sales organisation for the sandbox CRMs.

`Dataset` generates the people, accounts, deals, leads, activities, support cases
and survey responses of a mid-sized B2B company ("Acme") over a date range. Each
CRM emulator maps these neutral records to its own objects; nothing here knows
Salesforce field names or HubSpot properties.

Time model: the whole life of every entity is decided up front from the seed (a
deal's creation, close date and outcome; a lead's qualification and conversion;
an account's customer-since and churn dates). The views take an ``as_of``
instant and show the world as it was then: entities created later do not exist,
deals closing later are still open in a stage that follows the elapsed share of
their life, churn and conversions after ``as_of`` are not visible yet, and
``last_modified`` is the latest change up to ``as_of``. A demo can therefore
advance week by week and an incremental pull sees real changes.

Determinism: all randomness of entity ``i`` of a kind is a fixed vector of 16
uniforms taken from a BLAKE2b digest of ``(seed, kind, i)`` (a counter-based
generator: no state, no `random.Random` to seed), each with a fixed meaning. So
entity ``i`` never depends on which entities were generated before it, on the
order of the calls or on ``as_of``, and records are identical for the same seed,
size and ``as_of``. Creation times grow with the index along a business-hours
timeline, so "an account that existed at time t" is a draw among a prefix of
account indices, and a view stops at the first index created after ``as_of``.
The views are generators: memory stays flat whatever the size.
"""

from __future__ import annotations

import math
import struct
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime
from hashlib import blake2b
from itertools import accumulate, islice
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

__all__ = [
    "ACTIVITY_TYPES",
    "CASE_ORIGINS",
    "KINDS",
    "LEAD_SOURCES",
    "LEAD_STATUSES",
    "LIFECYCLE_STAGES",
    "LOST_STAGE",
    "MIN_SIZE",
    "OPEN_STAGES",
    "SIZES",
    "STAGE_PROBABILITY",
    "SURVEY_TYPES",
    "WON_STAGE",
    "Account",
    "Activity",
    "Case",
    "Dataset",
    "Deal",
    "Lead",
    "LeadResponse",
    "NpsResponse",
    "Team",
    "User",
]

# --------------------------------------------------------------------------- public facts

SIZES: Final[Mapping[str, int]] = MappingProxyType(
    {"small": 2_000, "medium": 50_000, "large": 600_000}
)
"""Named dataset sizes: planned entities of all kinds together."""

MIN_SIZE: Final = 200
"""The smallest integer size accepted."""

KINDS: Final = (
    "teams",
    "users",
    "accounts",
    "deals",
    "leads",
    "activities",
    "cases",
    "nps_responses",
)
"""The entity kinds, in the order `Dataset.counts` reports them."""

OPEN_STAGES: Final = ("Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation")
"""The stages of an open deal, in the order a deal passes through them."""

WON_STAGE: Final = "Closed Won"
LOST_STAGE: Final = "Closed Lost"

STAGE_PROBABILITY: Final[Mapping[str, float]] = MappingProxyType(
    {
        "Prospecting": 0.1,
        "Qualification": 0.2,
        "Needs Analysis": 0.4,
        "Proposal": 0.6,
        "Negotiation": 0.8,
        WON_STAGE: 1.0,
        LOST_STAGE: 0.0,
    }
)
"""Win probability (a fraction) of each deal stage."""

LEAD_STATUSES: Final = ("New", "Working", "Qualified", "Unqualified", "Converted")
LIFECYCLE_STAGES: Final = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
)
"""HubSpot-style lifecycle stages of a lead, from first to last."""

LEAD_SOURCES: Final = (
    "Web",
    "Referral",
    "Partner",
    "Event",
    "Advertisement",
    "Outbound",
    "Newsletter",
)
ACTIVITY_TYPES: Final = (
    "Call",
    "Email",
    "Meeting",
    "Demo",
    "Customer Interview",
    "Sales Training",
    "Other",
)
CASE_ORIGINS: Final = ("Email", "Web", "Phone", "Chat")
SURVEY_TYPES: Final = ("NPS", "CSAT", "CES")
"""Survey types: NPS scores 0–10, CSAT 1–5, CES 1–7."""

# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Team:
    """A team of the sales organisation.

    Attributes:
        id: Stable id, ``team-000001``.
        name: Display name, for example ``EMEA Sales``.
        manager_id: Id of the user who leads the team.
    """

    id: str
    name: str
    manager_id: str


@dataclass(frozen=True, slots=True)
class User:
    """A CRM user (an employee of Acme).

    Attributes:
        id: Stable id, ``usr-000001``.
        first_name: Given name.
        last_name: Family name.
        email: Unique address on ``acme.example``.
        team_id: Id of the user's team.
        title: Job title.
        active: False for people who have left.
        manager_id: Id of the user's manager; None for the top of the organisation.
    """

    id: str
    first_name: str
    last_name: str
    email: str
    team_id: str
    title: str
    active: bool
    manager_id: str | None


@dataclass(frozen=True, slots=True)
class Account:
    """A company Acme sells to (Salesforce Account, HubSpot company).

    Attributes:
        id: Stable id, ``acc-000001``.
        name: Company name with its legal form.
        industry: Industry.
        country: ISO 3166 alpha-2 country code.
        owner_id: Id of the owning user.
        created: When the record was created.
        customer_since: Day the account became a customer, once it has.
        churned_on: Day the customer left, once it has.
        annual_revenue: Annual revenue in EUR.
        employees: Number of employees.
        last_modified: Latest change up to the view's as-of instant.
    """

    id: str
    name: str
    industry: str
    country: str
    owner_id: str
    created: datetime
    customer_since: date | None
    churned_on: date | None
    annual_revenue: float
    employees: int
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class Deal:
    """A sales opportunity (Salesforce Opportunity, HubSpot deal).

    Attributes:
        id: Stable id, ``deal-000001``.
        name: Deal name.
        account_id: Id of the account, created no later than the deal.
        owner_id: Id of the owning user.
        amount: Amount in EUR; None for the few deals nobody priced.
        stage: One of `OPEN_STAGES`, `WON_STAGE` or `LOST_STAGE`.
        probability: Win probability of the stage, a fraction.
        created: When the deal was created.
        close_date: Expected close date while open, actual close date once closed.
        is_closed: Whether the deal is closed (won or lost).
        is_won: Whether the deal is closed and won.
        lead_source: Where the business came from.
        last_modified: Latest change up to the view's as-of instant.
    """

    id: str
    name: str
    account_id: str
    owner_id: str
    amount: float | None
    stage: str
    probability: float
    created: datetime
    close_date: date
    is_closed: bool
    is_won: bool
    lead_source: str
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class Lead:
    """A prospective buyer (Salesforce Lead, HubSpot contact).

    Attributes:
        id: Stable id, ``lead-000001``.
        first_name: Given name.
        last_name: Family name.
        email: Business address.
        company: Company name.
        owner_id: Id of the owning user.
        source: One of `LEAD_SOURCES`.
        status: One of `LEAD_STATUSES`.
        created: When the lead was created.
        is_converted: Whether the lead was converted to an account and a deal.
        converted_on: Day of conversion.
        converted_account_id: Account created by the conversion.
        converted_deal_id: Deal created by the conversion.
        qualified_on: When the lead became sales-qualified (stays set afterwards).
        lifecycle_stage: One of `LIFECYCLE_STAGES`.
        last_modified: Latest change up to the view's as-of instant.
    """

    id: str
    first_name: str
    last_name: str
    email: str
    company: str
    owner_id: str
    source: str
    status: str
    created: datetime
    is_converted: bool
    converted_on: date | None
    converted_account_id: str | None
    converted_deal_id: str | None
    qualified_on: datetime | None
    lifecycle_stage: str
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class Activity:
    """A task or a calendar event.

    Attributes:
        id: Stable id, ``act-000001``.
        kind: ``task`` or ``event``.
        subject: Subject line.
        type: One of `ACTIVITY_TYPES`.
        status: ``Not Started``, ``In Progress`` or ``Completed``.
        priority: ``High``, ``Normal`` or ``Low``.
        owner_id: Id of the owning user.
        account_id: Related account, if any.
        deal_id: Related deal (of the same account), if any.
        activity_date: Due date of a task, day of an event.
        created: When the activity was created.
        last_modified: Latest change up to the view's as-of instant.
    """

    id: str
    kind: str
    subject: str
    type: str
    status: str
    priority: str
    owner_id: str
    account_id: str | None
    deal_id: str | None
    activity_date: date
    created: datetime
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class Case:
    """A customer support enquiry.

    Attributes:
        id: Stable id, ``case-000001``.
        account_id: Id of the (customer) account.
        subject: Subject line.
        origin: One of `CASE_ORIGINS`.
        status: ``New``, ``Working``, ``Escalated`` or ``Closed``.
        priority: ``Low``, ``Medium`` or ``High``.
        created: When the case was opened.
        first_response_hours: Hours until the first answer, once answered.
        closed: When the case was closed, once it is.
        last_modified: Latest change up to the view's as-of instant.
    """

    id: str
    account_id: str
    subject: str
    origin: str
    status: str
    priority: str
    created: datetime
    first_response_hours: float | None
    closed: datetime | None
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class NpsResponse:
    """A customer survey response.

    Attributes:
        id: Stable id, ``nps-000001``.
        account_id: Id of the (customer) account that answered.
        score: 0–10 for NPS, 1–5 for CSAT, 1–7 for CES.
        survey_type: One of `SURVEY_TYPES`.
        submitted: When the response was submitted.
        comment: Free-text comment, if any.
        last_modified: Same as ``submitted``: responses never change.
    """

    id: str
    account_id: str
    score: int
    survey_type: str
    submitted: datetime
    comment: str | None
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class LeadResponse:
    """The first outreach of a sales rep to a new lead: a logged call or e-mail.

    Attributes:
        id: Stable id, ``rsp-000042`` for lead ``lead-000042``.
        lead_id: Id of the lead reached out to.
        owner_id: Id of the user who reached out (the lead's owner).
        channel: ``Call`` or ``Email``.
        subject: Subject line.
        at: When the rep called or wrote (the task is logged then, and completed).
    """

    id: str
    lead_id: str
    owner_id: str
    channel: str
    subject: str
    at: datetime


# --------------------------------------------------------------------------- constants

_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_MINUTE: Final = 60
_HOUR: Final = 3_600
_DAY: Final = 86_400
_WORK_START: Final = 7 * _HOUR  # business hours, UTC: 07:00-19:00 on weekdays
_WORK_SECONDS: Final = 12 * _HOUR
_SATURDAY: Final = 5
_SUNDAY: Final = 6
_GROWTH: Final = 0.85  # created-time curve: activity grows over the date range
_MIN_DAYS: Final = 30
_MAX_USERS: Final = 3_000
_MIN_USERS: Final = 12
_USERS_PER: Final = 400

# Randomness: entity i of a stream gets 16 uniforms from a BLAKE2b digest of (seed, stream, i).
_N_UNIFORMS: Final = 16
_UNPACK_U16: Final = struct.Struct(f"<{_N_UNIFORMS}H").unpack
_U16: Final = 1.0 / 65_536
_TAU: Final = 2 * math.pi
_MAX_TRY_BLOCKS: Final = 4
_MASK64: Final = (1 << 64) - 1
_GOLDEN: Final = 0x9E3779B97F4A7C15
_U53: Final = 2.0**-53
_S_USER: Final = 0
_S_ACCOUNT: Final = 1
_S_DEAL: Final = 2
_S_DEAL_VIEW: Final = 3
_S_DEAL_TRIES: Final = 4
_S_LEAD: Final = 5
_S_ACTIVITY: Final = 6
_S_ACTIVITY_TRIES: Final = 7
_S_CASE: Final = 8
_S_CASE_TRIES: Final = 9
_S_NPS: Final = 10
_S_NPS_TRIES: Final = 11
_S_RESPONSE: Final = 12
_S_ONBOARDING: Final = 13
_N_SALTS: Final = 14

# Shares of the entities that are not teams or users.
_SHARE_ACCOUNTS: Final = 0.08
_SHARE_DEALS: Final = 0.15
_SHARE_LEADS: Final = 0.30
_SHARE_ACTIVITIES: Final = 0.35
_SHARE_CASES: Final = 0.07
_IMPORTED_SHARE: Final = 0.30  # accounts loaded at go-live (the CRM's first day)

# Accounts and deals.
_P_IMPORTED_CUSTOMER: Final = 0.7
_P_FIRST_WIN: Final = 0.25
_P_EXPANSION_WIN: Final = 0.31
_P_WIN_MAX: Final = 0.75
_FIRST_DEAL_DAYS: Final = (math.log(45.0), 0.55)  # log-normal: median, sigma
_EXPANSION_DEAL_DAYS: Final = (math.log(35.0), 0.6)
_MAX_DEAL_DAYS: Final = 300
_MIN_DEAL_DAYS: Final = 7
_P_QUARTER_END: Final = 0.35
_QUARTER_END_SPREAD: Final = 10
_QUARTER_LAST_DAY: Final = (31, 30, 30, 31)
_FIRST_AMOUNT: Final = (math.log(35_000.0), 0.75)
_EXPANSION_AMOUNT: Final = (math.log(16_000.0), 0.75)
_MIN_AMOUNT: Final = 1_000.0
_P_NO_AMOUNT: Final = 0.03
_P_AMOUNT_REVISED: Final = 0.7
_P_SLIP: Final = 0.25
_P_ACCOUNT_OWNER: Final = 0.8
_P_EARLY_CHURN: Final = 0.15
_MEAN_CUSTOMER_DAYS: Final = 1_600.0
_N_OPEN: Final = len(OPEN_STAGES)
_AMOUNT_SETTLES_AT: Final = 3  # stage index from which the amount is final

# Leads.
_P_UNTOUCHED: Final = 0.12
_P_QUALIFIED: Final = 0.30
_P_DROPPED_LATER: Final = 0.4
_P_MQL: Final = 0.25
_P_UNQUALIFIED: Final = 0.65
_MAX_LEAD_LAG_DAYS: Final = 40.0
_QUALIFY_DAYS: Final = (math.log(5.0), 0.7)  # converted leads
_CONVERT_DAYS: Final = (math.log(7.0), 0.7)
_CONTACT_DAYS: Final = (math.log(1.5), 0.8)  # other leads
_QUALIFY_LATER_DAYS: Final = (math.log(6.0), 0.7)
_DROP_DAYS: Final = (math.log(12.0), 0.8)
_LEAD_MARGIN: Final = 2 * int(_MAX_LEAD_LAG_DAYS + 1) * _DAY

# Activities.
_P_ON_DEAL: Final = 0.55
_P_ON_ACCOUNT: Final = 0.9
_P_NEVER_DONE: Final = 0.05
_INTERVIEW_CAMPAIGN: Final = (date(2026, 7, 1).toordinal(), date(2026, 12, 31).toordinal())

# Cases and surveys.
_SERVICE_PROGRAM: Final = date(2026, 5, 1).toordinal()  # faster answers, happier customers

# First responses to leads: business hours (07:00-19:00 UTC, weekdays) until a rep reaches
# out, log-normal; a speed-to-lead push from the third quarter of 2026 halves the median.
_SPEED_TO_LEAD: Final = date(2026, 7, 1).toordinal()
_RESPONSE_BEFORE: Final = (math.log(3.0), 1.0)
_RESPONSE_AFTER: Final = (math.log(1.4), 0.9)
_MAX_RESPONSE_HOURS: Final = 60.0
_P_RESPONSE_CALL: Final = 0.6
_RESPONSE_SUBJECTS: Final = MappingProxyType(
    {"Call": ("First call", "Call back on enquiry"), "Email": ("Intro email", "Reply to enquiry")}
)
_RESOLVE_HOURS: Final = (math.log(30.0), 1.0)
_P_ESCALATED: Final = 0.3
_P_NEVER_CLOSED: Final = 0.03
_P_COMMENT: Final = 0.55
_P_ONBOARDING_ANSWERED: Final = 0.7  # new customers get an NPS survey 2-5 weeks after signing
_RISK_DAYS: Final = 180
_PROMOTER: Final = 9
_PASSIVE: Final = 7

# --------------------------------------------------------------------------- vocabularies


def _cum(weights: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(accumulate(weights))


def _pick(cum: tuple[float, ...], u: float) -> int:
    """Index drawn from cumulative weights ``cum`` with the uniform ``u``."""
    i = bisect_right(cum, u * cum[-1])
    return i if i < len(cum) else len(cum) - 1


def _ascii(text: str) -> str:
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("Ä", "Ae"), ("Ö", "Oe")):
        text = text.replace(a, b)
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum() or c == "-")


_TEAM_NAMES: Final = (
    "Management",
    "EMEA Sales",
    "Americas Sales",
    "New Business",
    "Sales Operations",
    "Customer Success",
)
_HEADS: Final = (
    ("Katrin", "Weber", "Chief Revenue Officer"),
    ("Lena", "Hoffmann", "Head of EMEA Sales"),
    ("Michael", "Brooks", "Head of Americas Sales"),
    ("Jonas", "Becker", "Head of New Business"),
    ("Sofia", "Marino", "Head of Sales Operations"),
    ("Amélie", "Laurent", "Head of Customer Success"),
)
_LENA: Final = 1
_CALL_GUIDE: Final = "Call guide v2 published"
_SALES_OPS_HEAD: Final = 4
_SALES_TEAMS: Final = (1, 2, 3)
_MEMBER_TEAMS: Final = (1, 3, 1, 2, 5, 3, 1, 4, 2, 3, 1, 5, 3, 2, 1, 3, 5, 1, 2, 3)
_AE: Final = "Account Executive"
_SENIOR_AE: Final = "Senior Account Executive"
_SDR: Final = "Sales Development Representative"
_TEAM_TITLES: Final = (
    (("Chief Executive Officer", 1.0),),
    ((_AE, 50.0), (_SENIOR_AE, 25.0), (_SDR, 25.0)),
    ((_AE, 50.0), (_SENIOR_AE, 25.0), (_SDR, 25.0)),
    ((_AE, 45.0), (_SDR, 45.0), (_SENIOR_AE, 10.0)),
    (("Sales Operations Analyst", 60.0), ("Revenue Operations Engineer", 40.0)),
    (("Customer Success Manager", 70.0), ("Support Engineer", 30.0)),
)
_CLOSER_WEIGHT: Final = MappingProxyType({_SENIOR_AE: 1.5, _AE: 1.0})
_HEAD_CLOSER_WEIGHT: Final = 0.3
_LEAD_OWNER_WEIGHT: Final = MappingProxyType({_SDR: 3.0, _AE: 0.5, _SENIOR_AE: 0.3})
_FIRST_PROTECTED_MEMBERS: Final = 12
_P_INACTIVE: Final = 0.06

_FIRST_NAMES: Final = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hannah", "Ivan", "Julia",
    "Karl", "Laura", "Marco", "Nina", "Oskar", "Paula", "Quentin", "Rosa", "Stefan", "Tara",
    "Ulrich", "Vera", "William", "Xenia", "Yusuf", "Zoe", "Amir", "Björn", "Chloé", "Daniel",
    "Emma", "Fatima", "Georg", "Helena", "Isabel", "Jan", "Katja", "Lukas", "Maja", "Niklas",
    "Olivia", "Pierre", "Rafael", "Sara", "Tobias", "Ugo", "Valentina", "Wen", "Yara", "Zofia",
    "Alexander", "Beatriz", "Carlos", "Dana", "Erik", "Femke", "Giulia", "Henrik", "Inès",
    "Mats",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Wagner", "Meyer", "Schulz", "Koch", "Richter",
    "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger",
    "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler", "Maier", "Huber", "Kaiser",
    "Fuchs", "Peters", "Jansen", "de Vries", "van Dijk", "Dubois", "Martin", "Lefebvre", "Rossi",
    "Bianchi", "Romano", "García", "Fernández", "López", "Nowak", "Kowalski", "Lindberg",
    "Andersson", "Nilsson", "Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Murphy",
    "O'Brien", "Novak", "Horvat", "Costa", "Silva", "Berg", "Vogel", "Keller",
)  # fmt: skip

_FIRST_ASCII: Final = tuple(_ascii(n) for n in _FIRST_NAMES)
_LAST_ASCII: Final = tuple(_ascii(n) for n in _LAST_NAMES)
_ROOTS: Final = (
    "Nordwind", "Bluepeak", "Alpenglow", "Rheinstahl", "Silverline", "Brightwater",
    "Falkenberg", "Ostsee", "Greenfield", "Hansa", "Lindqvist", "Meridian", "Northstar",
    "Oakridge", "Polaris", "Quellwerk", "Redwood", "Sonnenhof", "Tannenberg", "Vantage", "Weser",
    "Zephyr", "Arcadia", "Bergmann", "Castellan", "Donau", "Elbtal", "Fjord", "Granite", "Helios",
    "Isar", "Juniper", "Kestrel", "Lumen", "Mosel", "Neckar", "Orion", "Pinnacle", "Quadra",
    "Riviera", "Saxon", "Tauern", "Unterberg", "Vesta", "Xenon", "Zugspitze", "Aurora",
    "Borealis", "Crescent", "Evergreen", "Frontier", "Glacier", "Harbor", "Keystone",
    "Lighthouse", "Monarch", "Nexus", "Odin", "Pioneer", "Summit",
)  # fmt: skip
_INDUSTRY_WORDS: Final = (
    ("Technology", ("Systems", "Software", "Digital", "Analytics", "Networks", "Cloud")),
    ("Manufacturing", ("Maschinenbau", "Werke", "Components", "Industries", "Tooling")),
    ("Logistics", ("Logistik", "Freight", "Transport", "Shipping")),
    ("Healthcare", ("Health", "Medical", "Pharma", "Care")),
    ("Financial Services", ("Capital", "Finance", "Versicherung", "Invest")),
    ("Retail", ("Retail", "Stores", "Handel", "Commerce")),
    ("Energy", ("Energy", "Solar", "Power", "Wind")),
    ("Professional Services", ("Consulting", "Advisory", "Beratung")),
    ("Construction", ("Bau", "Construction", "Immobilien")),
    ("Media", ("Media", "Studios", "Verlag")),
)
_WORDS: Final = tuple((word, industry) for industry, words in _INDUSTRY_WORDS for word in words)
_VARIANTS: Final = (
    "", " Group", " International", " Holding", " Europe", " Nord", " Süd", " West", " Ost",
    " Global", " Direct", " Plus", " One", " Pro", " United", " Alliance", " & Söhne",
    " Union", " Select", " Prime",
)  # fmt: skip
_NAME_SPACE: Final = len(_ROOTS) * len(_WORDS) * len(_VARIANTS)
_ROOTS_ASCII: Final = tuple(_ascii(r) for r in _ROOTS)
_WORDS_ASCII: Final = tuple(_ascii(w) for w, _ in _WORDS)
_NAME_STRIDE: Final = 7_919  # prime, coprime with _NAME_SPACE: a permutation of names

_COUNTRIES: Final = (
    ("DE", "GmbH", 30.0),
    ("GB", "Ltd", 10.0),
    ("FR", "SAS", 10.0),
    ("NL", "B.V.", 7.0),
    ("AT", "GmbH", 5.0),
    ("CH", "AG", 5.0),
    ("SE", "AB", 4.0),
    ("ES", "S.L.", 5.0),
    ("IT", "S.p.A.", 5.0),
    ("PL", "Sp. z o.o.", 4.0),
    ("US", "Inc.", 12.0),
    ("CA", "Inc.", 3.0),
)
_COUNTRY_CUM: Final = _cum(tuple(c[2] for c in _COUNTRIES))
_SOURCE_CUM: Final = _cum((30.0, 12.0, 10.0, 12.0, 10.0, 16.0, 10.0))
_NEWSLETTER: Final = "Newsletter"
_EXISTING_CUSTOMER: Final = "Existing Customer"
_FIRST_PRODUCT: Final = "New business"
_EXPANSIONS: Final = (
    "Expansion: more seats",
    "Analytics add-on",
    "Renewal",
    "Premium support",
    "Enterprise upgrade",
    "Onboarding package",
)

# Activity types, weights outside and inside the interview campaign.
_ACT_TYPES: Final = ("Call", "Email", "Meeting", "Demo", "Customer Interview", "Other")
_ACT_CUM: Final = _cum((30.0, 28.0, 16.0, 8.0, 0.5, 6.0))
_ACT_CUM_CAMPAIGN: Final = _cum((30.0, 28.0, 16.0, 8.0, 3.0, 6.0))
_EVENT_TYPES: Final = frozenset({"Meeting", "Demo", "Sales Training"})
_INTERVIEW: Final = "Customer Interview"
_TRAINING: Final = "Sales Training"
_SUBJECTS: Final = MappingProxyType(
    {
        "Call": (
            "Discovery call",
            "Follow-up call",
            "Check-in call",
            "Pricing call",
            "Reference call",
        ),
        "Email": (
            "Sent proposal",
            "Follow-up on proposal",
            "Sent case study",
            "Meeting recap",
            "Intro email",
        ),
        "Meeting": (
            "Kick-off meeting",
            "Quarterly business review",
            "Onboarding session",
            "Executive sponsor meeting",
        ),
        "Demo": ("Product demo", "Technical deep dive", "Analytics add-on demo"),
        "Other": (
            "Prepare proposal",
            "Update account plan",
            "Contract review",
            "Send reference list",
        ),
    }
)
_LEAD_DAYS: Final = MappingProxyType(
    {
        "Call": (0, 4),
        "Email": (0, 2),
        "Meeting": (2, 14),
        "Demo": (3, 14),
        _INTERVIEW: (3, 10),
        "Other": (1, 10),
    }
)
_PRIORITY_CUM: Final = _cum((15.0, 70.0, 15.0))
_PRIORITIES: Final = ("High", "Normal", "Low")
_TRAINING_TOPICS: Final = (
    "objection handling",
    "value selling",
    "discovery questions",
    "negotiation",
    "pipeline hygiene",
    "storytelling with references",
)

_ORIGIN_CUM: Final = _cum((38.0, 27.0, 25.0, 10.0))
_CASE_PRIORITY_CUM: Final = _cum((25.0, 55.0, 20.0))
_CASE_PRIORITIES: Final = ("Low", "Medium", "High")
_CASE_SUBJECTS: Final = (
    "Cannot log in",
    "Question about invoice",
    "Export fails with a timeout",
    "Data sync delayed",
    "Password reset",
    "Integration returns error 502",
    "How do I add users?",
    "Report shows wrong totals",
    "Onboarding question",
    "Feature request: bulk edit",
)
_RESPONSE_MEDIAN_BEFORE: Final = math.log(3.2)
_RESPONSE_MEDIAN_AFTER: Final = math.log(2.3)

_SURVEY_CUM: Final = _cum((85.0, 9.0, 6.0))
_NPS_BASE: Final = _cum((2.0, 1.5, 2.0, 2.5, 3.5, 5.0, 7.5, 10.0, 17.0, 22.0, 27.0))
_NPS_IMPROVED: Final = _cum((1.0, 1.0, 1.5, 2.0, 2.5, 4.0, 6.0, 9.0, 17.0, 24.0, 32.0))
_NPS_AT_RISK: Final = _cum((8.0, 6.0, 8.0, 9.0, 10.0, 10.0, 11.0, 10.0, 12.0, 8.0, 8.0))
_CSAT_CUM: Final = _cum((5.0, 8.0, 17.0, 40.0, 30.0))
_CES_CUM: Final = _cum((3.0, 5.0, 8.0, 14.0, 25.0, 27.0, 18.0))
_COMMENTS: Final = (
    (
        "Support took far too long to answer.",
        "Too many bugs in the last release.",
        "Pricing went up without notice.",
        "The integration keeps breaking.",
    ),
    (
        "Solid product, the reporting could be better.",
        "Good, but onboarding took a while.",
        "Does the job; pricing could be clearer.",
    ),
    (
        "Great onboarding, the team really cares.",
        "Saves us hours every week.",
        "Our account manager is fantastic.",
        "Best tool we introduced this year.",
    ),
)

# --------------------------------------------------------------------------- helpers


def _mix64(x: int) -> int:
    """SplitMix64 finaliser: a cheap, well-spread 64-bit hash."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _ord(ts: int) -> int:
    return _EPOCH_ORDINAL + ts // _DAY


def _day_ts(ordinal: int) -> int:
    return (ordinal - _EPOCH_ORDINAL) * _DAY


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _weekday(ordinal: int) -> int:
    return (ordinal + 6) % 7


def _next_weekday(ordinal: int) -> int:
    wd = _weekday(ordinal)
    return ordinal + (2 if wd == _SATURDAY else 1 if wd == _SUNDAY else 0)


def _quarter_end(ordinal: int) -> int:
    day = date.fromordinal(ordinal)
    q = (day.month - 1) // 3
    return date(day.year, 3 * q + 3, _QUARTER_LAST_DAY[q]).toordinal()


def _normals(u1: float, u2: float) -> tuple[float, float]:
    """Two independent standard normal values from two uniforms (Box-Muller)."""
    r = math.sqrt(-2.0 * math.log(u1))
    return r * math.cos(_TAU * u2), r * math.sin(_TAU * u2)


def _lognormal(mu_sigma: tuple[float, float], z: float) -> float:
    return math.exp(mu_sigma[0] + mu_sigma[1] * z)


def _close_ordinal(created_ord: int, days: float, u_season: float, u_day: float) -> int:
    """Close day of a deal: after ``days``, often pulled to its quarter's end, never a weekend."""
    earliest = created_ord + _MIN_DEAL_DAYS
    close = max(earliest, created_ord + int(min(days, _MAX_DEAL_DAYS)))
    if u_season < _P_QUARTER_END:
        pushed = _quarter_end(close) - int(u_day * _QUARTER_END_SPREAD)
        if pushed >= earliest:
            close = pushed
    wd = _weekday(close)
    if wd >= _SATURDAY:
        back = close - (wd - 4)
        close = back if back >= earliest else _next_weekday(close)
    return close


def _close_ts(close_ord: int, u: float) -> int:
    """Deals close in the afternoon (15:00-18:00 UTC) of their close day."""
    return _day_ts(close_ord) + 15 * _HOUR + int(u * 3 * _HOUR)


def _business_add(ts: int, seconds: float) -> int:
    """The instant ``seconds`` of business hours (07:00-19:00 UTC, weekdays) after ``ts``."""
    day, left = _ord(ts), seconds
    while True:
        if _weekday(day) < _SATURDAY:
            opens = _day_ts(day) + _WORK_START
            begin = max(ts, opens)
            room = opens + _WORK_SECONDS - begin
            if left <= room:
                return begin + int(left)
            left -= max(0, room)
        day += 1
        ts = _day_ts(day)


def _mood(survey: str, score: int) -> int:
    """0 unhappy, 1 neutral, 2 happy."""
    if survey == "NPS":
        return 2 if score >= _PROMOTER else 1 if score >= _PASSIVE else 0
    top = 5 if survey == "CSAT" else 7
    return 2 if score >= top - 1 else 1 if score >= top - 2 else 0


def _team_of(user: int) -> int:
    """Team index of user ``user``: the first users lead the teams, the rest cycle through them."""
    if user < len(_HEADS):
        return user
    return _MEMBER_TEAMS[(user - len(_HEADS)) % len(_MEMBER_TEAMS)]


def _id(prefix: str, i: int) -> str:
    return f"{prefix}-{i + 1:06d}"


class _Pool(NamedTuple):
    """Users to draw owners from, with their weights."""

    users: tuple[int, ...]
    weights: tuple[float, ...]
    cum: tuple[float, ...]

    @classmethod
    def of(cls, weighted: list[tuple[int, float]]) -> _Pool:
        weights = tuple(w for _, w in weighted)
        return cls(tuple(u for u, _ in weighted), weights, _cum(weights))

    def pick(self, u: float) -> int:
        return self.users[_pick(self.cum, u)]


class _Timeline:
    """Maps positions in [0, 1] to business-hour instants of the date range, growing over time."""

    __slots__ = ("begin", "day_starts", "end", "total")

    def __init__(self, start: date, end: date) -> None:
        ordinals = [
            o for o in range(start.toordinal(), end.toordinal() + 1) if _weekday(o) < _SATURDAY
        ]
        self.day_starts = tuple(_day_ts(o) + _WORK_START for o in ordinals)
        self.total = len(ordinals) * _WORK_SECONDS
        self.begin = _day_ts(start.toordinal())
        self.end = _day_ts(end.toordinal()) + _DAY - 1

    def at(self, x: float) -> int:
        """The instant (seconds since the epoch) at position ``x``; never decreasing in ``x``."""
        b = math.pow(x, _GROWTH) * self.total
        k = int(b // _WORK_SECONDS)
        if k >= len(self.day_starts):
            return self.day_starts[-1] + _WORK_SECONDS - 1
        return self.day_starts[k] + int(b - k * _WORK_SECONDS)

    def position(self, ts: float) -> float:
        """The largest position whose instant is not after ``ts`` (the inverse of `at`)."""
        k = bisect_right(self.day_starts, ts) - 1
        if k < 0:
            return 0.0
        within = min(ts - self.day_starts[k], _WORK_SECONDS)
        return min(1.0, math.pow((k * _WORK_SECONDS + within) / self.total, 1 / _GROWTH))


class _AccountCore(NamedTuple):
    """The life of an account: everything other kinds need to refer to it."""

    i: int
    created: int
    owner: int
    source: str
    country: int
    since_ord: int | None = None
    since_ts: int | None = None
    churn_ord: int | None = None
    churn_ts: int | None = None
    first_won: bool = False
    first_close_ord: int = 0
    first_close_ts: int = 0

    def customer_at(self, ts: int) -> bool:
        return (
            self.since_ts is not None
            and self.since_ts <= ts
            and (self.churn_ts is None or self.churn_ts > ts)
        )


class _DealCore(NamedTuple):
    """The life of a deal, as far as activities need it."""

    i: int
    created: int
    close_ord: int
    close_ts: int
    won: bool
    account: _AccountCore
    owner: int
    first: bool


class _LeadEvents(NamedTuple):
    """When a lead was contacted, marketing- and sales-qualified, dropped, converted, won."""

    contacted: int | None = None
    mql: int | None = None
    qualified: int | None = None
    unqualified: int | None = None
    converted: int | None = None
    customer: int | None = None

    def state(
        self, created: int, at: int, initial: str
    ) -> tuple[str, str, int, int | None, int | None]:
        """Status, lifecycle stage, last change, qualified and converted instants at ``at``."""
        status, stage, last = "New", initial, created
        qualified: int | None = None
        converted: int | None = None
        if self.contacted is not None and self.contacted <= at:
            status, stage, last = "Working", "lead", self.contacted
        if self.mql is not None and self.mql <= at:
            stage, last = "marketingqualifiedlead", max(last, self.mql)
        if self.qualified is not None and self.qualified <= at:
            status, stage, last = "Qualified", "salesqualifiedlead", self.qualified
            qualified = self.qualified
        if self.unqualified is not None and self.unqualified <= at:
            status, last = "Unqualified", self.unqualified
        if self.converted is not None and self.converted <= at:
            status, stage, last = "Converted", "opportunity", self.converted
            converted = self.converted
            if self.customer is not None and self.customer <= at:
                stage, last = "customer", self.customer
        return status, stage, last, qualified, converted


class _Script(NamedTuple):
    """A planned activity: the call guide milestone, trainings, interviews."""

    created: int
    day: int
    done: int
    type: str
    subject: str
    owner: int
    priority: str
    linked: bool


class _Plan(NamedTuple):
    users: int
    accounts: int
    deals: int
    leads: int
    activities: int
    cases: int
    nps: int


def _plan(total: int) -> _Plan:
    users = min(_MAX_USERS, max(_MIN_USERS, total // _USERS_PER))
    rest = total - len(_TEAM_NAMES) - users
    accounts = round(rest * _SHARE_ACCOUNTS)
    deals = round(rest * _SHARE_DEALS)
    leads = round(rest * _SHARE_LEADS)
    activities = round(rest * _SHARE_ACTIVITIES)
    cases = round(rest * _SHARE_CASES)
    nps = rest - accounts - deals - leads - activities - cases
    return _Plan(users, accounts, deals, leads, activities, cases, nps)


def _resolve_size(size: str | int) -> int:
    if isinstance(size, bool):
        raise TypeError("size must be a preset name or an integer, not a bool")
    if isinstance(size, str):
        if size not in SIZES:
            raise ValueError(
                f"unknown dataset size {size!r}: expected one of {', '.join(SIZES)} or an integer"
            )
        return SIZES[size]
    if size < MIN_SIZE:
        raise ValueError(f"dataset size must be at least {MIN_SIZE}, got {size}")
    return size


def _as_of_ts(as_of: datetime) -> int:
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError(f"as_of must be timezone-aware, got {as_of!r}")
    return math.floor(as_of.timestamp())


# --------------------------------------------------------------------------- the dataset


class Dataset:
    """A deterministic history of Acme's sales organisation.

    Args:
        seed: Any integer; the same seed, size and as-of instant give the same records.
        size: ``small`` (about 2 000 entities), ``medium`` (50 000), ``large``
            (600 000) or an integer of at least `MIN_SIZE`.
        start: First day of the history (the CRM's go-live).
        end: Last day of the history.
        history: Whose history: each CRM seeds its own (a sandbox passes its
            name), so their accounts, deals, leads, activities, cases and
            responses differ, while the organisation (teams and users) is the
            same in every CRM. The same seed and history give the same records.

    Raises:
        ValueError: For an unknown size, a size below `MIN_SIZE` or a range shorter than 30 days.
    """

    def __init__(
        self,
        seed: int,
        size: str | int,
        start: date = date(2025, 7, 1),
        end: date = date(2026, 12, 31),
        *,
        history: str = "",
    ) -> None:
        self._seed = seed
        self._history = history
        self._size = _resolve_size(size)
        if (end - start).days + 1 < _MIN_DAYS:
            raise ValueError(f"the date range {start}..{end} must span at least {_MIN_DAYS} days")
        self._start = start
        self._end = end
        self._plan = _plan(self._size)
        self._imported = max(1, round(self._plan.accounts * _IMPORTED_SHARE))
        self._new = self._plan.accounts - self._imported
        self._tl = _Timeline(start, end)
        self._midpoint = (self._tl.begin + self._tl.end) // 2
        root = blake2b(str(seed).encode(), digest_size=16, person=b"okrsync-dataset").digest()
        # the organisation comes from the seed alone; the sales history also from `history`
        story = (
            blake2b(root + history.encode(), digest_size=16, person=b"okrsync-history").digest()
            if history
            else root
        )
        self._prefixes = tuple(
            (root if salt == _S_USER else story) + bytes([salt]) for salt in range(_N_SALTS)
        )
        self._name_offset = int.from_bytes(story[8:], "little") % _NAME_SPACE
        self._users, self._skill = self._build_users()
        # Owner pools for records created before and after the midpoint (then: active users).
        (closers, lead_owners), (active_closers, active_lead_owners) = (
            self._pools(active_only=False),
            self._pools(active_only=True),
        )
        self._closers = (closers, active_closers)
        self._lead_owners = (lead_owners, active_lead_owners)
        # New accounts from this index on are created after the midpoint (active owners only).
        self._late_accounts = math.ceil(self._new * self._tl.position(self._midpoint))
        self._fate_key = int.from_bytes(story[:8], "little")
        self._p_first_win, self._first_owners = self._first_deal_odds()
        self._scripts = MappingProxyType(self._place_scripts())

    def __repr__(self) -> str:
        return (
            f"Dataset(seed={self._seed}, size={self._size}, start={self._start}, end={self._end}"
            + (f", history={self._history!r})" if self._history else ")")
        )

    # ----------------------------------------------------------------------- facts

    @property
    def seed(self) -> int:
        """The seed."""
        return self._seed

    @property
    def size(self) -> int:
        """The planned number of entities of all kinds (the resolved size)."""
        return self._size

    @property
    def start(self) -> date:
        """First day of the history."""
        return self._start

    @property
    def end(self) -> date:
        """Last day of the history."""
        return self._end

    @property
    def total_rows(self) -> int:
        """The planned number of entities of all kinds; all exist as of the end of the range."""
        return sum(self.planned.values())

    @property
    def planned(self) -> dict[str, int]:
        """The planned number of entities per kind (a new dict on each access)."""
        p = self._plan
        return {
            "teams": len(_TEAM_NAMES),
            "users": p.users,
            "accounts": p.accounts,
            "deals": p.deals,
            "leads": p.leads,
            "activities": p.activities,
            "cases": p.cases,
            "nps_responses": p.nps,
        }

    # ----------------------------------------------------------------------- views

    def teams(self) -> Iterator[Team]:
        """The teams (they exist for the whole range)."""
        for i, name in enumerate(_TEAM_NAMES):
            yield Team(_id("team", i), name, self._users[i].id)

    def users(self) -> Iterator[User]:
        """The users (they exist for the whole range)."""
        return iter(self._users)

    def accounts(self, as_of: datetime) -> Iterator[Account]:
        """The accounts as they were at ``as_of``, in id order."""
        return self._accounts(_as_of_ts(as_of))

    def deals(self, as_of: datetime) -> Iterator[Deal]:
        """The deals as they were at ``as_of``, in id order."""
        return self._deals(_as_of_ts(as_of))

    def leads(self, as_of: datetime) -> Iterator[Lead]:
        """The leads as they were at ``as_of``, in id order."""
        return self._leads(_as_of_ts(as_of))

    def activities(self, as_of: datetime) -> Iterator[Activity]:
        """The tasks and events as they were at ``as_of``, in id order."""
        return self._activities(_as_of_ts(as_of))

    def cases(self, as_of: datetime) -> Iterator[Case]:
        """The support cases as they were at ``as_of``, in id order."""
        return self._cases(_as_of_ts(as_of))

    def lead_responses(self, as_of: datetime) -> Iterator[LeadResponse]:
        """The first outreach to each lead made up to ``as_of``, in lead id order.

        Leads nobody ever works get none; a lead is reached out to within its
        owner's business hours, at the latest when it is first worked.
        """
        return self._lead_responses(_as_of_ts(as_of))

    def onboarding_surveys(self, as_of: datetime) -> Iterator[NpsResponse]:
        """The onboarding NPS surveys answered up to ``as_of``, in account id order.

        Each new customer (not one imported at go-live) is asked two to five
        weeks after signing; most answer (ids ``onb-`` and the account's number).
        They come on top of `nps_responses` and are not in `counts`.
        """
        return self._onboarding(_as_of_ts(as_of))

    def nps_responses(self, as_of: datetime) -> Iterator[NpsResponse]:
        """The survey responses submitted up to ``as_of``, in id order."""
        return self._nps(_as_of_ts(as_of))

    def counts(self, as_of: datetime) -> dict[str, int]:
        """How many entities of each kind exist at ``as_of`` (keys as in `KINDS`).

        Cheaper than iterating the views: only creation instants are computed.
        """
        at = _as_of_ts(as_of)
        p = self._plan

        def count(bound: int, created: Callable[[int], int]) -> int:
            return sum(1 for i in range(bound) if created(i) <= at)

        return {
            "teams": len(_TEAM_NAMES),
            "users": p.users,
            "accounts": count(
                self._account_bound(at),
                lambda j: self._account_created(j, self._u(_S_ACCOUNT, j)),
            ),
            "deals": count(self._bound(p.deals, at), self._deal_created),
            "leads": count(
                self._bound(p.leads, at + _LEAD_MARGIN), lambda i: self._lead_created(i)[0]
            ),
            "activities": count(self._bound(p.activities, at), self._activity_created),
            "cases": count(
                self._bound(p.cases, at), lambda i: self._slot(i, p.cases, self._u(_S_CASE, i))
            ),
            "nps_responses": count(
                self._bound(p.nps, at), lambda i: self._slot(i, p.nps, self._u(_S_NPS, i))
            ),
        }

    # ----------------------------------------------------------------------- plumbing

    def _u(self, salt: int, i: int) -> list[float]:
        """The 16 uniforms in (0, 1) of entity ``i`` in stream ``salt``."""
        data = self._prefixes[salt] + i.to_bytes(8, "little") + b"\x00\x00"
        digest = blake2b(data, digest_size=2 * _N_UNIFORMS).digest()
        return [(x + 0.5) * _U16 for x in _UNPACK_U16(digest)]

    def _tries(self, salt: int, i: int) -> Iterator[float]:
        """Uniforms for the attempts of a look-up (up to 64)."""
        for block in range(_MAX_TRY_BLOCKS):
            data = self._prefixes[salt] + i.to_bytes(8, "little") + block.to_bytes(2, "little")
            digest = blake2b(data, digest_size=2 * _N_UNIFORMS).digest()
            for x in _UNPACK_U16(digest):
                yield (x + 0.5) * _U16

    def _bound(self, n: int, at: float) -> int:
        """Indices from here on are created after ``at`` (creation follows the index)."""
        if n == 0:
            return 0
        return min(n, int(n * self._tl.position(at)) + 2)

    def _account_bound(self, at: float) -> int:
        """Accounts from here on are created after ``at`` (the imported ones come first)."""
        return self._imported + self._bound(self._new, at)

    def _slot(self, i: int, n: int, u: list[float]) -> int:
        """Creation instant of entity ``i`` of ``n`` spread along the timeline."""
        return self._tl.at((i + u[0]) / n)

    def _closer(self, ts: int, u: float) -> int:
        return self._closers[ts >= self._midpoint].pick(u)

    def _lead_owner(self, ts: int, u: float) -> int:
        return self._lead_owners[ts >= self._midpoint].pick(u)

    def _accounts_before(self, ts: int) -> int:
        """How many accounts certainly exist a minute before ``ts`` (a prefix of indices)."""
        return self._imported + min(
            self._new, max(0, int(self._new * self._tl.position(ts - _MINUTE)))
        )

    def _uid(self, user: int) -> str:
        return self._users[user].id

    # ----------------------------------------------------------------------- users

    def _build_users(self) -> tuple[tuple[User, ...], tuple[float, ...]]:
        users: list[User] = []
        skill: list[float] = []
        emails: set[str] = set()
        seen_team: set[int] = set()
        for i in range(self._plan.users):
            u = self._u(_S_USER, i)
            skill.append(min(1.6, max(0.6, math.exp(0.25 * _normals(u[0], u[1])[0]))))
            team = _team_of(i)
            if i < len(_HEADS):
                first, last, title = _HEADS[i]
                manager, active = (None if i == 0 else _id("usr", 0)), True
            else:
                titles = _TEAM_TITLES[team]
                if team in seen_team:
                    title = titles[_pick(_cum(tuple(t[1] for t in titles)), u[2])][0]
                else:
                    title = titles[0][0]
                seen_team.add(team)
                first = _FIRST_NAMES[int(u[3] * len(_FIRST_NAMES))]
                last = _LAST_NAMES[int(u[4] * len(_LAST_NAMES))]
                manager = _id("usr", team)
                active = i < _FIRST_PROTECTED_MEMBERS or u[5] >= _P_INACTIVE
            local = f"{_ascii(first)}.{_ascii(last)}"
            email = f"{local}@acme.example"
            n = 2
            while email in emails:
                email = f"{local}{n}@acme.example"
                n += 1
            emails.add(email)
            users.append(
                User(_id("usr", i), first, last, email, _id("team", team), title, active, manager)
            )
        return tuple(users), tuple(skill)

    def _pools(self, *, active_only: bool) -> tuple[_Pool, _Pool]:
        """Owners of accounts and deals (closers) and owners of leads, with their weights."""
        closers: list[tuple[int, float]] = []
        leaders: list[tuple[int, float]] = []
        for i, user in enumerate(self._users):
            if (active_only and not user.active) or _team_of(i) not in _SALES_TEAMS:
                continue
            if i < len(_HEADS):
                closers.append((i, _HEAD_CLOSER_WEIGHT * self._skill[i]))
                continue
            if user.title in _CLOSER_WEIGHT:
                closers.append((i, _CLOSER_WEIGHT[user.title] * (0.5 + self._skill[i])))
            if user.title in _LEAD_OWNER_WEIGHT:
                leaders.append((i, _LEAD_OWNER_WEIGHT[user.title]))
        return _Pool.of(closers), _Pool.of(leaders)

    def _first_deal_odds(self) -> tuple[tuple[float, float], tuple[tuple[_Pool, _Pool], ...]]:
        """Win rate of first deals and owner pools by outcome, before and after the midpoint."""
        rates: list[float] = []
        pools: list[tuple[_Pool, _Pool]] = []
        for pool in self._closers:
            odds = [
                (user, w, min(_P_WIN_MAX, _P_FIRST_WIN * self._skill[user]))
                for user, w in zip(pool.users, pool.weights, strict=True)
            ]
            rates.append(sum(w * q for _, w, q in odds) / sum(pool.weights))
            lost = _Pool.of([(user, w * (1 - q)) for user, w, q in odds])
            won = _Pool.of([(user, w * q) for user, w, q in odds])
            pools.append((lost, won))
        return (rates[0], rates[1]), tuple(pools)

    # ----------------------------------------------------------------------- accounts

    # Uniforms of an account: 0 slot, 1 source, 2 country, 3 customer-since of an imported
    # customer, 4-5 first deal's length, 6-7 quarter-end push, 8 close hour, 9 early churn,
    # 10 lifetime, 11 churn hour, 12-13 revenue and head count, 14 owner. Whether it is or
    # becomes a customer comes from a cheaper hash (`_fated`).

    def _account_created(self, j: int, u: list[float]) -> int:
        if j < self._imported:  # loaded at go-live, in the night of the first day
            return self._tl.begin + 2 * _HOUR + (j * _HOUR) // self._imported
        return self._tl.at((j - self._imported + u[0]) / self._new)

    def _fated(self, j: int) -> bool:
        """Whether account ``j`` is or becomes a customer (cheap: one 64-bit hash).

        An imported account is a customer from the start or never; a new one becomes a
        customer when its first deal is won. Owners are drawn knowing the outcome, with
        weights that give the same joint distribution as drawing the owner first and
        winning with the owner's skill: good owners win more.
        """
        u = (_mix64((self._fate_key + j * _GOLDEN) & _MASK64) >> 11) * _U53
        if j < self._imported:  # the first one always is: even tiny data sets have a customer
            return j == 0 or u < _P_IMPORTED_CUSTOMER
        return u < self._p_first_win[j - self._imported >= self._late_accounts]

    def _account_owner(self, j: int, u: float, *, customer: bool) -> int:
        if j < self._imported:
            return self._closers[0].pick(u)
        return self._first_owners[j - self._imported >= self._late_accounts][customer].pick(u)

    def _account_core(self, j: int, u: list[float] | None = None) -> _AccountCore:
        if u is None:
            u = self._u(_S_ACCOUNT, j)
        created = self._account_created(j, u)
        customer = self._fated(j)
        owner = self._account_owner(j, u[14], customer=customer)
        source = LEAD_SOURCES[_pick(_SOURCE_CUM, u[1])]
        country = _pick(_COUNTRY_CUM, u[2])
        if j < self._imported:
            if not customer:
                return _AccountCore(j, created, owner, source, country)
            # Customers at go-live; their churn counts from then, with no early-churn phase.
            since_ord = self._start.toordinal() - 20 - int(u[3] * 1_800)
            churn_ord = self._start.toordinal() + int(-_MEAN_CUSTOMER_DAYS * math.log(u[10]))
            churn_ts = _day_ts(churn_ord) + 8 * _HOUR + int(u[11] * 9 * _HOUR)
            return _AccountCore(
                j, created, owner, source, country, since_ord, created, churn_ord, churn_ts
            )
        days = _lognormal(_FIRST_DEAL_DAYS, _normals(u[4], u[5])[0])
        close_ord = _close_ordinal(_ord(created), days, u[6], u[7])
        close_ts = _close_ts(close_ord, u[8])
        if not customer:
            return _AccountCore(
                j,
                created,
                owner,
                source,
                country,
                first_close_ord=close_ord,
                first_close_ts=close_ts,
            )
        churn_ord, churn_ts = self._churn(close_ord, close_ts, u)
        return _AccountCore(
            j,
            created,
            owner,
            source,
            country,
            since_ord=close_ord,
            since_ts=close_ts,
            churn_ord=churn_ord,
            churn_ts=churn_ts,
            first_won=True,
            first_close_ord=close_ord,
            first_close_ts=close_ts,
        )

    @staticmethod
    def _churn(since_ord: int, not_before: int, u: list[float]) -> tuple[int, int]:
        """Day and instant a customer leaves (often beyond the range: then never visible)."""
        if u[9] < _P_EARLY_CHURN:
            days = 25.0 + u[10] * 125.0
        else:
            days = 150.0 - _MEAN_CUSTOMER_DAYS * math.log(u[10])
        churn_ord = since_ord + int(days)
        return churn_ord, max(not_before, _day_ts(churn_ord) + 8 * _HOUR + int(u[11] * 9 * _HOUR))

    def _name_key(self, k: int) -> int:
        return (k * _NAME_STRIDE + self._name_offset) % _NAME_SPACE

    def _company(self, k: int) -> str:
        """Company name ``k`` (without legal form); unique for ``k`` below ``_NAME_SPACE``."""
        p = self._name_key(k)
        root = _ROOTS[p % len(_ROOTS)]
        p //= len(_ROOTS)
        word = _WORDS[p % len(_WORDS)][0]
        variant = _VARIANTS[p // len(_WORDS)]
        suffix = f" {k // _NAME_SPACE + 1}" if k >= _NAME_SPACE else ""
        return f"{root} {word}{variant}{suffix}"

    def _industry(self, k: int) -> str:
        return _WORDS[(self._name_key(k) // len(_ROOTS)) % len(_WORDS)][1]

    def _domain(self, k: int) -> str:
        p = self._name_key(k)
        word = _WORDS_ASCII[(p // len(_ROOTS)) % len(_WORDS)]
        return f"{_ROOTS_ASCII[p % len(_ROOTS)]}-{word}.example"

    def _account_name(self, core: _AccountCore) -> str:
        return f"{self._company(core.i)} {_COUNTRIES[core.country][1]}"

    def _accounts(self, at: int) -> Iterator[Account]:
        for j in range(self._account_bound(at)):
            u = self._u(_S_ACCOUNT, j)
            if self._account_created(j, u) > at:
                continue
            core = self._account_core(j, u)
            z_revenue, z_head = _normals(u[12], u[13])
            revenue = min(5e9, max(3e5, math.exp(math.log(1.5e7) + 1.2 * z_revenue)))
            per_head = math.exp(math.log(1.8e5) + 0.4 * z_head)
            last = core.created
            since = churned = None
            if core.since_ts is not None and core.since_ts <= at:
                since, last = core.since_ord, core.since_ts
            if core.churn_ts is not None and core.churn_ts <= at:
                churned, last = core.churn_ord, max(last, core.churn_ts)
            yield Account(
                id=_id("acc", j),
                name=self._account_name(core),
                industry=self._industry(j),
                country=_COUNTRIES[core.country][0],
                owner_id=self._uid(core.owner),
                created=_dt(core.created),
                customer_since=None if since is None else date.fromordinal(since),
                churned_on=None if churned is None else date.fromordinal(churned),
                annual_revenue=float(round(revenue, -3)),
                employees=max(3, int(revenue / per_head)),
                last_modified=_dt(last),
            )

    def _find_customer(self, ts: int, tries: Iterator[float]) -> tuple[_AccountCore, bool]:
        """A customer at ``ts`` and True; or, if the tries find none, any account and False."""
        n = self._accounts_before(ts)
        j = 0
        for t in tries:
            j = int(t * n)
            if not self._fated(j):
                continue  # a prospect for ever: no need for its whole life
            core = self._account_core(j)
            if core.customer_at(ts):
                return core, True
        return self._account_core(j), False

    # ----------------------------------------------------------------------- deals

    # Uniforms of a deal: 0 slot, 1-3 owner and outcome, 4-5 length, 6-7 quarter-end push,
    # 8 close hour; of its view (stream _S_DEAL_VIEW): 0 priced, 1-2 amount, 3-4 amount
    # revision, 5-7 close-date slip, 8 product. Stream _S_DEAL_TRIES draws its account.

    def _first_deal_account(self, d: int) -> int | None:
        """The new account (index among new ones) whose first deal is deal ``d``, if any."""
        new, deals = self._new, self._plan.deals
        jn = -(-d * new // deals)
        return jn if jn < new and jn * deals // new == d else None

    def _first_deal(self, jn: int) -> int:
        return jn * self._plan.deals // self._new

    def _deal_created(self, d: int) -> int:
        jn = self._first_deal_account(d)
        if jn is not None:
            j = self._imported + jn
            return self._account_created(j, self._u(_S_ACCOUNT, j))
        return self._slot(d, self._plan.deals, self._u(_S_DEAL, d))

    def _deal_times(self, d: int, u: list[float]) -> tuple[int, int, int, _AccountCore | None]:
        """Created instant, close day and close instant of a deal, and the account of a first deal.

        The times of an expansion deal need no account, so look-ups can check them cheaply.
        """
        jn = self._first_deal_account(d)
        if jn is not None:  # created with its account when a lead was converted
            acc = self._account_core(self._imported + jn)
            return acc.created, acc.first_close_ord, acc.first_close_ts, acc
        created = self._slot(d, self._plan.deals, u)
        days = _lognormal(_EXPANSION_DEAL_DAYS, _normals(u[4], u[5])[0])
        close_ord = _close_ordinal(_ord(created), days, u[6], u[7])
        return created, close_ord, _close_ts(close_ord, u[8]), None

    def _deal_core(
        self, d: int, u: list[float], times: tuple[int, int, int, _AccountCore | None]
    ) -> _DealCore:
        created, close_ord, close_ts, first = times
        if first is not None:
            return _DealCore(
                d, created, close_ord, close_ts, first.first_won, first, first.owner, first=True
            )
        acc, customer = self._find_customer(created, self._tries(_S_DEAL_TRIES, d))
        owner = acc.owner if u[1] < _P_ACCOUNT_OWNER else self._closer(created, u[2])
        won = customer and u[3] < min(_P_WIN_MAX, _P_EXPANSION_WIN * self._skill[owner])
        return _DealCore(d, created, close_ord, close_ts, won, acc, owner, first=False)

    def _deals(self, at: int) -> Iterator[Deal]:
        for d in range(self._bound(self._plan.deals, at)):
            u = self._u(_S_DEAL, d)
            times = self._deal_times(d, u)
            if times[0] <= at:
                yield self._deal_view(self._deal_core(d, u, times), self._u(_S_DEAL_VIEW, d), at)

    def _deal_view(self, core: _DealCore, u: list[float], at: int) -> Deal:
        final = max(
            _MIN_AMOUNT,
            round(
                _lognormal(
                    _FIRST_AMOUNT if core.first else _EXPANSION_AMOUNT, _normals(u[1], u[2])[0]
                ),
                -2,
            ),
        )
        close_ord, created_ord = core.close_ord, _ord(core.created)
        if core.close_ts <= at:
            stage, amount, last = (WON_STAGE if core.won else LOST_STAGE), final, core.close_ts
        else:
            span = core.close_ts - core.created
            k = min(_N_OPEN - 1, (at - core.created) * _N_OPEN // span)
            stage = OPEN_STAGES[k]
            last = core.created + span * k // _N_OPEN
            amount = final
            if u[3] < _P_AMOUNT_REVISED and k < _AMOUNT_SETTLES_AT:
                dev = (u[4] * 0.45 - 0.25) * (_AMOUNT_SETTLES_AT - k) / _AMOUNT_SETTLES_AT
                amount = round(final * (1 + dev), -2)
            # Some deals were first expected earlier; the owner moves the date once it passes.
            expected = created_ord + max(3, int((close_ord - created_ord) * (0.45 + 0.4 * u[6])))
            if u[5] < _P_SLIP and expected < close_ord:
                moved = min(
                    core.close_ts - _HOUR, _day_ts(expected) + 9 * _HOUR + int(u[7] * 10 * _DAY)
                )
                if moved <= at:
                    last = max(last, moved)
                else:
                    close_ord = expected
        acc = core.account
        product = _FIRST_PRODUCT if core.first else _EXPANSIONS[int(u[8] * len(_EXPANSIONS))]
        return Deal(
            id=_id("deal", core.i),
            name=f"{self._account_name(acc)} – {product}",
            account_id=_id("acc", acc.i),
            owner_id=self._uid(core.owner),
            amount=float(amount) if u[0] >= _P_NO_AMOUNT else None,
            stage=stage,
            probability=STAGE_PROBABILITY[stage],
            created=_dt(core.created),
            close_date=date.fromordinal(close_ord),
            is_closed=stage in {WON_STAGE, LOST_STAGE},
            is_won=stage == WON_STAGE,
            lead_source=acc.source if core.first else _EXISTING_CUSTOMER,
            last_modified=_dt(last),
        )

    # ----------------------------------------------------------------------- leads

    # Uniforms of a lead: 0 slot, 1-2 qualifying and converting lag of a converted lead,
    # 3-4 name, 5 country, 6 owner, 7 source, 8 untouched (or, converted, shorter lags at
    # go-live), 9-10 contact and later lags, 11 qualified, 12 marketing-qualified or
    # dropped later, 13 dropped or drop time.

    def _converted_account(self, i: int) -> int | None:
        """The new account (index among new ones) that lead ``i`` converts into, if any."""
        new, leads = self._new, self._plan.leads
        jn = -(-i * new // leads)
        return jn if jn < new and jn * leads // new == i else None

    def _lead_created(self, i: int) -> tuple[int, list[float], _AccountCore | None, float]:
        """Creation instant, uniforms, the account it converts into (if any), qualifying lag."""
        u = self._u(_S_LEAD, i)
        jn = self._converted_account(i)
        if jn is None:
            return self._slot(i, self._plan.leads, u), u, None, 0.0
        acc = self._account_core(self._imported + jn)
        z_q, z_c = _normals(u[1], u[2])
        q_lag = min(_MAX_LEAD_LAG_DAYS, _lognormal(_QUALIFY_DAYS, z_q)) * _DAY
        c_lag = min(_MAX_LEAD_LAG_DAYS, _lognormal(_CONVERT_DAYS, z_c)) * _DAY
        room = acc.created - self._tl.begin - _HOUR  # leads come in after go-live
        scale = 1.0 if q_lag + c_lag <= room else room * (0.2 + 0.8 * u[8]) / (q_lag + c_lag)
        return acc.created - int((q_lag + c_lag) * scale), u, acc, q_lag * scale

    def _leads(self, at: int) -> Iterator[Lead]:
        for i in range(self._bound(self._plan.leads, at + _LEAD_MARGIN)):
            created, u, acc, q_lag = self._lead_created(i)
            if created <= at:
                yield self._lead_view(i, created, u, acc, q_lag=q_lag, at=at)

    def _lead_view(
        self,
        i: int,
        created: int,
        u: list[float],
        acc: _AccountCore | None,
        *,
        q_lag: float,
        at: int,
    ) -> Lead:
        first, last = int(u[3] * len(_FIRST_NAMES)), int(u[4] * len(_LAST_NAMES))
        if acc is not None:
            company_key, company = acc.i, self._account_name(acc)
            owner, source = acc.owner, acc.source
            contacted = created + int(min(q_lag / 2, _DAY))
            events = _LeadEvents(
                contacted, contacted, created + int(q_lag), None, acc.created, acc.since_ts
            )
        else:
            company_key = self._plan.accounts + i
            company = f"{self._company(company_key)} {_COUNTRIES[_pick(_COUNTRY_CUM, u[5])][1]}"
            owner = self._lead_owner(created, u[6])
            source = LEAD_SOURCES[_pick(_SOURCE_CUM, u[7])]
            events = self._lead_events(created, u)
        initial = "subscriber" if source == _NEWSLETTER else "lead"
        status, stage, last_ts, qualified, converted = events.state(created, at, initial)
        deal = None if acc is None else _id("deal", self._first_deal(acc.i - self._imported))
        return Lead(
            id=_id("lead", i),
            first_name=_FIRST_NAMES[first],
            last_name=_LAST_NAMES[last],
            email=f"{_FIRST_ASCII[first]}.{_LAST_ASCII[last]}@{self._domain(company_key)}",
            company=company,
            owner_id=self._uid(owner),
            source=source,
            status=status,
            created=_dt(created),
            is_converted=converted is not None,
            converted_on=None if converted is None else date.fromordinal(_ord(converted)),
            converted_account_id=None if converted is None or acc is None else _id("acc", acc.i),
            converted_deal_id=None if converted is None else deal,
            qualified_on=None if qualified is None else _dt(qualified),
            lifecycle_stage=stage,
            last_modified=_dt(last_ts),
        )

    @staticmethod
    def _lead_events(created: int, u: list[float]) -> _LeadEvents:
        """The life of a lead that is never converted."""
        if u[8] < _P_UNTOUCHED:
            return _LeadEvents()
        z_contact, z_later = _normals(u[9], u[10])
        contacted = created + int(min(30.0, _lognormal(_CONTACT_DAYS, z_contact)) * _DAY)
        if u[11] < _P_QUALIFIED:
            qualified = contacted + int(min(60.0, _lognormal(_QUALIFY_LATER_DAYS, z_later)) * _DAY)
            later = qualified + int((30 + 60 * u[13]) * _DAY) if u[12] < _P_DROPPED_LATER else None
            return _LeadEvents(contacted, contacted, qualified, later)
        mql = contacted if u[12] < _P_MQL else None
        drop_days = min(90.0, _lognormal(_DROP_DAYS, z_later))
        dropped = contacted + int(drop_days * _DAY) if u[13] < _P_UNQUALIFIED else None
        return _LeadEvents(contacted, mql, None, dropped)

    # Uniforms of a lead's first response (stream _S_RESPONSE): 0-1 delay, 2 channel, 3 subject.

    def _lead_responses(self, at: int) -> Iterator[LeadResponse]:
        for i in range(self._bound(self._plan.leads, at + _LEAD_MARGIN)):
            created, u, acc, q_lag = self._lead_created(i)
            if created > at:
                continue
            contacted: int | None
            if acc is not None:  # as `_lead_view` has it: worked within a day
                owner, contacted = acc.owner, created + int(min(q_lag / 2, _DAY))
            else:
                owner = self._lead_owner(created, u[6])
                contacted = self._lead_events(created, u).contacted
            if contacted is None:
                continue  # never worked: nobody reaches out
            v = self._u(_S_RESPONSE, i)
            program = _ord(created) >= _SPEED_TO_LEAD
            delay = _lognormal(
                _RESPONSE_AFTER if program else _RESPONSE_BEFORE, _normals(v[0], v[1])[0]
            )
            answered = min(
                contacted, _business_add(created, min(_MAX_RESPONSE_HOURS, delay) * _HOUR)
            )
            if answered > at:
                continue
            channel = "Call" if v[2] < _P_RESPONSE_CALL else "Email"
            subjects = _RESPONSE_SUBJECTS[channel]
            yield LeadResponse(
                id=_id("rsp", i),
                lead_id=_id("lead", i),
                owner_id=self._uid(owner),
                channel=channel,
                subject=subjects[int(v[3] * len(subjects))],
                at=_dt(answered),
            )

    # ----------------------------------------------------------------------- activities

    # Uniforms of an activity: 0 slot, 1 type, 2 link, 3 owner, 4 account, 5 day, 6 hour,
    # 7 length, 8 priority, 9 subject, 10 never done. Stream _S_ACTIVITY_TRIES finds its deal.

    def _place_scripts(self) -> dict[int, _Script]:
        """Put the planned activities on the activity slots at (or just before) their creation."""
        n = self._plan.activities
        placed: dict[int, _Script] = {}
        for script in self._scripts_in_range():
            i = min(n - 1, int(n * self._tl.position(script.created)))
            while i >= 0 and i in placed:
                i -= 1
            if i >= 0:
                placed[i] = script
        return placed

    def _scripts_in_range(self) -> list[_Script]:
        def at(day: date, hour: float) -> int:
            return _day_ts(day.toordinal()) + int(hour * _HOUR)

        # (created, day, hour done, type, subject, owner)
        plans: list[tuple[int, date, float, str, str, int]] = [
            (at(date(2026, 7, 2), 9.5), date(2026, 8, 14), 15.2, "Other", _CALL_GUIDE, _LENA),
            (at(date(2026, 7, 6), 10.0), date(2026, 7, 24), 11.0, "Other",
             "Call guide v2: draft reviewed with team leads", _LENA),
            (at(date(2025, 8, 4), 10.0), date(2025, 9, 12), 14.0, "Other",
             "Call guide v1 published", _LENA),
            (at(date(2026, 8, 5), 9.0), date(2026, 8, 26), 16.0, _TRAINING,
             "Sales training: working with the new call guide", _LENA),
        ]  # fmt: skip
        plans.extend(
            (at(day, 8.0) - 7 * _DAY, day, 11.0, _INTERVIEW, "Interview: why did we lose?", _LENA)
            for day in (date(2026, 7, 15), date(2026, 8, 5), date(2026, 9, 2))
        )
        year, month, k = self._start.year, self._start.month, 0
        while date(year, month, 1) <= self._end:  # a training on every month's second Wednesday
            first = date(year, month, 1).toordinal()
            day = date.fromordinal(first + (2 - _weekday(first)) % 7 + 7)
            topic = _TRAINING_TOPICS[k % len(_TRAINING_TOPICS)]
            plans.append(
                (at(day, 9.0) - 21 * _DAY, day, 16.0, _TRAINING, f"Sales training: {topic}",
                 _SALES_OPS_HEAD)
            )  # fmt: skip
            year, month, k = year + month // 12, month % 12 + 1, k + 1
        scripts = [
            _Script(
                created,
                day.toordinal(),
                at(day, hour),
                kind,
                subject,
                owner,
                "High" if subject == _CALL_GUIDE else "Normal",
                linked=kind == _INTERVIEW,
            )
            for created, day, hour, kind, subject, owner in plans
        ]
        return [
            s for s in scripts if self._tl.day_starts[0] <= s.created and s.done <= self._tl.end
        ]

    def _activity_created(self, i: int) -> int:
        script = self._scripts.get(i)
        if script is not None:
            return script.created
        return self._slot(i, self._plan.activities, self._u(_S_ACTIVITY, i))

    def _activities(self, at: int) -> Iterator[Activity]:
        n = self._plan.activities
        for i in range(self._bound(n, at)):
            script = self._scripts.get(i)
            u = self._u(_S_ACTIVITY, i)
            created = self._slot(i, n, u) if script is None else script.created
            if created <= at:
                yield self._activity_view(i, created, u, script, at)

    def _activity_view(
        self, i: int, created: int, u: list[float], script: _Script | None, at: int
    ) -> Activity:
        if script is None:
            campaign = _INTERVIEW_CAMPAIGN[0] <= _ord(created) <= _INTERVIEW_CAMPAIGN[1]
            kind_type = _ACT_TYPES[_pick(_ACT_CUM_CAMPAIGN if campaign else _ACT_CUM, u[1])]
            linked = True
        else:
            kind_type, linked = script.type, script.linked
        owner, account, deal = self._activity_links(i, kind_type, created, u, linked=linked)
        done: int | None
        start: int | None
        if script is not None:
            owner, day, done, start = script.owner, script.day, script.done, script.done - _HOUR
            subject, priority = script.subject, script.priority
        else:
            low, high = _LEAD_DAYS[kind_type]
            day = _next_weekday(_ord(created) + low + int(u[5] * (high - low + 1)))
            done = max(created + 10 * _MINUTE, _day_ts(day) + 8 * _HOUR + int(u[6] * 9 * _HOUR))
            start = max(created, done - (30 + int(u[7] * 90)) * _MINUTE)
            priority = _PRIORITIES[_pick(_PRIORITY_CUM, u[8])]
            subject = self._activity_subject(kind_type, account, u[9])
            if kind_type not in _EVENT_TYPES and u[10] < _P_NEVER_DONE:
                done = start = None  # an overdue task nobody closes
        if done is not None and done <= at:
            status, last = "Completed", done
        elif start is not None and start <= at:
            status, last = "In Progress", start
        else:
            status, last = "Not Started", created
        return Activity(
            id=_id("act", i),
            kind="event" if kind_type in _EVENT_TYPES else "task",
            subject=subject,
            type=kind_type,
            status=status,
            priority=priority,
            owner_id=self._uid(owner),
            account_id=None if account is None else _id("acc", account.i),
            deal_id=None if deal is None else _id("deal", deal.i),
            activity_date=date.fromordinal(day),
            created=_dt(created),
            last_modified=_dt(last),
        )

    def _activity_links(
        self, i: int, kind_type: str, created: int, u: list[float], *, linked: bool
    ) -> tuple[int, _AccountCore | None, _DealCore | None]:
        """Owner, account and deal of an activity; an interview goes to a recently lost deal."""
        fallback = self._closer(created, u[3])
        if not linked:
            return fallback, None, None
        deal: _DealCore | None = None
        if kind_type == _INTERVIEW:
            deal = self._lost_deal_before(created, islice(self._tries(_S_ACTIVITY_TRIES, i), 8))
        elif u[2] < _P_ON_DEAL:
            deal = self._open_deal_at(created, islice(self._tries(_S_ACTIVITY_TRIES, i), 3))
        if deal is not None:
            return deal.owner, deal.account, deal
        if u[2] < _P_ON_ACCOUNT or kind_type == _INTERVIEW:
            core = self._account_core(int(u[4] * self._accounts_before(created)))
            return core.owner, core, None
        return fallback, None, None

    def _deal_near(
        self, ts: int
    ) -> tuple[int, list[float], tuple[int, int, int, _AccountCore | None]]:
        n = self._plan.deals
        d = min(n - 1, int(n * self._tl.position(ts)))
        u = self._u(_S_DEAL, d)
        return d, u, self._deal_times(d, u)

    def _open_deal_at(self, ts: int, tries: Iterator[float]) -> _DealCore | None:
        """A deal created in the month before ``ts`` and open at ``ts``, if the tries find one."""
        for t in tries:
            d, u, times = self._deal_near(ts - int(t * 30 * _DAY))
            if times[0] <= ts < times[2]:
                return self._deal_core(d, u, times)
        return None

    def _lost_deal_before(self, ts: int, tries: Iterator[float]) -> _DealCore | None:
        """A deal lost in the four months before ``ts``, if the tries find one."""
        for t in tries:
            d, u, times = self._deal_near(ts - int((20 + t * 130) * _DAY))
            if ts - 120 * _DAY < times[2] <= ts:
                core = self._deal_core(d, u, times)
                if not core.won:
                    return core
        return None

    def _activity_subject(self, kind_type: str, account: _AccountCore | None, u: float) -> str:
        if kind_type == _INTERVIEW:
            if account is None:
                return "Win/loss interview"
            return f"Interview: why {self._account_name(account)} declined"
        options = _SUBJECTS[kind_type]
        return options[int(u * len(options))]

    # ----------------------------------------------------------------------- cases, surveys

    # Uniforms of a case: 0 slot, 1 origin, 2 priority, 3 subject, 4-5 response and
    # resolution time, 6 phone or chat response, 7 escalated, 8 never closed.
    # Of a survey response: 0 slot, 1 survey type, 2 score, 3-4 comment.
    # Streams _S_CASE_TRIES and _S_NPS_TRIES hold the draws of their account.

    def _cases(self, at: int) -> Iterator[Case]:
        n = self._plan.cases
        for i in range(self._bound(n, at)):
            u = self._u(_S_CASE, i)
            created = self._slot(i, n, u)
            if created > at:
                continue
            acc, _ = self._find_customer(created, self._tries(_S_CASE_TRIES, i))
            origin = CASE_ORIGINS[_pick(_ORIGIN_CUM, u[1])]
            priority = _CASE_PRIORITIES[_pick(_CASE_PRIORITY_CUM, u[2])]
            z_response, z_resolve = _normals(u[4], u[5])
            if origin in {"Email", "Web"}:
                program = _ord(created) >= _SERVICE_PROGRAM
                median = _RESPONSE_MEDIAN_AFTER if program else _RESPONSE_MEDIAN_BEFORE
                hours = round(min(96.0, math.exp(median + 0.9 * z_response)), 2)
            else:
                hours = round(0.02 + u[6] * 0.8, 2)
            answered = created + int(hours * _HOUR)
            closed = None
            if u[8] >= _P_NEVER_CLOSED:
                closed = answered + int(_lognormal(_RESOLVE_HOURS, z_resolve) * _HOUR)
            if closed is not None and closed <= at:
                status, last = "Closed", closed
            elif answered <= at:
                escalated = priority == "High" and u[7] < _P_ESCALATED
                status, last = ("Escalated" if escalated else "Working"), answered
            else:
                status, last = "New", created
            yield Case(
                id=_id("case", i),
                account_id=_id("acc", acc.i),
                subject=_CASE_SUBJECTS[int(u[3] * len(_CASE_SUBJECTS))],
                origin=origin,
                status=status,
                priority=priority,
                created=_dt(created),
                first_response_hours=hours if answered <= at else None,
                closed=_dt(closed) if status == "Closed" and closed is not None else None,
                last_modified=_dt(last),
            )

    def _nps(self, at: int) -> Iterator[NpsResponse]:
        n = self._plan.nps
        for i in range(self._bound(n, at)):
            u = self._u(_S_NPS, i)
            submitted = self._slot(i, n, u)
            if submitted > at:
                continue
            acc, _ = self._find_customer(submitted, self._tries(_S_NPS_TRIES, i))
            survey = SURVEY_TYPES[_pick(_SURVEY_CUM, u[1])]
            score = self._score(survey, acc, submitted, u[2])
            comment: str | None = None
            if u[3] < _P_COMMENT:
                mood = _COMMENTS[_mood(survey, score)]
                comment = mood[int(u[4] * len(mood))]
            yield NpsResponse(
                id=_id("nps", i),
                account_id=_id("acc", acc.i),
                score=score,
                survey_type=survey,
                submitted=_dt(submitted),
                comment=comment,
                last_modified=_dt(submitted),
            )

    # Uniforms of an account's onboarding survey (stream _S_ONBOARDING): 0 answered, 1 day,
    # 2 hour, 3 score, 4-5 comment.

    def _onboarding(self, at: int) -> Iterator[NpsResponse]:
        for j in range(self._imported, self._account_bound(at)):
            if not self._fated(j):
                continue  # never a customer
            v = self._u(_S_ONBOARDING, j)
            if v[0] >= _P_ONBOARDING_ANSWERED:
                continue
            core = self._account_core(j)
            if core.since_ord is None or core.since_ts is None:  # pragma: no cover  (fated)
                continue
            day = _next_weekday(core.since_ord + 14 + int(v[1] * 22))
            submitted = max(core.since_ts, _day_ts(day) + 8 * _HOUR + int(v[2] * 10 * _HOUR))
            if submitted > at or (core.churn_ts is not None and core.churn_ts <= submitted):
                continue
            score = self._score("NPS", core, submitted, v[3])
            comment: str | None = None
            if v[4] < _P_COMMENT:
                mood = _COMMENTS[_mood("NPS", score)]
                comment = mood[int(v[5] * len(mood))]
            yield NpsResponse(
                id=_id("onb", j),
                account_id=_id("acc", j),
                score=score,
                survey_type="NPS",
                submitted=_dt(submitted),
                comment=comment,
                last_modified=_dt(submitted),
            )

    @staticmethod
    def _score(survey: str, acc: _AccountCore, ts: int, u: float) -> int:
        """Score of a response: customers about to leave are unhappy; service improves over time."""
        if survey == "CSAT":
            return 1 + _pick(_CSAT_CUM, u)
        if survey == "CES":
            return 1 + _pick(_CES_CUM, u)
        if acc.churn_ts is not None and ts <= acc.churn_ts < ts + _RISK_DAYS * _DAY:
            return _pick(_NPS_AT_RISK, u)
        return _pick(_NPS_IMPROVED if _ord(ts) >= _SERVICE_PROGRAM else _NPS_BASE, u)
