"""Validation of Chinese identifiers: resident ID, USCC, mobile, region, e-certificate, item codes.

Pure functions over strings; each parser returns the normalized form or raises
InvalidIdentifier with a message that can be shown to the user as it is.
Formats and check algorithms follow shared/reference/ids.md. The check characters come from
python-stdnum; the format rules around them are ours and stricter (ASCII only, a birth date
from 1900 to today, a known province), with messages in Chinese.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from stdnum.cn import ric, uscc
from stdnum.iso7064 import mod_37_36


class InvalidIdentifier(ValueError):
    """An identifier failed validation; ``message`` is Chinese and safe to show to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Province-level divisions (GB/T 2260); 71 Taiwan, 81 Hong Kong, 82 Macao are listed in the
# standard and appear on residence permits, so they are accepted too.
PROVINCES: dict[str, str] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}

_DIGITS = re.compile(r"[0-9]+")  # not \d: that also matches full-width and other Unicode digits


def _is_ascii_digits(value: str) -> bool:
    return _DIGITS.fullmatch(value) is not None


def _upper_ascii(value: str) -> str:
    """Strip and upper-case, keeping non-ASCII input as it is so it fails the format checks."""
    # str.upper() maps some non-ASCII letters to ASCII ones ("ﬀ" -> "FF"); those must not pass.
    text = value.strip()
    return text.upper() if text.isascii() else text


# ---------------------------------------------------------------------------
# Region codes (行政区划代码)


def parse_region_code(value: str) -> str:
    """Return a 6-digit region code with a known province prefix, or raise InvalidIdentifier."""
    code = value.strip()
    if len(code) != 6 or not _is_ascii_digits(code) or code[:2] not in PROVINCES:
        raise InvalidIdentifier("地区代码无效")
    # A county always sits under a prefecture (or a "90" group of directly-run counties),
    # so 53xx with prefecture 00 and a county part has no ancestors that make sense.
    if code[2:4] == "00" and code[4:] != "00":
        raise InvalidIdentifier("地区代码无效")
    return code


def region_prefix(code: str) -> str:
    """The digits every region under `code` starts with: 530000 → 53, 530100 → 5301."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_ancestors(code: str) -> list[str]:
    """Return the code and the codes above it, most specific first: county, prefecture, province."""
    code = parse_region_code(code)
    chain = [code]
    if code[4:] != "00":
        chain.append(code[:4] + "00")
    if code[2:] != "0000":
        chain.append(code[:2] + "0000")
    return chain


# ---------------------------------------------------------------------------
# Resident identity number (GB 11643)

_EARLIEST_BIRTH_DATE = date(1900, 1, 1)


@dataclass(frozen=True)
class IdNumberFacts:
    """What a valid resident ID number says about its holder."""

    number: str
    region_code: str
    province_code: str
    birth_date: date
    gender: Literal["male", "female"]


def id_check_character(first17: str) -> str:
    """Return the GB 11643 check character ('0'-'9' or 'X') for the first 17 digits."""
    # Checked first: stdnum reads the digits with int(), which also takes full-width ones.
    if len(first17) != 17 or not _is_ascii_digits(first17):
        raise InvalidIdentifier("身份证号码格式错误")
    # stdnum's function takes a whole number and ignores its last character.
    return ric.calc_check_digit(first17 + "0")


def parse_id_number(value: str, today: date | None = None) -> IdNumberFacts:
    """Return the facts of a valid 18-character resident ID number, or raise InvalidIdentifier."""
    number = _upper_ascii(value)
    if len(number) != 18:
        raise InvalidIdentifier("身份证号码应为18位")
    if not _is_ascii_digits(number[:17]) or not (_is_ascii_digits(number[17]) or number[17] == "X"):
        raise InvalidIdentifier("身份证号码格式错误")
    if number[:2] not in PROVINCES:
        raise InvalidIdentifier("地区代码无效")
    try:
        birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifier("出生日期无效") from None
    if birth_date < _EARLIEST_BIRTH_DATE:
        raise InvalidIdentifier("出生日期无效")
    if birth_date > (today or date.today()):
        raise InvalidIdentifier("出生日期不能晚于今天")
    if id_check_character(number[:17]) != number[17]:
        raise InvalidIdentifier("身份证号码校验位错误")
    return IdNumberFacts(
        number=number,
        region_code=number[:6],
        province_code=number[:2],
        birth_date=birth_date,
        gender="male" if int(number[16]) % 2 else "female",
    )


# ---------------------------------------------------------------------------
# Unified social credit code (GB 32100-2015)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_check_character(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a USCC."""
    if len(first17) != 17 or any(char not in USCC_ALPHABET for char in first17):
        raise InvalidIdentifier("统一社会信用代码格式错误")
    # Only stdnum's check character: its validate() wants 8 leading digits, but the
    # registration authority and entity type may be letters (Y, N, ...).
    return uscc.calc_check_digit(first17)


