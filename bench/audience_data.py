"""The generated audience of bench/audience.py: 200 profile tags over N users, shaped like a
province's, as roaring bitmaps; the expressions it times, each with its plain SQL.

The province is Yunnan: users spread over its 16 prefectures by their 2020 census population,
each over its first four counties in app/seed/data/regions.json (`region:530102`; two have
three), partly in runs of consecutive ids (a county's registration drive) and partly at random;
an age pyramid; gender; real-name verification (everyone after the id where it became
mandatory, two in three before); enterprise users; certificates and their 30-day expiry
windows; opt-outs; rare life events; and a long tail of manual lists (`group:…`), Zipf-sized
from 1,000,000 down to a few hundred at 35 million users, every other one in runs of ids (a
batch import) rather than scattered.

A tag is made as a Python integer used as a bit set (bit u is user u; ids run from 1 to N), so a
tag over 35 million users costs a few big-integer operations rather than a loop over people,
and becomes a roaring bitmap through the portable serialization format (dense 65,536-id chunks
copied as bitset containers, sparse ones listed). Everything follows from one seed.
"""

from __future__ import annotations

import json
import math
import operator
import random
import re
import struct
import sys
from array import array
from collections.abc import Iterator, Sequence
from functools import reduce

from paths import REPO_DIR
from pyroaring import BitMap

from app.push.index import UNIVERSE_TAG

TAG_COUNT = 200
SEED = 20261201
# 2020 census population of Yunnan's prefectures, in thousands.
PREFECTURES = {"5301": 8460, "5303": 5766, "5304": 2250, "5305": 2431, "5306": 5093,
               "5307": 1254, "5308": 2405, "5309": 2258, "5323": 2417, "5325": 4478,
               "5326": 3503, "5328": 1301, "5329": 3338, "5331": 1316, "5333": 553, "5334": 388}
COUNTY_SHARES = (0.40, 0.25, 0.20, 0.15)  # a prefecture's first four counties in regions.json
CAMPAIGN_SHARE = 0.25  # of the ids, registered in a county's drive: runs of 256 to 16,384 ids
AGES = {"age:0-17": 0.09, "age:18-34": 0.33, "age:35-59": 0.43, "age:60+": 0.15}
GENDERS = {"gender:f": 0.49, "gender:m": 0.51}
REAL_NAME_MANDATORY_AT = 0.6  # of the id range: everyone after it is verified
# Certificate type (app/seed/data/certificate_types.json): share of the users, or of the
# users of the tag named third, holding one.
CERTIFICATES = (
    ("id_card", 0.92, None), ("social_security_card", 0.70, None),
    ("medical_insurance_code", 0.65, None), ("household_register", 0.55, None),
    ("marriage_certificate", 0.38, None), ("driving_licence", 0.30, None),
    ("education_certificate", 0.25, None), ("real_estate_certificate", 0.22, None),
    ("vehicle_licence", 0.18, None), ("vocational_skill_certificate", 0.05, None),
    ("residence_permit", 0.02, None), ("disability_certificate", 0.015, None),
    ("senior_citizen_card", 0.60, "age:60+"), ("retirement_certificate", 0.50, "age:60+"),
    ("business_licence", 0.55, "user:enterprise"),
)
# Share of a certificate's holders whose one expires within 30 days (validity of 1 to 20 years).
EXPIRING = {"id_card": 0.0035, "social_security_card": 0.008, "driving_licence": 0.0133,
            "residence_permit": 0.08, "business_licence": 0.01}
OPTOUTS = {"events": 0.06, "traffic": 0.04, "pension": 0.03, "health": 0.03, "family": 0.02,
           "education": 0.02, "tax": 0.015, "enterprise": 0.01}
LIFE_EVENTS = {"job_change": 0.015, "school_entry": 0.010, "house_purchase": 0.008,
               "marriage": 0.005, "retirement": 0.004, "newborn": 0.003, "bereavement": 0.002,
               "military_service": 0.001}
