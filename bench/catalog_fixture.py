"""A synthetic service catalog of any size with real-sounding Chinese names, the same for a seed.

Names are built the way real 政务服务事项 are named: an optional applicant qualifier, a subject
(a certificate, a benefit, a licence) and an action (申领, 遗失补证, 变更登记), e.g.
"港澳台居民社会保障卡遗失补领". Each item carries a department, keywords, a guide text (conditions,
materials, department) and FAQs, in the shape of GET /services/{code}.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# (subject, department, theme, colloquial keywords, actions that make sense for it)
_CARD_ACTIONS = ("申领", "补领", "换领", "挂失", "解挂", "信息变更", "注销", "遗失补证", "损坏换证")
_LICENCE_ACTIONS = ("核发", "首次申请", "延续", "变更", "注销", "遗失补证", "期满换证", "审批")
_BENEFIT_ACTIONS = ("申请", "待遇核定", "资格认证", "发放查询", "停发", "恢复", "转移接续", "申报")
_REGISTRATION_ACTIONS = ("登记", "变更登记", "注销登记", "备案", "查询", "证明开具", "补办")

SUBJECTS: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("居民身份证", "公安局", "证件办理", ("身份证",), _CARD_ACTIONS),
    ("临时居民身份证", "公安局", "证件办理", ("临时身份证",), _CARD_ACTIONS),
    ("居住证", "公安局", "户籍办理", ("暂住证",), _CARD_ACTIONS),
    ("户口", "公安局", "户籍办理", ("户籍", "落户"), ("迁入", "迁出", "登记", "注销", "变更")),
    ("普通护照", "出入境管理局", "证件办理", ("护照",), _CARD_ACTIONS),
    ("往来港澳通行证", "出入境管理局", "证件办理", ("港澳通行证",), _CARD_ACTIONS),
    ("社会保障卡", "人力资源和社会保障局", "社会保障", ("社保卡",), _CARD_ACTIONS),
    ("城乡居民基本养老保险", "人力资源和社会保障局", "社会保障", ("养老保险", "城乡养老"),
     _BENEFIT_ACTIONS),
    ("企业职工基本养老保险", "人力资源和社会保障局", "社会保障", ("职工养老", "退休金"),
     _BENEFIT_ACTIONS),
    ("失业保险金", "人力资源和社会保障局", "就业创业", ("失业金",), _BENEFIT_ACTIONS),
    ("工伤保险待遇", "人力资源和社会保障局", "社会保障", ("工伤",), _BENEFIT_ACTIONS),
    ("城乡居民基本医疗保险", "医疗保障局", "医疗卫生", ("医保", "居民医保"), _BENEFIT_ACTIONS),
    ("职工基本医疗保险", "医疗保障局", "医疗卫生", ("医保", "职工医保"), _BENEFIT_ACTIONS),
    ("异地就医", "医疗保障局", "医疗卫生", ("异地医保",), _REGISTRATION_ACTIONS),
    ("生育保险待遇", "医疗保障局", "生育收养", ("生育津贴",), _BENEFIT_ACTIONS),
    ("最低生活保障", "民政局", "社会救助", ("低保",), _BENEFIT_ACTIONS),
    ("特困人员救助供养", "民政局", "社会救助", ("五保",), _BENEFIT_ACTIONS),
    ("临时救助", "民政局", "社会救助", ("救济",), _BENEFIT_ACTIONS),
    ("高龄津贴", "民政局", "养老服务", ("老年补贴",), _BENEFIT_ACTIONS),
    ("婚姻", "民政局", "婚姻登记", ("结婚", "离婚"), ("登记", "补领证明", "档案查询")),
    ("机动车驾驶证", "公安局交通警察支队", "交通出行", ("驾照", "驾驶本"), _LICENCE_ACTIONS),
    ("机动车行驶证", "公安局交通警察支队", "交通出行", ("行驶本",), _CARD_ACTIONS),
    ("机动车", "公安局交通警察支队", "交通出行", ("车辆", "汽车"),
     ("注册登记", "转移登记", "抵押登记", "注销登记", "检验合格标志核发")),
    ("道路运输经营许可证", "交通运输局", "交通出行", ("运输证",), _LICENCE_ACTIONS),
    ("住房公积金", "住房公积金管理中心", "住房保障", ("公积金",),
     ("提取", "缴存登记", "贷款申请", "账户转移", "缴存证明开具", "异地转移接续")),
    ("公共租赁住房", "住房和城乡建设局", "住房保障", ("公租房", "廉租房"), _BENEFIT_ACTIONS),
    ("不动产权", "自然资源局", "住房保障", ("房产证", "房本"),
     ("首次登记", "转移登记", "变更登记", "抵押登记", "注销登记", "证书补发")),
    ("营业执照", "市场监督管理局", "企业开办", ("执照",), _LICENCE_ACTIONS),
    ("企业", "市场监督管理局", "企业开办", ("公司", "开公司"),
     ("设立登记", "变更登记", "注销登记", "名称自主申报", "年度报告", "迁移登记")),
    ("个体工商户", "市场监督管理局", "企业开办", ("个体户",),
     ("设立登记", "变更登记", "注销登记", "年度报告")),
    ("食品经营许可", "市场监督管理局", "许可审批", ("食品许可证", "餐饮许可"), _LICENCE_ACTIONS),
    ("食品生产许可", "市场监督管理局", "许可审批", ("食品生产",), _LICENCE_ACTIONS),
    ("药品经营许可证", "药品监督管理局", "许可审批", ("药店许可",), _LICENCE_ACTIONS),
    ("医疗器械经营备案", "药品监督管理局", "许可审批", ("器械备案",), _REGISTRATION_ACTIONS),
    ("建筑工程施工许可证", "住房和城乡建设局", "工程建设", ("施工许可",), _LICENCE_ACTIONS),
    ("建设工程规划许可证", "自然资源局", "工程建设", ("规划许可",), _LICENCE_ACTIONS),
    ("排污许可证", "生态环境局", "许可审批", ("排污证",), _LICENCE_ACTIONS),
    ("取水许可", "水务局", "许可审批", ("取水证",), _LICENCE_ACTIONS),
    ("林木采伐许可证", "林业和草原局", "许可审批", ("砍伐证", "采伐证"), _LICENCE_ACTIONS),
    ("烟草专卖零售许可证", "烟草专卖局", "许可审批", ("烟草证", "烟草许可证"),
     _LICENCE_ACTIONS),
    ("公共场所卫生许可证", "卫生健康委员会", "许可审批", ("卫生许可证",), _LICENCE_ACTIONS),
    ("医师执业证书", "卫生健康委员会", "医疗卫生", ("医师证",), _LICENCE_ACTIONS),
    ("护士执业证书", "卫生健康委员会", "医疗卫生", ("护士证",), _LICENCE_ACTIONS),
    ("教师资格", "教育体育局", "教育科研", ("教师资格证",), ("认定", "证书补发", "信息变更")),
    ("民办学校办学许可证", "教育体育局", "教育科研", ("办学许可",), _LICENCE_ACTIONS),
    ("出生医学证明", "卫生健康委员会", "生育收养", ("出生证",), ("首次签发", "补发", "换发")),
    ("生育", "卫生健康委员会", "生育收养", ("生孩子", "准生证"), ("登记", "服务证明开具")),
    ("残疾人证", "残疾人联合会", "残疾人服务", ("残疾证",), _CARD_ACTIONS),
    ("退役军人优待证", "退役军人事务局", "退役军人", ("优待证",), _CARD_ACTIONS),
    ("人力资源服务许可", "人力资源和社会保障局", "就业创业", ("人力资源许可",), _LICENCE_ACTIONS),
    ("劳务派遣经营许可", "人力资源和社会保障局", "就业创业", ("劳务派遣",), _LICENCE_ACTIONS),
    ("创业担保贷款", "人力资源和社会保障局", "就业创业", ("创业贷款",), _BENEFIT_ACTIONS),
    ("就业困难人员认定", "人力资源和社会保障局", "就业创业", ("就业困难",), ("申请", "退出")),
    ("出版物经营许可证", "新闻出版局", "许可审批", ("出版物许可",), _LICENCE_ACTIONS),
    ("旅行社业务经营许可证", "文化和旅游局", "文化旅游", ("旅行社许可",), _LICENCE_ACTIONS),
    ("娱乐场所经营许可证", "文化和旅游局", "文化旅游", ("娱乐许可",), _LICENCE_ACTIONS),
    ("危险化学品经营许可证", "应急管理局", "安全生产", ("危化品许可",), _LICENCE_ACTIONS),
    ("特种设备使用登记", "市场监督管理局", "安全生产", ("电梯登记",), _REGISTRATION_ACTIONS),
    ("增值税发票", "税务局", "税费办理", ("发票",), ("领用", "代开", "作废", "验旧")),
    ("个人所得税", "税务局", "税费办理", ("个税",), ("综合所得年度汇算", "专项附加扣除填报")),
    ("契税", "税务局", "税费办理", ("买房税",), ("申报", "减免", "退税")),
    ("渔业捕捞许可证", "农业农村局", "农林牧渔", ("捕捞证",), _LICENCE_ACTIONS),
    ("动物防疫条件合格证", "农业农村局", "农林牧渔", ("防疫合格证",), _LICENCE_ACTIONS),
    ("农作物种子生产经营许可证", "农业农村局", "农林牧渔", ("种子许可证",), _LICENCE_ACTIONS),
)

QUALIFIERS = (
    "", "", "", "", "", "个人", "企业", "港澳台居民", "外国人", "老年人", "残疾人", "退役军人",
    "灵活就业人员", "新生儿", "跨省", "省内", "异地", "农村", "城镇", "高校毕业生", "军人",
    "华侨", "未成年人", "失地农民", "外籍人员",
)

# Yunnan: the province, two prefectures and some of their counties.
REGIONS = (
    "530000", "530100", "530102", "530103", "530111", "530112", "530300", "530302", "530381",
    "530400", "530402", "532500", "532501", "532900", "532901",
)

MATERIALS = (
    "居民身份证", "户口簿", "申请表", "近期免冠照片", "营业执照", "授权委托书", "结婚证",
    "出生医学证明", "不动产权证书", "劳动合同", "银行卡", "体检证明", "场所使用证明",
    "法定代表人身份证明", "公司章程", "卫生管理制度", "从业人员健康证明",
)

FAQ_TEMPLATES = (
    ("{name}需要哪些材料？", "一般需要{materials}，具体以{department}窗口要求为准。"),
    ("{name}多久能办好？", "承诺时限为{days}个工作日，材料齐全的可当场办结。"),
    ("{name}可以网上办理吗？", "可以通过掌上办小程序在线申请，{department}审核后邮寄送达。"),
    ("{name}收费吗？", "{name}不收取费用。"),
    ("可以委托他人办理{name}吗？", "可以，受托人需携带{materials}和授权委托书。"),
    ("{subject}丢了怎么办？", "请先挂失，再到{department}办理补领。"),
)


@dataclass
class CatalogItem:
    """One service item as GET /services/{code} describes it (the fields search needs)."""

    code: str
    name: str
    department: str
    theme: str
    keywords: list[str]
    conditions: str
    materials: list[str]
    regions: list[str]
    visits: int
    faqs: list[dict[str, str]] = field(default_factory=list)


@dataclass
class CatalogBundle:
    """One bundle (一件事): several items applied for together, as GET /bundles/{code} has it."""

    code: str
    name: str
    member_codes: list[str]
    keywords: list[str]
    description: str
    visits: int


# Colloquial words → what catalog names say, as the catalog admins would maintain them.
SYNONYMS: dict[str, list[str]] = {
    "社保卡": ["社会保障卡"], "社保": ["社会保障"], "驾照": ["机动车驾驶证"],
    "公积金": ["住房公积金"], "身份证": ["居民身份证"], "医保": ["基本医疗保险"],
    "低保": ["最低生活保障"], "房产证": ["不动产权"], "护照": ["普通护照"],
    "开公司": ["企业设立登记"], "准生证": ["生育登记"], "港澳通行证": ["往来港澳通行证"],
}


def realistic_catalog() -> tuple[list[CatalogItem], list[CatalogBundle]]:
    """A handful of hand-written items, FAQs and one bundle, as a province's catalog has them."""
    def item(code: str, name: str, department: str, theme: str, keywords: list[str],
             regions: list[str], visits: int, faqs: list[tuple[str, str]]) -> CatalogItem:
        return CatalogItem(code=code, name=name, department=department, theme=theme,
                           keywords=keywords, conditions=f"符合条件的申请人可向{department}申请。",
                           materials=["居民身份证", "申请表"], regions=regions, visits=visits,
                           faqs=[{"question": q, "answer": a} for q, a in faqs])

    items = [
        item("R0001", "社会保障卡申领", "人力资源和社会保障局", "社会保障", ["社保卡办理"], [],
             9_000, [("社会保障卡丢了怎么办？", "先拨打热线挂失，再到窗口补领。")]),
        item("R0002", "社会保障卡挂失", "人力资源和社会保障局", "社会保障", [], [], 3_000,
             [("挂失后多久可以补卡？", "挂失后即可申请补领。")]),
        item("R0003", "机动车驾驶证期满换证", "公安局交通警察支队", "交通出行", ["换驾照"],
             ["530000"], 7_000, [("驾驶证到期了怎么换？", "有效期满前九十日内申请换证。")]),
        item("R0004", "机动车驾驶证遗失补证", "公安局交通警察支队", "交通出行", [], [], 2_000, []),
        item("R0005", "住房公积金提取", "住房公积金管理中心", "住房保障", ["公积金取现"],
             ["530100"], 8_000, [("公积金提取多久到账？", "审核通过后三个工作日内到账。")]),
        item("R0006", "生育登记", "卫生健康委员会", "生育收养", ["准生证"], [], 4_000, []),
        item("R0007", "企业设立登记", "市场监督管理局", "企业开办", ["开公司"], ["530102"],
             5_000, []),
        item("R0008", "食品经营许可", "市场监督管理局", "许可审批", ["餐饮许可证"],
             ["530300"], 3_000, []),
    ]
    bundles = [CatalogBundle(code="B0001", name="企业开办一件事",
                             member_codes=["R0007"], keywords=["开办企业"],
                             description="企业设立登记、公章刻制、申领发票、社会保险登记一次办结。",
                             visits=6_000)]
    return items, bundles