def parse_uscc(value: str) -> str:
    """Return the normalized (upper-case) USCC, or raise InvalidIdentifier."""
    code = _upper_ascii(value)
    if len(code) != 18:
        raise InvalidIdentifier("统一社会信用代码应为18位")
    if any(char not in USCC_ALPHABET for char in code):
        raise InvalidIdentifier("统一社会信用代码含有无效字符")
    if uscc_check_character(code[:17]) != code[17]:
        raise InvalidIdentifier("统一社会信用代码校验位错误")
    return code


# ---------------------------------------------------------------------------
# Mobile number

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_SEPARATORS = re.compile(r"[ \-]")


def normalize_phone(value: str) -> str:
    """Return the 11 digits of a mainland mobile number (+86/86, spaces, hyphens allowed)."""
    digits = _PHONE_SEPARATORS.sub("", value.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        # A bare mobile number starts with 1, so a 13-digit "86…" can only be the country code.
        digits = digits[2:]
    if _MOBILE.fullmatch(digits) is None:
        raise InvalidIdentifier("手机号码格式错误")
    return digits


# ---------------------------------------------------------------------------
# E-certificate identifier (电子证照标识, GB/T 36904 shape)

CERT_IDENTIFIER_PREFIX = "1.2.156.3005.2."
_CERT_PART = re.compile(r"[0-9A-Z]+")
_VERSION = re.compile(r"[1-9][0-9]*")


def cert_identifier_check(body: str) -> str:
    """Return the ISO 7064 MOD 37,36 check character for an identifier without its check part."""
    # stdnum's MOD 37,36 alphabet is 0-9A-Z only and has no '.', so the check is computed over
    # the body with its dots removed; the dots are fixed by the format, so nothing is lost.
    compact = _upper_ascii(body).replace(".", "")
    if not compact or _CERT_PART.fullmatch(compact) is None:
        raise InvalidIdentifier("电子证照标识格式错误")
    return mod_37_36.calc_check_digit(compact)


def make_cert_identifier(
    type_code: str, issuer_uscc: str, serial: str | int, version: int = 1
) -> str:
    """Build an e-certificate identifier with its check character."""
    type_code = _upper_ascii(type_code)
    serial_text = _upper_ascii(str(serial))
    if _CERT_PART.fullmatch(type_code) is None:
        raise InvalidIdentifier("证照类型代码格式错误")
    if _CERT_PART.fullmatch(serial_text) is None:
        raise InvalidIdentifier("证照序号格式错误")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidIdentifier("证照版本号无效")
    body = f"{CERT_IDENTIFIER_PREFIX}{type_code}.{parse_uscc(issuer_uscc)}.{serial_text}.{version}"
    return f"{body}.{cert_identifier_check(body)}"


def is_valid_cert_identifier(value: str) -> bool:
    """Tell whether a string is a well-formed e-certificate identifier with a correct check."""
    identifier = _upper_ascii(value)
    if not identifier.startswith(CERT_IDENTIFIER_PREFIX):
        return False
    parts = identifier[len(CERT_IDENTIFIER_PREFIX) :].split(".")
    if len(parts) != 5:
        return False
    type_code, issuer, serial, version, check = parts
    if _CERT_PART.fullmatch(type_code) is None or _CERT_PART.fullmatch(serial) is None:
        return False
    if _VERSION.fullmatch(version) is None or len(check) != 1:
        return False
    try:
        parse_uscc(issuer)
    except InvalidIdentifier:
        return False
    return cert_identifier_check(identifier[: -len(".X")]) == check


# ---------------------------------------------------------------------------
# Service item code (事项编码): type + 5-digit main item + 3-digit sub item

SERVICE_ITEM_TYPES: dict[str, str] = {
    "XK": "行政许可",
    "QR": "行政确认",
    "GF": "公共服务",
    "JF": "行政给付",
    "CF": "行政处罚",
    "QZ": "行政强制",
    "ZS": "行政征收",
    "JC": "行政检查",
    "CJ": "行政裁决",
    "JL": "行政奖励",
    "QT": "其他行政权力",
}
_SERVICE_ITEM_CODE = re.compile(r"[A-Z]{2}[0-9]{8}")


def parse_service_item_code(value: str) -> str:
    """Return the normalized service item code (e.g. XK00101001), or raise InvalidIdentifier."""
    code = _upper_ascii(value)
    if _SERVICE_ITEM_CODE.fullmatch(code) is None:
        raise InvalidIdentifier("事项编码格式错误")
    if code[:2] not in SERVICE_ITEM_TYPES:
        raise InvalidIdentifier("事项类型未知")
    return code
