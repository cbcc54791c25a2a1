"""Chinese wording for marshmallow's built-in validation messages.

Field errors reach people through the mini program's forms, so they speak Chinese like the
rest of the API. Validators copy these texts when they are created, so this module must be
imported before any schema is defined; the `app.api` package, where every schema lives,
does so.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate


def use_chinese_messages() -> None:
    """Replace the default English texts (their `{placeholders}` are kept)."""
    ma.fields.Field.default_error_messages.update({
        "required": "此项必填", "null": "不能为空", "validator_failed": "取值无效"})
    kinds = {
        ma.fields.String: {"invalid": "应为文本", "invalid_utf8": "不是有效的 UTF-8 文本"},
        ma.fields.Integer: {"invalid": "应为整数"},
        ma.fields.Number: {"invalid": "应为数字", "too_large": "数值过大"},
        ma.fields.Boolean: {"invalid": "应为 true 或 false"},
        ma.fields.List: {"invalid": "应为列表"},
        ma.fields.Dict: {"invalid": "应为对象"},
        ma.fields.Nested: {"type": "类型不正确"},
        ma.fields.DateTime: {"invalid": "日期时间格式不正确（应为 ISO 8601）",
                             "invalid_awareness": "日期时间须带时区（如 +08:00）",
                             "format": "无法格式化为日期时间"},
    }
    for field, messages in kinds.items():
        field.default_error_messages = {**field.default_error_messages, **messages}
    ma.Schema._default_error_messages = {  # type: ignore[attr-defined]
        **ma.Schema._default_error_messages,  # type: ignore[attr-defined]
        "type": "请求内容类型不正确", "unknown": "未知字段"}
    validate.OneOf.default_message = "应为以下之一：{choices}"
    validate.Length.message_min = "长度不能少于 {min}"
    validate.Length.message_max = "长度不能超过 {max}"
    validate.Length.message_all = "长度应在 {min} 到 {max} 之间"
    validate.Length.message_equal = "长度应为 {equal}"
    validate.Range.message_min = "应{min_op} {{min}}"
    validate.Range.message_max = "应{max_op} {{max}}"
    validate.Range.message_all = "应{min_op} {{min}}且{max_op} {{max}}"
    validate.Range.message_gte, validate.Range.message_gt = "不小于", "大于"
    validate.Range.message_lte, validate.Range.message_lt = "不大于", "小于"
    validate.Regexp.default_message = "格式不正确"


use_chinese_messages()
