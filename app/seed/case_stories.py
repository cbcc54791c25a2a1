"""What the demo cases say: who applies for what, the nodes departments write on a timeline,
and the values filled in the application forms.

Texts only, and the small choices that make them: `app.seed.cases` files and moves the cases.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from app.seed.fake_identifiers import fake_id_number
from app.seed.identity import demo_id_number

COMPANY = "company"  # the demo company (昆明五华云岭食品有限公司), as an applicant of the pools
# The items each applicant files online: every required material is one of their
# e-certificates (免提交), as the API would accept the application.
ONLINE_ITEMS = {
    "demo-citizen-1": ["GF00144001", "GF00145001", "GF00142002", "GF00143001", "GF00125001",
                       "GF00129001", "GF00127001", "XK00107002", "XK00136002", "CF00101001"],
    "demo-citizen-2": ["QR00103001", "GF00123003", "GF00128001", "GF00127001", "GF00144001",
                       "GF00145001", "GF00142002", "GF00143001", "GF00129001"],
    "demo-legal-rep-1": ["GF00144001", "GF00145001", "GF00129001", "GF00127001", "GF00142002",
                         "GF00143001", "GF00125001"],
    "demo-agent-1": ["CF00101001", "GF00144001", "GF00125001", "XK00136002", "GF00143001",
                     "GF00142002", "GF00145001"],
    COMPANY: ["XK00114002", "JF00120001", "QT00104001", "QT00108001", "GF00149002",
              "QT00103003"],
}
# Counter applications (channel `window`), for items done at a service centre's window.
WINDOW_ITEMS = {
    "demo-citizen-1": ["XK00101001", "XK00104001", "GF00140001"],
    "demo-citizen-2": ["GF00140001", "XK00101001"],
    "demo-legal-rep-1": ["XK00101001", "GF00140001"],
    "demo-agent-1": ["XK00101001"],
    COMPANY: ["XK00120001", "XK00118001"],
}
APPLICANT_WEIGHTS = {"demo-citizen-1": 26, "demo-citizen-2": 20, "demo-legal-rep-1": 14,
                     "demo-agent-1": 14, COMPANY: 26}
# Who files the company's cases: its legal representative, or the agent it authorised.
COMPANY_FILERS = ("demo-legal-rep-1", "demo-legal-rep-1", "demo-legal-rep-1", "demo-agent-1",
                  "demo-agent-1")
STATUS_WEIGHTS = {"approved": 52, "rejected": 6, "withdrawn": 6, "in_review": 11,
                  "accepted": 9, "submitted": 8, "supplement_requested": 8}
WINDOW_SHARE = 0.1
# Finished cases that took longer than promised, for the 按时办结率 figure.
LATE_SHARE = 0.05
# Mobile numbers the demo people give in forms: made up (199 0871 …), like their ID numbers.
DEMO_PHONES = {"demo-citizen-1": "19908710031", "demo-citizen-2": "19908710017",
               "demo-legal-rep-1": "19908710042", "demo-agent-1": "19908710057"}


@dataclass(frozen=True)
class Step:
    """A move on a case's timeline, `gap` working days after the one before (0: the same day,
    or the next working day when the office has closed)."""

    status: str
    name: str
    note: str
    gap: int = 0
    source: str = "department"
    department: str = ""


ACCEPT_NOTES = (
    "申请材料齐全，符合法定形式，予以受理。",
    "经审核，材料齐全，予以受理，请耐心等待审批结果。",
    "已受理，将在承诺时限内办结。",
)
REVIEWS = (
    ("审查", "正在审查申请材料。"),
    ("审核", "材料审核中，如需补充将另行通知。"),
    ("现场核查", "已安排工作人员现场核查，请保持电话畅通。"),
    ("复核", "初审通过，已转复核。"),
    ("审批", "已报分管负责人审批。"),
)
SUPPLEMENT_NOTES = (
    "申请表中联系地址填写不完整，请补充后重新提交。",
    "所附证照信息与申请表不一致，请核对后补正。",
    "请补充提供相关证明材料的清晰扫描件。",
    "请补充提供近期免冠证件照片（白底）。",
)
APPROVE_NOTES = (
    "审批通过，已办结。",
    "准予办理，办理结果已通过短信和小程序消息告知申请人。",
    "已办结，纸质结果可到政务服务中心窗口领取或选择邮寄。",
)
REJECT_NOTES = (
    "经审查，申请人不符合办理条件，依法不予许可。",
    "所提交材料与实际情况不符，不予办理。",
)
NOT_ACCEPTED_NOTE = "申请事项不属于本机关受理范围，请向户籍所在地相关部门申请。"
LAPSED_NOTE = "申请人逾期未补正材料，视为放弃申请，终止办理。"
WITHDRAW_NOTES = ("信息填写有误，撤回后重新申请。", "已到窗口现场办理，撤回线上申请。",
                  "暂不需要办理。")
# What the department of a flagship item writes when it finishes, instead of a generic note.
APPROVE_NOTES_BY_ITEM = {
    "XK00114002": "准予延续，新的食品经营许可证可到窗口领取或选择邮寄。",
    "GF00144001": "无犯罪记录证明已开具，可在线下载或到派出所窗口领取。",
    "XK00101001": "护照已制作完成，将通过EMS邮寄到申请时填写的地址。",
    "JF00120001": "经审核符合稳岗返还条件，返还资金将在10个工作日内拨付至单位账户。",
    "QR00103001": "户口迁移已办结，请持户口簿到迁入地派出所办理后续事项。",
    "GF00140001": "经人民调解委员会调解，双方达成调解协议。",
}
REVIEW_BY_ITEM = {"XK00114002": ("现场核查", "已完成经营场所现场核查，经营条件未发生变化。")}


def _accept(rng: random.Random, gap: int) -> Step:
    return Step("accepted", "受理", rng.choice(ACCEPT_NOTES), gap)


def _review(rng: random.Random, code: str, gap: int, first: bool = True) -> Step:
    name, note = rng.choice(REVIEWS)
    if first and code in REVIEW_BY_ITEM:
        name, note = REVIEW_BY_ITEM[code]
    return Step("in_review", name, note, gap)


def _approve(rng: random.Random, code: str, gap: int) -> Step:
    return Step("approved", "办结", APPROVE_NOTES_BY_ITEM.get(code) or rng.choice(APPROVE_NOTES),
                gap)


def _split(rng: random.Random, days: int, parts: int) -> list[int]:
    """`days` working days shared out among `parts` steps."""
    cuts = sorted(rng.randint(0, days) for _ in range(parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, days], strict=True)]


def steps_for(rng: random.Random, status: str, limit: int, code: str, late: bool = False
              ) -> list[Step]:
    """A timeline that ends in `status`, for an item promised in `limit` working days; `late`,
    a finished one that takes a few days more."""
    if status == "submitted":
        return []
    if status == "withdrawn":
        return [Step("withdrawn", "申请人撤回", rng.choice(WITHDRAW_NOTES), source="applicant")]
    if status == "rejected" and not late and rng.random() < 0.3:
        return [Step("rejected", "不予受理", NOT_ACCEPTED_NOTE, min(limit, rng.choice((0, 1))))]
    accept = _accept(rng, 0 if limit <= 1 else rng.choice((0, 0, 1)))
    if status == "accepted":
        return [accept]
    if status == "in_review":
        steps = [accept, _review(rng, code, rng.randint(0, 2))]
        if rng.random() < 0.3:
            steps.append(_review(rng, code, rng.randint(1, 2), first=False))
        return steps
    if status == "supplement_requested":
        return [accept, Step("supplement_requested", "补正材料", rng.choice(SUPPLEMENT_NOTES),
                             rng.randint(0, 2))]
    if limit == 0 and not late:  # 即办: finished the day it is accepted
        if status == "rejected":
            return [accept, Step("rejected", "不予许可", rng.choice(REJECT_NOTES))]
        return [accept, Step("approved", "即时办结", "即办事项，已当场办结。")]
    # Working days from acceptance to the end; a short limit may be used up by a weekend
    # filing, accepted on the next working day and done the same day.
    days = rng.randint(0 if limit <= 2 else 1, max(limit, 1)) + (rng.randint(1, 3) if late else 0)
    review_gap, finish_gap = _split(rng, max(0, days - accept.gap), 2)
    steps = [accept, _review(rng, code, review_gap)]
    if status == "rejected":
        if not late and rng.random() < 0.25:
            return [accept, Step("supplement_requested", "补正材料", rng.choice(SUPPLEMENT_NOTES),
                                 review_gap), Step("rejected", "终止办理", LAPSED_NOTE, 5)]
        return [*steps, Step("rejected", "不予许可", rng.choice(REJECT_NOTES), finish_gap)]
    if rng.random() < 0.2:
        steps += [Step("supplement_requested", "补正材料", rng.choice(SUPPLEMENT_NOTES)),
                  Step("in_review", "补正材料已接收", "申请人已补正材料，继续审查。",
                       rng.randint(1, 3))]
    return [*steps, _approve(rng, code, finish_gap)]


def window_steps(steps: list[Step], centre: str) -> list[Step]:
    """A counter application: the window accepts it on the spot."""
    if steps and steps[0].status == "accepted":
        first = replace(steps[0], name="窗口受理", note="窗口收件，材料齐全，当场受理。", gap=0,
                        department=centre)
        return [first, *steps[1:]]
    return steps


# ------------------------------------------------------------------ form values

Filler = Callable[[random.Random, "FormContext"], Any]


@dataclass(frozen=True)
class FormContext:
    openid: str
    region: str
    day: date  # the China day of the submission


def _days_after(low: int, high: int) -> Filler:
    return lambda rng, ctx: (ctx.day + timedelta(days=rng.randint(low, high))).isoformat()


def _pick(*values: Any) -> Filler:
    return lambda rng, ctx: rng.choice(values)


FORM_VALUES: dict[str, Filler] = {
    "receiving_unit": _pick("云南数智科技有限公司", "昆明市五华区人才服务中心",
                            "云南师范大学研究生院", "中国建设银行云南省分行"),
    "period_start": lambda rng, ctx: ctx.day.replace(year=ctx.day.year - 3).isoformat(),
    "period_end": lambda rng, ctx: ctx.day.isoformat(),
    "visit_date": _days_after(1, 7),
    "visitors": _pick(1, 2, 3, 4),
    "former_employer": _pick("云南滇中建设集团有限公司", "昆明博文教育咨询有限公司"),
    "new_employer": _pick("云南数智科技有限公司", "昆明五华云岭食品有限公司"),
    "other_party": _pick("楼上住户", "相邻商铺经营者", "原房东", "装修公司"),
    "summary": _pick("楼上住户装修噪音持续到夜间，多次沟通无果，希望调解。",
                     "房屋租赁到期后押金未退还，双方对扣款金额有争议。",
                     "装修工程延期且部分项目未按约定完成，协商未果。"),
    "registration_year": _pick(2006, 2012, 2018),
    "address": _pick("云南省昆明市五华区翠华路88号"),
    "training_school": _pick("昆明交通运输职业培训学校"),
    "platform_company": _pick("滴滴出行科技有限公司昆明分公司", "曹操出行昆明分公司",
                              "T3出行昆明分公司"),
    "plate_number": _pick("云A·7K2M5"),
    "violation_no": lambda rng, ctx: f"5301{rng.randint(10**11, 10**12 - 1)}",
    "destination_address": _pick("云南省昆明市盘龙区北京路1088号", "云南省昆明市五华区西昌路256号"),
    "members": _pick(1, 2, 3),
    "house_address": _pick("昆明市盘龙区穿金路217号6幢1单元302室"),
    "purchase_date": lambda rng, ctx: (ctx.day - timedelta(days=rng.randint(30, 300))).isoformat(),
    "amount": lambda rng, ctx: rng.randint(50, 200) * 1000,
    "account_no": lambda rng, ctx: f"01{rng.randint(10**7, 10**8 - 1)}",
    "property_address": _pick("昆明市盘龙区穿金路217号6幢1单元302室"),
    "exam_year": lambda rng, ctx: ctx.day.year - 1,
    "employer": _pick("云南数智科技有限公司"),
    "conditions_unchanged": _pick(True),
    "insured_employees": lambda rng, ctx: rng.randint(12, 40),
    "layoff_rate": _pick(0, 1.5, 2.8),
    "bank_name": _pick("富滇银行昆明五华支行", "中国工商银行昆明翠湖支行"),
    "premises_address": _pick("云南省昆明市五华区龙翔街126号1楼"),
    "start_date": _days_after(5, 20),
    "new_hires": lambda rng, ctx: rng.randint(1, 6),
    "people": lambda rng, ctx: rng.randint(1, 4),
    "effective_date": _days_after(1, 30),
    "sign_area": _pick(3, 6, 8.5, 12),
    "location": _pick("云南省昆明市五华区龙翔街126号门头"),
    "premises_area": _pick(180, 260, 420),
    "open_date": _days_after(10, 30),
    "annual_sales": _pick(560, 620, 800),
}


def fill_form(rng: random.Random, definition: dict[str, Any] | None, ctx: FormContext
              ) -> dict[str, Any]:
    """A filled form for an item's form definition: every required field, some optional ones."""
    filled: dict[str, Any] = {}
    for spec in (definition or {}).get("fields") or []:
        if not spec.get("required") and rng.random() < 0.5:
            continue
        name, kind = spec["name"], spec.get("type")
        if name in FORM_VALUES:
            filled[name] = FORM_VALUES[name](rng, ctx)
        elif kind == "select":
            filled[name] = rng.choice(spec["options"])
        elif kind == "phone":
            filled[name] = DEMO_PHONES[ctx.openid]
        elif kind == "region":
            filled[name] = ctx.region
        elif kind == "boolean":
            filled[name] = True
        else:
            raise KeyError(f"no demo value for form field {name}")
    return filled