def generate_catalog(item_count: int, *, seed: int = 20261122, faqs_per_item: int = 2,
                     ) -> list[CatalogItem]:
    """item_count items with distinct names, FAQs and Zipf-like visit counts, fixed by the seed."""
    rng = random.Random(seed)
    items: list[CatalogItem] = []
    seen_names: set[str] = set()
    attempts = 0
    while len(items) < item_count:
        attempts += 1
        if attempts > item_count * 50:
            raise ValueError(f"cannot make {item_count} distinct names from the vocabulary")
        subject, department, theme, keywords, actions = rng.choice(SUBJECTS)
        action = rng.choice(actions)
        qualifier = rng.choice(QUALIFIERS)
        name = f"{qualifier}{subject}{action}"
        if name in seen_names:
            continue
        seen_names.add(name)
        items.append(_make_item(rng, len(items), name, subject, department, theme,
                                keywords, action, faqs_per_item))
    return items


def _make_item(rng: random.Random, number: int, name: str, subject: str, department: str,
               theme: str, keywords: tuple[str, ...], action: str,
               faqs_per_item: int) -> CatalogItem:
    materials = rng.sample(MATERIALS, k=rng.randint(2, 5))
    level = rng.random()
    regions = ([] if level < 0.4 else [rng.choice(REGIONS[:1])] if level < 0.55
               else rng.sample(REGIONS[1:], k=rng.randint(1, 3)))
    conditions = (f"符合条件的申请人可向{department}申请{name}。"
                  f"办理{subject}{action}需提交{'、'.join(materials)}。")
    faqs = []
    for question, answer in rng.sample(FAQ_TEMPLATES, k=min(faqs_per_item, len(FAQ_TEMPLATES))):
        values = {"name": name, "subject": subject, "department": department,
                  "materials": "、".join(materials[:2]), "days": rng.choice((1, 3, 5, 7, 15, 20))}
        faqs.append({"question": question.format(**values), "answer": answer.format(**values)})
    return CatalogItem(
        code=f"5301{number:08d}",
        name=name,
        department=department,
        theme=theme,
        keywords=[*keywords, action] if rng.random() < 0.7 else list(keywords),
        conditions=conditions,
        materials=materials,
        regions=regions,
        # Zipf-like: a few items take most visits, as on every government portal.
        visits=int(100_000 / (1 + rng.paretovariate(1.2) * rng.randint(1, 400))),
        faqs=faqs,
    )


