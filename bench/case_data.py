"""The data of the cases benchmark: people, enterprises, their certificates and a year of cases.

`bench/cases.py` calls `load` on a database that `flask db upgrade` and `flask seed-demo` made,
inside an app context of the benchmark's configuration: the vault's keys seal the personal data
and its blind index keys the ID numbers, as the app itself would. Rows go straight into MariaDB
with LOAD DATA LOCAL INFILE (tab-separated files written here, parsed by the server), which is
what makes a million cases take minutes rather than hours.

Everything follows from one seed, day by day: the same sizes, seed and anchor time give the same
rows. Cases are committed a week at a time and `bench_meta` records how many days are in, so an
interrupted load resumes at the first week not committed.

Who is who, by position (each table's ids start after what the demo seed made):

- users: the first `enterprises` are the enterprises' legal representatives, the next
  `enterprises × agents_per_enterprise` their agents (scope `cases,certificates`), the rest
  citizens; every one real-name verified with a generated, valid ID number of their own;
- certificates: each user holds an ID card and a real-estate certificate, each enterprise its
  business licence; a case's materials point at these;
- cases: spread over the 365 China days up to the anchor (weekdays busier), about 30 % filed
  for an enterprise by its legal representative or an agent, 1 % bundles (一件事) with a child
  case per member item; the status follows the age (recent ones open, older ones mostly
  finished), and the timeline holds the nodes that lead to it (four on average).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pymysql

from app.cases.lifecycle import STATUS_LABELS, first_due
from app.cases.numbers import CHINA, QUERY_ALPHABET, SERIAL_DIGITS
from app.certificates.issuing import NUMBER_INDEX
from app.identity.real_name import ID_NUMBER_INDEX
from app.identity.wechat_login import INVITE_ALPHABET
from app.platform.working_days import WorkingCalendar
from app.privacy.encryption import PersonalDataCipher
from app.privacy.identifiers import make_cert_identifier
from app.seed.fake_identifiers import fake_id_number, fake_uscc

META_TABLE = "bench_meta"
NULL = "\\N"  # NULL in LOAD DATA's format
SEED = 20261125
PROVINCE = "53"
DAYS = 365
DAYS_PER_COMMIT = 7
ENTERPRISE_SHARE = 0.30
BUNDLE_SHARE = 0.01
LEGAL_REP_SHARE = 0.6  # of an enterprise's cases; agents file the rest
USCC_SERIAL_BASE = 100_000  # the demo enterprises use serials 1-3
REGIONS = ("530102", "530103", "530111", "530112", "530113", "530114", "530115", "530181")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文辉玉兰云海燕鹏飞"
COMPANY_WORDS = ("滇池", "云岭", "春城", "翠湖", "金马", "碧鸡", "盘龙", "五华", "官渡", "呈贡")
INDUSTRIES = (("餐饮服务", "餐饮管理"), ("道路运输", "物流"), ("文化传媒", "文化传媒"),
              ("建筑施工", "建设工程"), ("软件开发", "信息技术"), ("批发零售", "商贸"))
# Final statuses by the case's age in days: (upper bound of the age, weights by status).
STATUS_BY_AGE = (
    (2, {"submitted": 45, "accepted": 20, "in_review": 10, "approved": 18, "rejected": 2,
         "withdrawn": 5}),
    (30, {"submitted": 5, "accepted": 10, "in_review": 20, "supplement_requested": 8,
          "approved": 45, "rejected": 7, "withdrawn": 5}),
    (DAYS + 1, {"accepted": 1, "in_review": 3, "supplement_requested": 2, "approved": 78,
                "rejected": 10, "withdrawn": 6}),
)
# The statuses a case passes through to reach its final one.
PATHS = {
    "submitted": ("submitted",),
    "accepted": ("submitted", "accepted"),
    "in_review": ("submitted", "accepted", "in_review"),
    "supplement_requested": ("submitted", "accepted", "supplement_requested"),
    "approved": ("submitted", "accepted", "in_review", "approved"),
    "rejected": ("submitted", "accepted", "in_review", "rejected"),
    "withdrawn": ("submitted", "withdrawn"),
}
INSTANT_SHARE = 0.10  # of approved items: approved at submission (秒批)
OPEN_STATUSES = ("submitted", "accepted", "in_review", "supplement_requested")
# Hours from the node before: (least, most).
GAP_HOURS = {"accepted": (0.3, 30), "in_review": (2, 72), "supplement_requested": (12, 120),
             "approved": (4, 200), "rejected": (4, 200), "withdrawn": (0.1, 20)}
NOTES = {"accepted": "材料齐全，予以受理", "in_review": "进入审查",
         "supplement_requested": "请补充提交材料原件照片", "approved": "准予办理，结果已送达",
         "rejected": "不符合申请条件，不予许可", "withdrawn": "申请人撤回：信息填写有误"}
FORM = {"remark": "线上申请，结果请邮寄"}

CASE_COLUMNS = ("id", "case_no", "query_code", "parent_id", "kind", "service_code",
                "service_name", "department", "region_code", "catalog_version",
                "applicant_user_id", "enterprise_id", "form_enc", "status", "channel", "instant",
                "promised_limit_days", "submitted_at", "due_at", "closed_at", "overdue_at",
                "paused_at", "client_key", "request_digest", "updated_at")
NODE_COLUMNS = ("case_id", "name", "status", "at", "note", "department", "source", "event_id",
                "created_at")
MATERIAL_COLUMNS = ("case_id", "material_key", "name", "source", "certificate_id", "upload_id")


@dataclass(frozen=True)
class Sizes:
    users: int = 100_000
    enterprises: int = 5_000
    cases: int = 1_000_000
    agents_per_enterprise: int = 2

    @property
    def first_citizen(self) -> int:
        """Position of the first user who is neither a legal representative nor an agent."""
        return self.enterprises * (1 + self.agents_per_enterprise)


@dataclass(frozen=True)
class Layout:
    """Where each generated table's ids start (after the demo seed's rows), and the anchor."""

    user_base: int
    enterprise_base: int
    certificate_base: int
    case_base: int
    anchor: str  # ISO time, UTC: the newest case is no later
    # The serials the demo's cases took, by day ("53:20261125"): generated ones come after.
    serials_taken: dict[str, int] = field(default_factory=dict)

    def user_id(self, position: int) -> int:
        return self.user_base + position

    def enterprise_id(self, position: int) -> int:
        return self.enterprise_base + position

    def id_card_id(self, user: int) -> int:
        return self.certificate_base + 2 * user

    def real_estate_id(self, user: int) -> int:
        return self.certificate_base + 2 * user + 1

    def licence_id(self, sizes: Sizes, enterprise: int) -> int:
        return self.certificate_base + 2 * sizes.users + enterprise

    def legal_rep(self, enterprise: int) -> int:
        """The user position of an enterprise's legal representative."""
        return enterprise

    def agent(self, sizes: Sizes, enterprise: int, number: int) -> int:
        return sizes.enterprises + enterprise * sizes.agents_per_enterprise + number


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    department: str
    limit_days: int
    materials: tuple[tuple[str, str], ...]  # (key, name) of the first two
    kind: str = "item"