MANUAL_LISTS = ("rural_revitalization", "tea_growers", "flood_relief", "returning_migrants",
                "volunteers", "veteran_families", "new_graduates", "tourism_operators",
                "elderly_living_alone", "coffee_growers", "taxi_drivers", "community_doctors",
                "rural_teachers", "border_residents", "rubber_farmers", "left_behind_children",
                "flower_growers", "relocated_households", "small_traders", "night_market")
LARGEST_LIST_SHARE = 1 / 35  # 1,000,000 of 35 million
SMALLEST_LIST_SHARE = 300 / 35_000_000
PROBABILITY_BITS = 10  # significant bits of a probability drawn by `Generator.bernoulli`
CHUNK_BYTES = 8192  # one roaring container: 65,536 ids
ARRAY_LIMIT = 4096  # a container of at most this many ids is an array, above it a bitset
PORTABLE_NO_RUNS, PORTABLE_RUNS = 12346, 12347  # cookies of the portable format
_ONE = re.compile("1")

# (audience expression, the plain SQL a developer would write for its size on `user_tags`).
EXPRESSIONS: list[tuple[str, str]] = [
    ("region:5301", "SELECT COUNT(*) FROM user_tags WHERE tag LIKE 'region:5301%'"),
    ("NOT optout:events",
     "SELECT COUNT(*) FROM user_tags u WHERE u.tag = 'user:registered' AND NOT EXISTS ("
     "SELECT 1 FROM user_tags o WHERE o.user_id = u.user_id AND o.tag = 'optout:events')"),
    ("region:5301 AND age:60+",
     "SELECT COUNT(*) FROM user_tags r WHERE r.tag LIKE 'region:5301%' AND EXISTS ("
     "SELECT 1 FROM user_tags a WHERE a.user_id = r.user_id AND a.tag = 'age:60+')"),
    ("cert:driving_licence:expiring_30d AND NOT optout:traffic",
     "SELECT COUNT(*) FROM user_tags c WHERE c.tag = 'cert:driving_licence:expiring_30d' "
     "AND NOT EXISTS (SELECT 1 FROM user_tags o WHERE o.user_id = c.user_id "
     "AND o.tag = 'optout:traffic')"),
    ("region:5325 AND gender:f AND age:18-34",
     "SELECT COUNT(*) FROM user_tags r WHERE r.tag LIKE 'region:5325%' "
     "AND EXISTS (SELECT 1 FROM user_tags g WHERE g.user_id = r.user_id AND g.tag = 'gender:f') "
     "AND EXISTS (SELECT 1 FROM user_tags a WHERE a.user_id = r.user_id AND a.tag = 'age:18-34')"),
    ("life:newborn AND user:real_name AND NOT optout:family AND NOT optout:health",
     "SELECT COUNT(*) FROM user_tags l WHERE l.tag = 'life:newborn' "
     "AND EXISTS (SELECT 1 FROM user_tags v WHERE v.user_id = l.user_id "
     "AND v.tag = 'user:real_name') "
     "AND NOT EXISTS (SELECT 1 FROM user_tags o WHERE o.user_id = l.user_id "
     "AND o.tag IN ('optout:family', 'optout:health'))"),
    ("region:5301 AND (age:60+ OR age:35-59) AND gender:f AND NOT optout:pension "
     "AND (life:newborn OR cert:driving_licence)",
     "SELECT COUNT(*) FROM user_tags r WHERE r.tag LIKE 'region:5301%' "
     "AND EXISTS (SELECT 1 FROM user_tags a WHERE a.user_id = r.user_id "
     "AND a.tag IN ('age:60+', 'age:35-59')) "
     "AND EXISTS (SELECT 1 FROM user_tags g WHERE g.user_id = r.user_id AND g.tag = 'gender:f') "
     "AND NOT EXISTS (SELECT 1 FROM user_tags o WHERE o.user_id = r.user_id "
     "AND o.tag = 'optout:pension') "
     "AND EXISTS (SELECT 1 FROM user_tags x WHERE x.user_id = r.user_id "
     "AND x.tag IN ('life:newborn', 'cert:driving_licence'))"),
    ("user:enterprise AND cert:business_licence AND (region:5301 OR region:5329) "
     "AND NOT cert:business_licence:expiring_30d AND NOT optout:enterprise AND NOT optout:tax",
     "SELECT COUNT(*) FROM user_tags b WHERE b.tag = 'cert:business_licence' "
     "AND EXISTS (SELECT 1 FROM user_tags e WHERE e.user_id = b.user_id "
     "AND e.tag = 'user:enterprise') "
     "AND EXISTS (SELECT 1 FROM user_tags r WHERE r.user_id = b.user_id "
     "AND (r.tag LIKE 'region:5301%' OR r.tag LIKE 'region:5329%')) "
     "AND NOT EXISTS (SELECT 1 FROM user_tags o WHERE o.user_id = b.user_id AND o.tag IN "
     "('cert:business_licence:expiring_30d', 'optout:enterprise', 'optout:tax'))"),
    ("region:53 AND user:real_name AND (age:18-34 OR age:35-59) AND cert:driving_licence "
     "AND cert:vehicle_licence AND NOT optout:traffic AND NOT group:tea_growers",
     "SELECT COUNT(*) FROM user_tags c WHERE c.tag = 'cert:vehicle_licence' "
     "AND EXISTS (SELECT 1 FROM user_tags r WHERE r.user_id = c.user_id "
     "AND r.tag LIKE 'region:53%') "
     "AND EXISTS (SELECT 1 FROM user_tags v WHERE v.user_id = c.user_id "
     "AND v.tag = 'user:real_name') "
     "AND EXISTS (SELECT 1 FROM user_tags a WHERE a.user_id = c.user_id "
     "AND a.tag IN ('age:18-34', 'age:35-59')) "
     "AND EXISTS (SELECT 1 FROM user_tags d WHERE d.user_id = c.user_id "
     "AND d.tag = 'cert:driving_licence') "
     "AND NOT EXISTS (SELECT 1 FROM user_tags o WHERE o.user_id = c.user_id "
     "AND o.tag IN ('optout:traffic', 'group:tea_growers'))"),
    ("region:53 AND user:real_name AND (age:35-59 OR age:60+) AND gender:m "
     "AND cert:driving_licence:* AND NOT optout:traffic AND NOT optout:events "
     "AND NOT region:5333",
     "SELECT COUNT(DISTINCT d.user_id) FROM user_tags d WHERE d.tag LIKE 'cert:driving_licence:%' "
     "AND EXISTS (SELECT 1 FROM user_tags r WHERE r.user_id = d.user_id "
     "AND r.tag LIKE 'region:53%') "
     "AND EXISTS (SELECT 1 FROM user_tags v WHERE v.user_id = d.user_id "
     "AND v.tag = 'user:real_name') "
     "AND EXISTS (SELECT 1 FROM user_tags a WHERE a.user_id = d.user_id "
     "AND a.tag IN ('age:35-59', 'age:60+')) "
     "AND EXISTS (SELECT 1 FROM user_tags g WHERE g.user_id = d.user_id AND g.tag = 'gender:m') "
     "AND NOT EXISTS (SELECT 1 FROM user_tags o WHERE o.user_id = d.user_id "
     "AND (o.tag IN ('optout:traffic', 'optout:events') OR o.tag LIKE 'region:5333%'))"),
]
TARGET_EXPRESSION = EXPRESSIONS[6][0]  # the five-clause one the requirement names