def bundle_form(code: str, ctx: FormContext) -> dict[str, Any]:
    """The one form of a demo bundle application."""
    phone = DEMO_PHONES[ctx.openid]
    if code == "B001":
        return {"enterprise_name": "昆明云岭餐饮管理有限公司", "enterprise_type": "有限责任公司",
                "registered_capital": 200, "legal_representative_name": "张丽华",
                "legal_representative_id": demo_id_number("demo-legal-rep-1"),
                "contact_phone": phone, "address_region": "530102",
                "address_detail": "云南省昆明市五华区龙翔街128号2楼",
                "business_scope": "餐饮管理；餐饮服务；食品销售",
                "seal_set": "公章、财务章、发票章、法人章", "employee_count": 8}
    if code == "B002":
        return {"baby_name": "李安然", "baby_gender": "女",
                "baby_birth_date": (ctx.day - timedelta(days=9)).isoformat(),
                "mother_name": "周晓雯",
                "mother_id_number": fake_id_number("530102", date(1993, 4, 18), 64),
                "father_name": "李明", "father_id_number": demo_id_number("demo-citizen-1"),
                "settle_with": "随父亲", "household_region": "530102", "contact_phone": phone}
    if code == "B003":
        return {"applicant_name": "王建国", "applicant_id_number": demo_id_number(ctx.openid),
                "retirement_type": "正常退休",
                "planned_retirement_date": (ctx.day + timedelta(days=60)).isoformat(),
                "employer_name": "昆明市盘龙区市政工程有限公司", "bank_account_region": "530103",
                "withdraw_housing_fund": "是", "contact_phone": phone}
    if code == "B006":
        return {"shop_name": "云岭小厨（翠湖店）", "operator_name": "张丽华",
                "operator_id_number": demo_id_number("demo-legal-rep-1"), "contact_phone": phone,
                "shop_region": "530102", "shop_address": "云南省昆明市五华区翠湖南路36号",
                "floor_area": 160, "food_category": "热食类食品制售", "seat_count": 48,
                "need_signboard": "是"}
    raise KeyError(code)