@dataclass(frozen=True)
class BundleSpec:
    code: str
    name: str
    members: tuple[Item, ...]

    @property
    def parent(self) -> Item:
        """What the bundle's parent case is filed as: no materials of its own."""
        return Item(self.code, self.name, "", max(m.limit_days for m in self.members), (),
                    "bundle")


@dataclass(frozen=True)
class Catalog:
    personal: tuple[Item, ...]
    enterprise: tuple[Item, ...]
    personal_bundles: tuple[BundleSpec, ...]
    enterprise_bundles: tuple[BundleSpec, ...]
    version: int
    certificate_types: dict[str, tuple[int, str, str]]  # code → (id, type_code, issuer USCC)


@dataclass
class Chunk:
    """The rows of some days, as lines of LOAD DATA's format (case rows are made by the
    million, so they are formatted as they are made rather than field by field)."""

    cases: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    materials: list[str] = field(default_factory=list)
    serials: list[tuple] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# The bookkeeping table and the bulk loader


def read_meta(connection: pymysql.Connection) -> dict[str, str]:
    """The benchmark's notes in its database (secrets, sizes, progress); empty when none."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.tables "
                       "WHERE table_schema = DATABASE() AND table_name = %s", (META_TABLE,))
        if not cursor.fetchone()[0]:
            return {}
        cursor.execute(f"SELECT name, value FROM `{META_TABLE}`")
        return dict(cursor.fetchall())


def write_meta(connection: pymysql.Connection, **values: str) -> None:
    """Record notes; committed with whatever the connection's transaction holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.tables "
                       "WHERE table_schema = DATABASE() AND table_name = %s", (META_TABLE,))
        if not cursor.fetchone()[0]:
            # Only for a new database: DDL commits, which must not split a week's load from
            # the note that records it.
            cursor.execute(f"CREATE TABLE `{META_TABLE}` (name VARCHAR(64) PRIMARY KEY, "
                           "value LONGTEXT NOT NULL) CHARACTER SET utf8mb4")
        cursor.executemany(f"REPLACE INTO `{META_TABLE}` (name, value) VALUES (%s, %s)",
                           list(values.items()))
    connection.commit()