class Generator:
    """Random sets of the users 1..N as bit sets, from one seeded stream."""

    def __init__(self, users: int, seed: int) -> None:
        self.users = users
        self.width = users + 1  # bit 0 is nobody
        self.everyone = ((1 << self.width) - 1) ^ 1
        self.rng = random.Random(seed)

    def bernoulli(self, share: float, within: int | None = None) -> int:
        """Each user (of `within`, by default everyone) kept with probability `share`."""
        base = self.everyone if within is None else within
        if share <= 0:
            return 0
        if share >= 1:
            return base
        # share ≈ 0.b1 b2 … bk in binary; from the last digit up, OR a fair random bit set in
        # for a 1 and AND one in for a 0: each step halves the odds and adds the digit.
        digits = PROBABILITY_BITS - math.floor(math.log2(share))
        steps = round(share * (1 << digits))
        bits = 0
        for place in range(digits):
            digit = steps >> place & 1
            if digit or bits:  # ANDing into nothing leaves nothing: skip the draw
                fair = self.rng.getrandbits(self.width)
                bits = bits | fair if digit else bits & fair
        return bits & base

    def partition(self, shares: Sequence[float], within: int | None = None) -> list[int]:
        """The users (of `within`) split so that each is in exactly one part, part i with
        probability shares[i] / sum(shares)."""
        remaining = self.everyone if within is None else within
        left = sum(shares)
        parts = []
        for share in shares[:-1]:
            part = self.bernoulli(share / left, remaining) if left > 0 else 0
            parts.append(part)
            remaining ^= part  # part ⊆ remaining: cheaper than & ~part on big integers
            left -= share
        return [*parts, remaining]

    def runs(self, starts_and_lengths: Sequence[tuple[int, int]]) -> int:
        """Runs of consecutive ids as a bit set; starts and lengths in bytes (8 ids each)."""
        bits = bytearray((self.width + 7) // 8)
        for start, length in starts_and_lengths:
            stop = min(start + length, len(bits))
            bits[start:stop] = b"\xff" * (stop - start)
        return int.from_bytes(bits, "little") & self.everyone

    def campaigns(self, weights: Sequence[float], covering: float) -> list[int]:
        """Runs of 256 to 16,384 consecutive ids over about `covering` of the ids, each given to
        part i with probability weights[i]: one bit set per part."""
        owner = bytearray((self.width + 7) // 8)
        mean_gap = round(1056 * (1 - covering) / covering)  # 1056 bytes: the mean run
        position = self.rng.randrange(2 * mean_gap + 1)
        while position < len(owner):
            length = self.rng.randrange(32, 2049)
            part = self.rng.choices(range(len(weights)), weights)[0]
            stop = min(position + length, len(owner))
            owner[position:stop] = bytes([part + 1]) * (stop - position)
            position += length + self.rng.randrange(2 * mean_gap + 1)
        parts = []
        for part in range(len(weights)):
            table = bytes(0xFF if byte == part + 1 else 0 for byte in range(256))
            parts.append(int.from_bytes(owner.translate(table), "little") & self.everyone)
        return parts


def counties() -> dict[str, list[str]]:
    """The first four county codes of each prefecture, from the demo's region list."""
    data = json.loads((REPO_DIR / "app/seed/data/regions.json").read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    for province in data["regions"]:
        for prefecture in province.get("children", []):
            code = prefecture["code"][:4]
            if code in PREFECTURES:
                found[code] = [c["code"] for c in prefecture["children"][:len(COUNTY_SHARES)]]
    return found


def generate(users: int, seed: int = SEED) -> Iterator[tuple[str, int]]:
    """Every tag with its members as a bit set, one tag at a time: TAG_COUNT of them."""
    g = Generator(users, seed)
    made = 0
    for tag, bits in _profile_tags(g):
        made += 1
        yield tag, bits
    yield from _manual_lists(g, TAG_COUNT - made)


def _profile_tags(g: Generator) -> Iterator[tuple[str, int]]:
    """The computed tags and the life events, in an order that lets subsets follow their sets."""
    yield UNIVERSE_TAG, g.everyone
    first_mandatory = int(g.users * REAL_NAME_MANDATORY_AT) + 1
    mandatory = g.everyone >> first_mandatory << first_mandatory
    yield "user:real_name", mandatory | g.bernoulli(2 / 3, g.everyone ^ mandatory)
    del mandatory
    kept = {"user:enterprise": g.bernoulli(0.06)}
    yield "user:enterprise", kept["user:enterprise"]
    legal_reps, agents, _ = g.partition([0.35, 0.55, 0.10], kept["user:enterprise"])
    yield "user:legal_rep", legal_reps
    yield "user:agent", agents
    del legal_reps, agents
    yield from _regions(g)
    for tag, bits in zip(AGES, g.partition(list(AGES.values())), strict=True):
        if tag == "age:60+":
            kept[tag] = bits
        yield tag, bits
    yield from zip(GENDERS, g.partition(list(GENDERS.values())), strict=True)
    for code, share, parent in CERTIFICATES:
        holders = g.bernoulli(share, kept[parent] if parent else None)
        yield f"cert:{code}", holders
        if code in EXPIRING:
            yield f"cert:{code}:expiring_30d", g.bernoulli(EXPIRING[code], holders)
    for category, share in OPTOUTS.items():
        yield f"optout:{category}", g.bernoulli(share)
    for event, share in LIFE_EVENTS.items():
        yield f"life:{event}", g.bernoulli(share)


def _regions(g: Generator) -> Iterator[tuple[str, int]]:
    """Each user in one county: runs of ids from registration drives, the rest at random."""
    total = sum(PREFECTURES.values())
    tags, weights = [], []
    for prefecture, codes in counties().items():
        shares = COUNTY_SHARES[:len(codes)]  # two prefectures have three counties
        for code, share in zip(codes, shares, strict=True):
            tags.append(f"region:{code}")
            weights.append(PREFECTURES[prefecture] / total * share / sum(shares))
    drives = g.campaigns(weights, CAMPAIGN_SHARE)
    scattered = g.everyone ^ (g.everyone & reduce(operator.or_, drives, 0))
    for tag, drive, bits in zip(tags, drives, g.partition(weights, scattered), strict=True):
        yield tag, drive | bits


def _manual_lists(g: Generator, count: int) -> Iterator[tuple[str, int]]:
    """Zipf-sized lists: the largest LARGEST_LIST_SHARE of the users, the smallest
    SMALLEST_LIST_SHARE; every other one a batch import of consecutive ids."""
    exponent = math.log(LARGEST_LIST_SHARE / SMALLEST_LIST_SHARE) / math.log(max(count, 2))
    for rank in range(count):
        topic = MANUAL_LISTS[rank % len(MANUAL_LISTS)]
        tag = f"group:{topic}" + (f"_{rank // len(MANUAL_LISTS) + 1}"
                                  if rank >= len(MANUAL_LISTS) else "")
        share = LARGEST_LIST_SHARE * (rank + 1) ** -exponent
        if rank % 2 == 0:
            yield tag, g.bernoulli(share)
            continue
        size_bytes = max(1, round(share * g.users / 8))
        pieces = max(1, size_bytes // 256)  # batches of about 2,048 ids
        length = max(1, size_bytes // pieces)
        last = max(1, (g.width + 7) // 8 - length)
        yield tag, g.runs([(g.rng.randrange(last), length) for _ in range(pieces)])


def to_bitmap(bits: int, width: int) -> BitMap:
    """A bit set (bit u is user u) as a roaring bitmap, through the portable format: a chunk of
    more than ARRAY_LIMIT ids is copied as a bitset container, a sparser one listed."""
    assert sys.byteorder == "little", "the portable format and array('H') must agree"
    data = bits.to_bytes(-(-((width + 7) // 8) // CHUNK_BYTES) * CHUNK_BYTES, "little")
    keys = array("H")
    bodies = []
    for key in range(len(data) // CHUNK_BYTES):
        chunk = data[key * CHUNK_BYTES:(key + 1) * CHUNK_BYTES]
        value = int.from_bytes(chunk, "little")
        cardinality = value.bit_count()
        if not cardinality:
            continue
        keys.extend((key, cardinality - 1))
        if cardinality > ARRAY_LIMIT:
            bodies.append(chunk)
        else:
            set_bits = format(value, f"0{CHUNK_BYTES * 8}b")[::-1]
            bodies.append(array("H", (m.start() for m in _ONE.finditer(set_bits))).tobytes())
    count = len(keys) // 2
    offsets = array("I")
    offset = 8 + 8 * count
    for body in bodies:
        offsets.append(offset)
        offset += len(body)
    bitmap = BitMap.deserialize(b"".join([struct.pack("<II", PORTABLE_NO_RUNS, count),
                                          keys.tobytes(), offsets.tobytes(), *bodies]))
    bitmap.run_optimize()
    bitmap.shrink_to_fit()
    return bitmap
