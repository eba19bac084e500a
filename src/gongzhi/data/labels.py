"""Names of the catalogue's codes as readers see them (marked for translation), shared by the
data hub's pages, the sharing pages and the open-data portal."""

from __future__ import annotations

from gongzhi.data.models import (
    Classification,
    ImportStatus,
    OpenType,
    ResourceClass,
    SharingType,
    UpdateCycle,
)
from gongzhi.web.i18n import N_

DIMENSION_NAMES = {
    "conformity": N_("规范性"),
    "completeness": N_("完整性"),
    "accuracy": N_("准确性"),
    "consistency": N_("一致性"),
    "timeliness": N_("时效性"),
    "accessibility": N_("可访问性"),
    "overall": N_("综合"),
}
SHARING_NAMES = {
    SharingType.UNCONDITIONAL.value: N_("无条件共享"),
    SharingType.CONDITIONAL.value: N_("有条件共享"),
    SharingType.NONE.value: N_("不予共享"),
}
OPEN_NAMES = {
    OpenType.OPEN.value: N_("无条件开放"),
    OpenType.CONDITIONAL.value: N_("有条件开放"),
    OpenType.CLOSED.value: N_("不予开放"),
}
CYCLE_NAMES = {
    UpdateCycle.REALTIME.value: N_("实时"),
    UpdateCycle.DAILY.value: N_("每日"),
    UpdateCycle.WEEKLY.value: N_("每周"),
    UpdateCycle.MONTHLY.value: N_("每月"),
    UpdateCycle.QUARTERLY.value: N_("每季度"),
    UpdateCycle.HALF_YEARLY.value: N_("每半年"),
    UpdateCycle.YEARLY.value: N_("每年"),
    UpdateCycle.IRREGULAR.value: N_("不定期"),
}
CLASS_NAMES = {
    ResourceClass.BASE.value: N_("基础信息资源"),
    ResourceClass.THEME.value: N_("主题信息资源"),
    ResourceClass.DEPARTMENT.value: N_("部门信息资源"),
}
LEVEL_NAMES = {
    Classification.PUBLIC.value: N_("公开"),
    Classification.INTERNAL.value: N_("内部"),
    Classification.SENSITIVE.value: N_("敏感"),
    Classification.IMPORTANT.value: N_("重要"),
    Classification.CORE.value: N_("核心"),
}
STATUS_NAMES = {
    ImportStatus.QUEUED.value: N_("排队中"),
    ImportStatus.RUNNING.value: N_("导入中"),
    ImportStatus.SUCCEEDED.value: N_("已生成新版本"),
    ImportStatus.FAILED.value: N_("未导入"),
}
TYPE_NAMES = {
    "string": N_("文本"),
    "integer": N_("整数"),
    "number": N_("数字"),
    "boolean": N_("是/否"),
    "date": N_("日期"),
    "datetime": N_("日期时间"),
    "year": N_("年份"),
}