def _tsv(value: Any) -> str:
    """One field as LOAD DATA's default format reads it (\\N is NULL)."""
    if value is None:
        return NULL
    if value is True or value is False:
        return "1" if value else "0"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return str(value)


class Loader:
    """LOAD DATA LOCAL INFILE of rows through one connection, via a file in `folder`."""

    def __init__(self, connection: pymysql.Connection, folder: Path) -> None:
        self.connection = connection
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        with connection.cursor() as cursor:
            # The rows reference each other by generated ids, consistent by construction; the
            # checks would cost a lookup per row. Unique checks stay on: a duplicate case
            # number must fail the load, not slip in.
            cursor.execute("SET SESSION foreign_key_checks = 0")

    def load(self, table: str, columns: Iterable[str], rows: Iterable[tuple],
             replace: bool = False) -> int:
        """Load the rows; `replace` replaces rows with the same key, which are otherwise
        refused (LOAD DATA LOCAL only warns of them, so the count check catches them)."""
        return self.load_lines(table, columns, ["\t".join(map(_tsv, row)) + "\n"
                                                for row in rows], replace)

    def load_lines(self, table: str, columns: Iterable[str], lines: list[str],
                   replace: bool = False) -> int:
        """Load lines already in LOAD DATA's format."""
        path = self.folder / f"{table}.tsv"
        count = len(lines)
        with path.open("w", encoding="utf-8", newline="\n") as out:
            out.write("".join(lines))
        with self.connection.cursor() as cursor:
            cursor.execute(f"LOAD DATA LOCAL INFILE %s {'REPLACE' if replace else ''} INTO TABLE "
                           f"`{table}` CHARACTER SET utf8mb4 ({', '.join(columns)})",
                           (str(path),))
            loaded = cursor.rowcount
        path.unlink()
        # A replaced row counts twice: deleted, inserted.
        if not (count <= loaded <= 2 * count if replace else loaded == count):
            raise RuntimeError(f"{table}: {count} rows written, {loaded} loaded")
        return count


def next_ids(connection: pymysql.Connection, anchor: datetime) -> Layout:
    """Ids and case serials after every existing row of the tables the load fills."""
    with connection.cursor() as cursor:
        bases = []
        for table in ("users", "enterprises", "certificates", "cases"):
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM `{table}`")
            bases.append(int(cursor.fetchone()[0]))
        cursor.execute("SELECT scope, last FROM case_serials")
        taken = {scope: int(last) for scope, last in cursor.fetchall()}
    return Layout(*bases, anchor=anchor.replace(microsecond=0).isoformat(),
                  serials_taken=taken)