BUNDLE_NAMES = (
    ("新生儿出生一件事", "生育收养"), ("企业注销一件事", "企业开办"), ("退休一件事", "社会保障"),
    ("身后一件事", "社会保障"), ("开办餐饮店一件事", "许可审批"), ("军人退役一件事", "退役军人"),
    ("残疾人服务一件事", "残疾人服务"), ("义务教育入学一件事", "教育科研"),
    ("员工录用一件事", "就业创业"), ("企业信息变更一件事", "企业开办"),
    ("二手房转移登记一件事", "住房保障"), ("公民婚育一件事", "婚姻登记"),
    ("灵活就业一件事", "就业创业"), ("机动车检验一件事", "交通出行"),
    ("医疗费用报销一件事", "医疗卫生"), ("个人创业一件事", "就业创业"),
)


def generate_bundles(items: list[CatalogItem], *, seed: int = 20261122) -> list[CatalogBundle]:
    """One bundle per name in BUNDLE_NAMES, grouping up to five items of its theme."""
    rng = random.Random(seed)
    bundles = []
    for number, (name, theme) in enumerate(BUNDLE_NAMES, start=1):
        members = [i for i in items if i.theme == theme]
        chosen = rng.sample(members, k=min(5, len(members)))
        bundles.append(CatalogBundle(
            code=f"YJS{number:04d}", name=name, member_codes=[i.code for i in chosen],
            keywords=[name.removesuffix("一件事")],
            description="、".join(i.name for i in chosen) + "一次申请、一次办结。",
            visits=rng.randint(100, 20_000)))
    return bundles