@dataclass(frozen=True)
class BundleStory:
    code: str
    openid: str
    for_company: bool
    days_ago: int
    # Member item → the status its case has reached, or the steps it has had; others approved.
    members: dict[str, str | tuple[Step, ...]]


BUNDLES = (
    BundleStory("B001", "demo-legal-rep-1", True, 46, {}),  # every member approved
    BundleStory("B002", "demo-citizen-1", False, 33, {}),
    BundleStory("B003", "demo-citizen-2", False, 3, {
        "QR00110001": "accepted", "JF00106001": "submitted",
        "GF00123002": (Step("accepted", "受理", "申请材料齐全，予以受理。"),
                       Step("supplement_requested", "补正材料",
                            "退休审批办结后，请补充提供退休证再继续办理公积金提取。"))}),
    BundleStory("B006", "demo-agent-1", True, 4, {
        "XK00114001": "in_review", "XK00118001": "supplement_requested",
        "XK00120001": "accepted", "XK00121001": "accepted"}),
)


@dataclass(frozen=True)
class Special:
    """A case the demo needs exactly: instant approval, its fallback, an overdue one."""

    openid: str
    code: str
    for_company: bool
    days_ago: int
    steps: tuple[Step, ...] = ()
    overdue: bool = False


SPECIAL_CASES = (
    # 秒批: a B2 driver's qualification is approved at once and issued as an e-certificate.
    Special("demo-agent-1", "XK00135001", False, 20),
    Special("demo-citizen-1", "GF00142001", False, 62),
    Special("demo-legal-rep-1", "GF00142001", False, 11),
    # A C1 licence does not prove the rule: the case goes to a person, who refuses it.
    Special("demo-citizen-1", "XK00135001", False, 27, (
        Step("accepted", "受理", "秒批条件未满足，转人工审查。", 1),
        Step("rejected", "不予许可",
             "申请人准驾车型为C1，道路货物运输驾驶员须持有A1、A2、B1或B2准驾车型驾驶证，不予许可。",
             1))),
    # Open past their due time: the overdue sweep has marked them.
    Special("demo-citizen-1", "XK00136002", False, 24, (
        Step("accepted", "受理", "申请材料齐全，予以受理。", 1),
        Step("in_review", "背景核查", "已提交公安机关进行驾驶员背景核查，等待核查结果。", 2)),
        overdue=True),
    Special("demo-legal-rep-1", "JF00120001", True, 26, (
        Step("accepted", "受理", "申请材料齐全，予以受理。", 1),
        Step("in_review", "审核", "正在核对单位上年度参保缴费和裁员情况。", 2)), overdue=True),
)