def read_catalog(connection: pymysql.Connection) -> Catalog:
    """The seeded items, bundles and certificate types the generated cases refer to."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT i.id, i.code, i.name, i.department, i.audience, "
                       "i.promised_limit_days, i.legal_limit_days FROM service_items i "
                       "ORDER BY i.code")
        rows = cursor.fetchall()
        cursor.execute("SELECT item_id, material_key, name FROM service_materials "
                       "ORDER BY item_id, position")
        materials: dict[int, list[tuple[str, str]]] = {}
        for item_id, key, name in cursor.fetchall():
            materials.setdefault(item_id, []).append((key, name))
        cursor.execute("SELECT b.code, b.name, b.audience, i.code FROM bundles b "
                       "JOIN bundle_items m ON m.bundle_id = b.id "
                       "JOIN service_items i ON i.id = m.item_id ORDER BY b.code, m.position")
        bundle_rows = cursor.fetchall()
        cursor.execute("SELECT version FROM catalog_version WHERE id = 1")
        version_row = cursor.fetchone()
        cursor.execute("SELECT code, id, type_code, issuer_uscc FROM certificate_types")
        types = {code: (type_id, type_code, issuer) for code, type_id, type_code, issuer
                 in cursor.fetchall()}
    items = {code: (audience, Item(code, name, department, promised or legal,
                                   tuple(materials.get(item_id, [])[:2])))
             for item_id, code, name, department, audience, promised, legal in rows}
    bundles: dict[str, tuple[str, str, list[Item]]] = {}
    for code, name, audience, member in bundle_rows:
        bundles.setdefault(code, (name, audience, []))[2].append(items[member][1])

    def audience_of(wanted: str) -> tuple[Item, ...]:
        return tuple(item for audience, item in items.values() if audience in (wanted, "both"))

    def bundles_of(wanted: str) -> tuple[BundleSpec, ...]:
        return tuple(BundleSpec(code, name, tuple(members))
                     for code, (name, audience, members) in bundles.items()
                     if audience == wanted)

    if not items or "id_card" not in types:
        raise RuntimeError("the demo catalog and certificate types are not seeded")
    # Case rows are formatted without escaping (see Chunk): no name may need it.
    if any(re.search(r"[\t\n\\]", f"{name}{department}") for _, _, name, department, *_ in rows):
        raise RuntimeError("an item's name or department has a tab, newline or backslash")
    return Catalog(audience_of("personal"), audience_of("enterprise"), bundles_of("personal"),
                   bundles_of("enterprise"), version_row[0] if version_row else 1, types)


# ---------------------------------------------------------------------------------------------
# People, enterprises, bindings, certificates


def region_of(position: int) -> str:
    """The region of a user's ID number (and of their personal cases)."""
    return REGIONS[position // 998 % len(REGIONS)]


def id_number_of(position: int) -> str:
    """A valid ID number no other position gets: the sequence, region and birth date together
    spell the position."""
    rest, sequence = divmod(position, 998)
    region = region_of(position)
    born = date(1962, 1, 1) + timedelta(days=(rest // len(REGIONS)) * 400 + sequence % 400)
    return fake_id_number(region, born, sequence + 1)


def _invite_code(position: int) -> str:
    """Eight characters of the invite alphabet, distinct per position, prefixed apart from the
    random ones the app hands out by starting with 'Z' twice."""
    base = len(INVITE_ALPHABET)
    digits = ""
    for _ in range(6):
        position, digit = divmod(position, base)
        digits = INVITE_ALPHABET[digit] + digits
    return "ZZ" + digits


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def _naive(moment: datetime) -> datetime:
    """Naive UTC, as the app stores times."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def people_rows(sizes: Sizes, layout: Layout, cipher: PersonalDataCipher, catalog: Catalog
                ) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    """Users, enterprises, bindings and certificates: rows by table."""
    rng = random.Random(f"{SEED}/people")
    anchor = datetime.fromisoformat(layout.anchor)
    verified = _naive(anchor - timedelta(days=400))
    users, certificates = [], []
    id_card_type, id_card_code, id_card_issuer = catalog.certificate_types["id_card"]
    estate_type, estate_code, estate_issuer = catalog.certificate_types["real_estate_certificate"]
    indexes = []
    for position in range(sizes.users):
        number = id_number_of(position)
        name = _person_name(rng)
        index = cipher.blind_index(number, ID_NUMBER_INDEX)
        indexes.append(index)
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        region = number[:6]
        users.append((layout.user_id(position), f"bench-user-{position}", f"用户{position}",
                      _invite_code(position), cipher.encrypt(name, "user.real_name"),
                      cipher.encrypt(number, "user.id_number"), index, born,
                      "male" if int(number[16]) % 2 else "female", region, verified, verified))
        issued = _naive(anchor - timedelta(days=rng.randint(30, 3650)))
        serial = f"BENCH{position:09d}"
        certificates.append((
            layout.id_card_id(position), make_cert_identifier(id_card_code, id_card_issuer, serial),
            id_card_type, index, None, cipher.encrypt(number, "certificate.number"),
            cipher.blind_index(f"id_card:{number}", NUMBER_INDEX),
            cipher.encrypt(json.dumps({"name": name, "number": number}, ensure_ascii=False),
                           "certificate.fields"),
            "valid", issued, issued + timedelta(days=365 * 20), issued))
        estate_number = f"{estate_code}{serial}"
        certificates.append((
            layout.real_estate_id(position),
            make_cert_identifier(estate_code, estate_issuer, serial), estate_type, index, None,
            cipher.encrypt(estate_number, "certificate.number"),
            cipher.blind_index(f"real_estate_certificate:{estate_number}", NUMBER_INDEX),
            cipher.encrypt(json.dumps({"name": name, "number": estate_number},
                                      ensure_ascii=False), "certificate.fields"),
            "valid", issued, None, issued))
    enterprises, bindings = [], []
    licence_type, licence_code, licence_issuer = catalog.certificate_types["business_licence"]
    agent_until = _naive(anchor + timedelta(days=730))
    for position in range(sizes.enterprises):
        region = REGIONS[position % len(REGIONS)]
        uscc = fake_uscc(region, USCC_SERIAL_BASE + position)
        industry, trade = INDUSTRIES[position % len(INDUSTRIES)]
        name = f"云南{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_WORDS)}{trade}有限公司"
        enterprise_id = layout.enterprise_id(position)
        rep = layout.legal_rep(position)
        enterprises.append((enterprise_id, uscc, name, indexes[rep], region, industry, "active",
                            verified))
        bindings.append((layout.user_id(rep), enterprise_id, "legal_representative", "verified",
                         "", None, None, verified))
        for number in range(sizes.agents_per_enterprise):
            bindings.append((layout.user_id(layout.agent(sizes, position, number)),
                             enterprise_id, "agent", "verified", "cases,certificates",
                             agent_until, layout.user_id(rep), verified))
        serial = f"BENCH{position:09d}"
        certificates.append((
            layout.licence_id(sizes, position),
            make_cert_identifier(licence_code, licence_issuer, serial), licence_type, None,
            enterprise_id, cipher.encrypt(uscc, "certificate.number"),
            cipher.blind_index(f"business_licence:{uscc}", NUMBER_INDEX),
            cipher.encrypt(json.dumps({"name": name, "uscc": uscc}, ensure_ascii=False),
                           "certificate.fields"),
            "valid", verified, None, verified))
    return {
        "users": (("id", "openid", "nickname", "invite_code", "real_name_enc", "id_number_enc",
                   "id_number_index", "birth_date", "gender", "region_code",
                   "real_name_verified_at", "created_at"), users),
        "enterprises": (("id", "uscc", "name", "legal_rep_id_index", "region_code", "industry",
                         "status", "created_at"), enterprises),
        "enterprise_bindings": (("user_id", "enterprise_id", "relation", "status", "scopes",
                                 "expires_at", "granted_by_user_id", "created_at"), bindings),
        "certificates": (("id", "identifier", "type_id", "holder_id_index",
                          "holder_enterprise_id", "number_enc", "number_index", "fields_enc",
                          "status", "issued_at", "expires_at", "created_at"), certificates),
    }


# ---------------------------------------------------------------------------------------------
# Cases


def china_days(anchor: datetime) -> list[date]:
    """The DAYS China days up to and including the anchor's."""
    last = anchor.astimezone(CHINA).date()
    return [last - timedelta(days=DAYS - 1 - n) for n in range(DAYS)]


def day_counts(total: int, days: list[date], anchor: datetime) -> list[int]:
    """Cases per day, `total` in all: weekdays busier, the anchor's day only up to its time."""
    rng = random.Random(f"{SEED}/days")
    start_of_last = datetime.combine(days[-1], datetime.min.time(), CHINA)
    elapsed = (anchor - start_of_last).total_seconds() / 86400
    weights = [(1.0 if day.weekday() < 5 else 0.3) * rng.uniform(0.85, 1.15) for day in days]
    weights[-1] *= max(elapsed, 0.01)
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    # Largest remainders first, so the counts add up to the total exactly.
    for n in sorted(range(len(days)), key=lambda n: exact[n] - counts[n],
                    reverse=True)[:total - sum(counts)]:
        counts[n] += 1
    return counts


@dataclass(frozen=True)
class Filing:
    """Who filed a case, when (naive UTC), and what became of it."""

    user: int  # position
    enterprise: int | None  # position, for an enterprise's case
    submitted: datetime
    status: str
    instant: bool


def _time(moment: datetime | None) -> str:
    """A naive UTC time as LOAD DATA reads a DATETIME(6); \\N for none."""
    return NULL if moment is None else moment.isoformat(" ")


class CaseMaker:
    """The cases of one day, with their nodes and materials. Times are naive UTC throughout,
    as the app stores them."""

    def __init__(self, sizes: Sizes, layout: Layout, catalog: Catalog,
                 calendar: WorkingCalendar, form_enc: str) -> None:
        self.sizes, self.layout, self.catalog = sizes, layout, catalog
        self.calendar = calendar
        self.form_enc = form_enc
        self.anchor = _naive(datetime.fromisoformat(layout.anchor))
        self._due: dict[tuple[date, int], datetime] = {}

    def due(self, submitted: datetime, limit: int) -> datetime:
        key = ((submitted + CHINA.utcoffset(None)).date(), limit)
        if key not in self._due:
            self._due[key] = _naive(first_due(self.calendar, submitted.replace(tzinfo=UTC),
                                              limit))
        return self._due[key]

    def day(self, day: date, count: int, first_id: int, chunk: Chunk) -> None:
        """`count` cases of `day`, ids from `first_id`, numbered in the order filed."""
        rng = random.Random(f"{SEED}/{day.isoformat()}")
        start = datetime.combine(day, datetime.min.time()) - CHINA.utcoffset(None)
        window = min(86400.0, (self.anchor - start).total_seconds())
        # Busiest mid-morning; the anchor's day only up to the anchor.
        moments = sorted(start + timedelta(seconds=rng.triangular(0, window, min(37800, window)))
                         for _ in range(count))
        prefix = f"{PROVINCE}{day:%Y%m%d}"
        scope = f"{PROVINCE}:{day:%Y%m%d}"
        taken = self.layout.serials_taken.get(scope, 0)
        made = 0

        def file(what: Item, filing: Filing, parent_id: int | None = None) -> int:
            nonlocal made
            case_id = first_id + made
            made += 1
            self._case(chunk, rng, case_id, f"{prefix}{taken + made:0{SERIAL_DIGITS}d}",
                       parent_id, what, filing)
            return case_id

        while made < count:
            filing = self._filing(rng, moments[made])
            bundle = self._bundle(rng, filing, count - made)
            if bundle is None:
                items = (self.catalog.personal if filing.enterprise is None
                         else self.catalog.enterprise)
                file(rng.choice(items), filing)
                continue
            # One submission: the parent and each member's case at the same moment.
            parent_id = file(bundle.parent, filing)
            for member in bundle.members:
                file(member, filing, parent_id)
        chunk.serials.append((scope, taken + count))

    def _filing(self, rng: random.Random, submitted: datetime) -> Filing:
        sizes = self.sizes
        if rng.random() >= ENTERPRISE_SHARE:
            user, enterprise = rng.randrange(sizes.users), None
        else:
            enterprise = rng.randrange(sizes.enterprises)
            if rng.random() < LEGAL_REP_SHARE or not sizes.agents_per_enterprise:
                user = self.layout.legal_rep(enterprise)
            else:
                user = self.layout.agent(sizes, enterprise,
                                         rng.randrange(sizes.agents_per_enterprise))
        age = (self.anchor - submitted).total_seconds() / 86400
        weights = next(w for bound, w in STATUS_BY_AGE if age < bound)
        status = rng.choices(list(weights), weights=list(weights.values()))[0]
        return Filing(user, enterprise, submitted, status,
                      status == "approved" and rng.random() < INSTANT_SHARE)

    def _bundle(self, rng: random.Random, filing: Filing, room: int) -> BundleSpec | None:
        """A bundle for this filing now and then, when its cases fit in the day's count."""
        bundles = (self.catalog.personal_bundles if filing.enterprise is None
                   else self.catalog.enterprise_bundles)
        if filing.instant or not bundles or rng.random() >= BUNDLE_SHARE:
            return None
        bundle = rng.choice(bundles)
        return bundle if 1 + len(bundle.members) <= room else None

    def _timeline(self, rng: random.Random, filing: Filing) -> list[tuple[str, datetime]]:
        """(status, time) of each node; the last no later than the anchor."""
        submitted = filing.submitted
        if filing.instant:
            return [("submitted", submitted), ("approved", submitted)]
        path = PATHS[filing.status]
        gaps = [rng.uniform(*GAP_HOURS[step]) for step in path[1:]]
        room = max(0.0, (self.anchor - submitted).total_seconds() - 1) / 3600
        if gaps and sum(gaps) > room:
            gaps = [gap * room / sum(gaps) for gap in gaps]
        nodes = [("submitted", submitted)]
        at = submitted
        for step, gap in zip(path[1:], gaps, strict=True):
            at += timedelta(hours=gap)
            nodes.append((step, at))
        return nodes

    def _case(self, chunk: Chunk, rng: random.Random, case_id: int, case_no: str,
              parent_id: int | None, what: Item, filing: Filing) -> None:
        layout, user, enterprise = self.layout, filing.user, filing.enterprise
        nodes = self._timeline(rng, filing)
        due = self.due(filing.submitted, what.limit_days)
        last = nodes[-1][1]
        is_open = filing.status in OPEN_STATUSES
        paused = last if filing.status == "supplement_requested" else None
        # The overdue sweep has marked open cases past their due time.
        swept = due + timedelta(minutes=15)
        overdue = swept if is_open and paused is None and swept < self.anchor else None
        region = (REGIONS[enterprise % len(REGIONS)] if enterprise is not None
                  else region_of(user))
        enterprise_id = layout.enterprise_id(enterprise) if enterprise is not None else NULL
        chunk.cases.append(
            f"{case_id}\t{case_no}\t{''.join(rng.choices(QUERY_ALPHABET, k=8))}\t"
            f"{parent_id or NULL}\t{what.kind}\t{what.code}\t{what.name}\t{what.department}\t"
            f"{region}\t{self.catalog.version}\t{layout.user_id(user)}\t{enterprise_id}\t"
            f"{self.form_enc}\t{filing.status}\t{'window' if rng.random() < 0.05 else 'online'}"
            f"\t{filing.instant:d}\t{what.limit_days}\t{_time(filing.submitted)}\t{_time(due)}"
            f"\t{_time(None if is_open else last)}\t{_time(overdue)}\t{_time(paused)}"
            f"\t{NULL}\t{NULL}\t{_time(last)}\n")
        for number, (step, at) in enumerate(nodes):
            by_applicant = step in ("submitted", "withdrawn")
            by_department = not by_applicant and not filing.instant
            name = ("提交申请" if step == "submitted" else "秒批办结" if filing.instant
                    else STATUS_LABELS[step])
            note = "秒批通过" if filing.instant and step == "approved" else NOTES.get(step, "")
            source = "applicant" if by_applicant else "department" if by_department else "system"
            chunk.nodes.append(
                f"{case_id}\t{name}\t{step}\t{_time(at)}\t{note}\t"
                f"{what.department if by_department else ''}\t{source}\t"
                f"{f'bench-{case_id}-{number}' if by_department else NULL}\t{_time(at)}\n")
        if enterprise is not None:
            held = (layout.licence_id(self.sizes, enterprise), layout.id_card_id(user))
        else:
            held = (layout.id_card_id(user), layout.real_estate_id(user))
        for (key, name), certificate_id in zip(what.materials, held, strict=False):
            chunk.materials.append(f"{case_id}\t{key}\t{name}\tcertificate\t{certificate_id}"
                                   f"\t{NULL}\n")


# ---------------------------------------------------------------------------------------------
# The load


def _each(n: int, every: int) -> Iterator[range]:
    for start in range(0, n, every):
        yield range(start, min(n, start + every))


def load(connection: pymysql.Connection, folder: Path, sizes: Sizes, layout: Layout,
         cipher: PersonalDataCipher, calendar: WorkingCalendar,
         say: Callable[[str], None] = print) -> None:
    """Load what `bench_meta` does not record as loaded yet, committing as it goes.

    A thread loads each week while the next is generated: MariaDB parses and indexes on one
    core while Python makes rows on the other."""
    loader = Loader(connection, folder)
    catalog = read_catalog(connection)
    meta = read_meta(connection)
    if meta.get("people") != "loaded":
        started = time.perf_counter()
        for table, (columns, rows) in people_rows(sizes, layout, cipher, catalog).items():
            loader.load(table, columns, rows)
        write_meta(connection, people="loaded")  # commits the rows with the note
        say(f"  {sizes.users:,} users, {sizes.enterprises:,} enterprises, their bindings and "
            f"certificates: {time.perf_counter() - started:.0f} s")
    anchor = datetime.fromisoformat(layout.anchor)
    days = china_days(anchor)
    counts = day_counts(sizes.cases, days, anchor)
    firsts = [layout.case_base + sum(counts[:n]) for n in range(len(days))]
    done = int(meta.get("case_days", "0"))
    maker = CaseMaker(sizes, layout, catalog, calendar,
                      cipher.encrypt(json.dumps(FORM, ensure_ascii=False), "case.form"))
    started = time.perf_counter()
    resumed_at = sum(counts[:done])

    def commit(chunk: Chunk, through: int) -> None:
        loader.load_lines("cases", CASE_COLUMNS, chunk.cases)
        loader.load_lines("case_nodes", NODE_COLUMNS, chunk.nodes)
        loader.load_lines("case_materials", MATERIAL_COLUMNS, chunk.materials)
        # The app's counter of each day: a case filed today continues after the generated.
        loader.load("case_serials", ("scope", "last"), chunk.serials, replace=True)
        write_meta(connection, case_days=str(through))  # commits the week with the note
        loaded = sum(counts[:through])
        seconds = time.perf_counter() - started
        say(f"  cases through {days[through - 1]}: {loaded:,} of {sizes.cases:,} "
            f"({(loaded - resumed_at) / seconds:,.0f}/s, {seconds:.0f} s)")

    with ThreadPoolExecutor(max_workers=1) as loading:
        pending: Future[None] | None = None
        for week in _each(len(days), DAYS_PER_COMMIT):
            if week.stop <= done:
                continue
            chunk = Chunk()
            for n in week:
                maker.day(days[n], counts[n], firsts[n], chunk)
            if pending is not None:
                pending.result()
            pending = loading.submit(commit, chunk, week.stop)
        if pending is not None:
            pending.result()
    with connection.cursor() as cursor:
        for table in ("users", "enterprises", "enterprise_bindings", "certificates", "cases",
                      "case_nodes", "case_materials"):
            cursor.execute(f"ANALYZE TABLE `{table}`")
            cursor.fetchall()
    write_meta(connection, complete="yes")
