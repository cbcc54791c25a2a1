"""Add a generated catalog of N service items to the app's database, and some use history.

    .venv/bin/python bench/load_catalog.py --items 5000

Runs against the database and Redis named by DATABASE_URL / REDIS_URL (as the app reads
them), after `flask db upgrade` and `flask seed-demo`. Items get codes QT9NNNN001 so they
never collide with the demo catalog; running it again replaces nothing that exists.
"""

from __future__ import annotations

import argparse
import random
import time

import sqlalchemy as sa
from catalog_fixture import generate_catalog

from app import create_app
from app.catalog.hot import record_use
from app.catalog.upkeep import commit_catalog_change
from app.extensions import db
from app.models import ServiceItem, ServiceMaterial, Theme
from app.models.catalog import item_regions, item_themes

THEMES_BY_NAME = {
    "交通出行": "transport", "企业开办": "company_start", "住房保障": "housing",
    "养老服务": "retirement", "医疗卫生": "medical", "婚姻登记": "marriage",
    "就业创业": "employment", "工程建设": "construction", "户籍办理": "household",
    "教育科研": "education", "文化旅游": "culture_sports", "残疾人服务": "disability",
    "生育收养": "birth", "社会保障": "social_security", "社会救助": "social_assistance",
    "税费办理": "tax", "许可审批": "business_permits", "证件办理": "identity_docs",
    "退役军人": "veterans",
}
HOT_REGIONS = ("530102", "530103", "530111", "530302", "532901")


def load(item_count: int, uses: int) -> None:
    """Insert the items in bulk (the admin API's checks are for people, not for 5,000 rows)."""
    themes = dict(db.session.execute(sa.select(Theme.code, Theme.id)).all())
    existing = set(db.session.scalars(sa.select(ServiceItem.code)))
    generated = generate_catalog(item_count)
    rows = []
    for number, item in enumerate(generated):
        code = f"QT9{number:04d}001"
        if code in existing:
            continue
        rows.append((code, item))
        db.session.add(ServiceItem(
            code=code, name=item.name, short_name=item.name[:64], department=item.department,
            item_type="QT", audience="personal", legal_basis="", conditions=[item.conditions],
            steps=[{"name": "申请"}, {"name": "受理"}, {"name": "办结"}], legal_limit_days=20,
            promised_limit_days=10, online_level="全程网办", faqs=item.faqs,
            keywords=item.keywords, sort_order=1000 + number,
            materials=[ServiceMaterial(material_key=f"m{n}", position=n, name=name)
                       for n, name in enumerate(item.materials, start=1)]))
    db.session.flush()
    ids = dict(db.session.execute(sa.select(ServiceItem.code, ServiceItem.id).where(
        ServiceItem.code.in_([code for code, _ in rows]))).all())
    theme_rows = [{"item_id": ids[code], "theme_id": themes[THEMES_BY_NAME.get(
        item.theme, "social_security")]} for code, item in rows]
    region_rows = [{"item_id": ids[code], "region_code": region}
                   for code, item in rows for region in (item.regions or ["530000"])]
    if rows:
        db.session.execute(item_themes.insert(), theme_rows)
        db.session.execute(item_regions.insert(), region_rows)
    commit_catalog_change()
    rng = random.Random(7)
    codes = [code for code, _ in rows] or sorted(existing)
    for _ in range(uses):  # Zipf-like: the first items are used far more than the rest
        code = codes[min(int(rng.paretovariate(1.1)) - 1, len(codes) - 1)]
        record_use(code, rng.choice(HOT_REGIONS), "personal")
    print(f"added {len(rows)} items, recorded {uses} uses")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--uses", type=int, default=20000)
    args = parser.parse_args()
    app = create_app()
    started = time.perf_counter()
    with app.app_context():
        load(args.items, args.uses)
    print(f"took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
