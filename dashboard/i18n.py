"""Every string the console shows, in Simplified Chinese (the default) and English.

One table, ``TEXTS``, keyed by a stable name; each entry holds both languages so a
missing translation is a test failure, not a blank on screen. Values may contain
``str.format`` fields (``{name}``) filled in by :func:`text`.
"""

from __future__ import annotations

from typing import Final, Literal

from anxin.analytics.alerts import VOCABULARY

Language = Literal["zh", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("zh", "en")
DEFAULT_LANGUAGE: Final[Language] = "zh"

TEXTS: Final[dict[str, dict[Language, str]]] = {
    # header and pages
    "title.worker": {"zh": "安心 · 社区照护台", "en": "Anxin · Community Care Console"},
    "title.family": {"zh": "安心 · 家人关怀", "en": "Anxin · Family View"},
    "header.signed_in_as": {"zh": "当前用户:{name}", "en": "Signed in: {name}"},
    "header.logout": {"zh": "退出登录", "en": "Log out"},
    "header.language": {"zh": "语言", "en": "Language"},
    # login
    "login.heading": {"zh": "请登录", "en": "Please log in"},
    "login.username": {"zh": "用户名", "en": "Username"},
    "login.password": {"zh": "密码", "en": "Password"},
    "login.code": {"zh": "验证码(已启用两步验证时填写)", "en": "Code (if two-step login is on)"},
    "login.submit": {"zh": "登录", "en": "Log in"},
    "login.code_required": {
        "zh": "请输入身份验证器上的6位验证码。",
        "en": "Please enter the 6-digit code from your authenticator app.",
    },
    "login.bad_code": {
        "zh": "验证码错误或已使用过,请输入新的验证码。",
        "en": "The code is wrong or was already used. Please enter a new one.",
    },
    "login.locked": {
        "zh": "登录失败次数过多,账户已暂时锁定,请在 {minutes} 分钟后再试。",
        "en": "Too many failed logins: the account is locked. Try again in {minutes} min.",
    },
    "login.enrol_second_factor": {
        "zh": "您的账户需要两步验证,请先通过 API(POST /me/totp)设置身份验证器。",
        "en": "Your account needs two-step login: set up an authenticator first (POST /me/totp).",
    },
    "login.bad_credentials": {
        "zh": "用户名或密码错误,请重试。",
        "en": "Wrong username or password. Please try again.",
    },
    "login.missing_fields": {
        "zh": "请输入用户名和密码。",
        "en": "Please enter your username and password.",
    },
    "login.session_expired": {
        "zh": "登录已过期,请重新登录。",
        "en": "Your session has expired. Please log in again.",
    },
    "login.failed": {"zh": "登录失败:{reason}", "en": "Login failed: {reason}"},
    # errors
    "error.api_unavailable": {
        "zh": "无法连接服务器,数据可能不是最新的。正在自动重试……",
        "en": "Cannot reach the server; the data shown may be out of date. Retrying automatically…",
    },
    "error.api_failed": {"zh": "服务器出错:{reason}", "en": "Server error: {reason}"},
    # alerts
    "alerts.heading": {"zh": "待处理警报", "en": "Open alerts"},
    "alerts.none": {"zh": "目前没有待处理的警报。", "en": "No open alerts right now."},
    "alerts.count": {"zh": "共 {count} 条", "en": "{count} open"},
    "alerts.severity": {"zh": "严重程度:{severity}", "en": "Severity: {severity}"},
    "alerts.value": {
        "zh": "测量值 {value}(阈值 {threshold})",
        "en": "Reading {value} (threshold {threshold})",
    },
    "alerts.raised_at": {"zh": "发生时间:{time}", "en": "Raised: {time}"},
    "alerts.evidence_window": {"zh": "依据时段 {start}–{end}", "en": "Evidence {start}–{end}"},
    "alerts.occurrences": {"zh": "出现 {count} 次", "en": "{count} occurrence(s)"},
    "alerts.status": {"zh": "状态:{status}", "en": "Status: {status}"},
    "alerts.unknown_person": {"zh": "未关联的设备 {device}", "en": "Unassigned device {device}"},
    # recipients
    "recipients.heading": {"zh": "照护对象", "en": "Care recipients"},
    "recipients.none": {"zh": "没有可查看的照护对象。", "en": "No care recipients to show."},
    "recipients.age": {"zh": "{age} 岁", "en": "{age} years"},
    "recipients.heart_rate": {"zh": "心率", "en": "Heart rate"},
    "recipients.spo2": {"zh": "血氧", "en": "SpO₂"},
    "recipients.no_reading": {"zh": "暂无数据", "en": "No reading"},
    "recipients.open_alerts": {"zh": "待处理警报:{count}", "en": "Open alerts: {count}"},
    "recipients.devices": {"zh": "设备", "en": "Devices"},
    "recipients.device": {"zh": "{kind}:{state}", "en": "{kind}: {state}"},
    "recipients.selected": {"zh": "正在查看", "en": "Viewing"},
    "recipients.view": {"zh": "查看图表", "en": "Show charts"},
    # charts
    "charts.heading": {"zh": "{name} · 最近 10 分钟", "en": "{name} · last 10 minutes"},
    "charts.heading_empty": {
        "zh": "生命体征 · 最近 10 分钟",
        "en": "Vital signs · last 10 minutes",
    },
    "charts.heart_rate": {"zh": "心率(次/分)", "en": "Heart rate (bpm)"},
    "charts.spo2": {"zh": "血氧饱和度(%)", "en": "Blood oxygen SpO₂ (%)"},
    "charts.time": {"zh": "时间(北京时间)", "en": "Time (China Standard Time)"},
    "charts.threshold": {"zh": "警戒线 {value}", "en": "Alert line {value}"},
    "charts.no_data": {"zh": "最近 10 分钟没有数据", "en": "No data in the last 10 minutes"},
    # severities
    "severity.low": {"zh": "低", "en": "Low"},
    "severity.medium": {"zh": "中", "en": "Medium"},
    "severity.high": {"zh": "高", "en": "High"},
    "severity.critical": {"zh": "危急", "en": "Critical"},
    # alert statuses
    "status.open": {"zh": "待处理", "en": "Open"},
    "status.acknowledged": {"zh": "已确认", "en": "Acknowledged"},
    "status.in_progress": {"zh": "处理中", "en": "In progress"},
    "status.resolved": {"zh": "已解决", "en": "Resolved"},
    "status.dismissed": {"zh": "已忽略", "en": "Dismissed"},
    # sexes
    "sex.F": {"zh": "女", "en": "Female"},
    "sex.M": {"zh": "男", "en": "Male"},
    # the gateway's local status page (anxin.edge.status_server)
    "gateway_page.title": {"zh": "安心 · 家庭网关", "en": "Anxin · home gateway"},
    "gateway_page.switch": {"zh": "English", "en": "中文"},
    "gateway_page.cloud": {"zh": "云端连接", "en": "Cloud"},
    "gateway_page.cloud_up": {"zh": "已连接", "en": "Connected"},
    "gateway_page.cloud_down": {
        "zh": "未连接，数据保存在本机，恢复后自动上传",
        "en": "Not connected: data is kept here and sent when the link is back",
    },
    "gateway_page.waiting": {"zh": "待上传：", "en": "Waiting to send: "},
    "gateway_page.waiting_count": {"zh": "{count} 条", "en": "{count} messages"},
    "gateway_page.oldest": {"zh": "最早的在 {minutes} 分钟前", "en": "oldest {minutes} min ago"},
    "gateway_page.devices": {"zh": "设备", "en": "Devices"},
    "gateway_page.scan_passive": {"zh": "蓝牙：被动扫描", "en": "Bluetooth: passive scanning"},
    "gateway_page.scan_active": {"zh": "蓝牙：主动扫描", "en": "Bluetooth: active scanning"},
    "gateway_page.alerts": {"zh": "本机告警", "en": "Alerts raised here"},
    "gateway_page.no_alerts": {"zh": "暂无告警", "en": "No alerts"},
    # device kinds and states
    "device.heart_rate_strap": {"zh": "心率带", "en": "Heart-rate strap"},
    "device.pulse_oximeter": {"zh": "血氧仪", "en": "Pulse oximeter"},
    "device.bthome_motion": {"zh": "人体感应器", "en": "Motion sensor"},
    "device.bthome_button": {"zh": "紧急呼叫按钮", "en": "SOS button"},
    "device.bthome_door": {"zh": "门磁", "en": "Door sensor"},
    "device.bthome_bed": {"zh": "床垫感应器", "en": "Bed sensor"},
    "device.bthome_presence": {"zh": "存在感应器", "en": "Presence sensor"},
    "device.bthome_room": {"zh": "温湿度计", "en": "Room sensor"},
    "device.blood_pressure_cuff": {"zh": "血压计", "en": "Blood pressure cuff"},
    "device.thermometer": {"zh": "体温计", "en": "Thermometer"},
    "device.weight_scale": {"zh": "体重秤", "en": "Weight scale"},
    "device.glucose_meter": {"zh": "血糖仪", "en": "Glucose meter"},
    "device.spot_check_oximeter": {"zh": "指夹血氧仪", "en": "Spot-check oximeter"},
    "device.accelerometer_wearable": {"zh": "跌倒监测腰带", "en": "Fall-detection belt"},
    "device_state.connected": {"zh": "已连接", "en": "Connected"},
    "device_state.disconnected": {"zh": "已断开", "en": "Disconnected"},
    "device_state.connecting": {"zh": "连接中", "en": "Connecting"},
    "device_state.online": {"zh": "在线", "en": "Online"},
    "device_state.offline": {"zh": "离线", "en": "Offline"},
    "device_state.advertising": {"zh": "广播中", "en": "Advertising"},
    "device_state.out_of_range": {"zh": "未收到信号", "en": "Not heard"},
    "device_state.standing_by": {"zh": "待机", "en": "Standing by"},
    "device_state.reconnecting": {"zh": "重新连接中", "en": "Reconnecting"},
    "device_state.not_worn": {"zh": "未佩戴", "en": "Not worn"},
    "device_state.battery_low": {"zh": "电量低", "en": "Battery low"},
    "device_state.unknown": {"zh": "状态未知", "en": "State unknown"},
    # units (UCUM code -> what a reader expects)
    "unit./min": {"zh": "次/分", "en": "bpm"},
    "unit.%": {"zh": "%", "en": "%"},
}


def language_or_default(language: str | None) -> Language:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE  # type: ignore[return-value]


def text(key: str, language: str | None, **fields: object) -> str:
    """The string for ``key`` in ``language``; raises KeyError for an unknown key."""
    template = TEXTS[key][language_or_default(language)]
    return template.format(**fields) if fields else template


def _lookup(prefix: str, code: str, language: str | None) -> str:
    """Translate a code from the API; an unknown code is shown as it came rather than hidden."""
    key = f"{prefix}.{code}"
    return text(key, language) if key in TEXTS else code


def alert_kind(kind: str, language: str | None) -> str:
    """Titles come from the one alert vocabulary; an unknown kind is shown as it came."""
    known = VOCABULARY.get(kind)
    if known is None:
        return kind
    return known.title_zh if language_or_default(language) == "zh" else known.title_en


def severity(level: str, language: str | None) -> str:
    return _lookup("severity", level, language)


def alert_status(status: str, language: str | None) -> str:
    return _lookup("status", status, language)


def sex(code: str, language: str | None) -> str:
    return _lookup("sex", code, language)


def device_kind(kind: str, language: str | None) -> str:
    return _lookup("device", kind, language)


def device_state(state: str, language: str | None) -> str:
    return _lookup("device_state", state, language)


def unit(ucum: str, language: str | None) -> str:
    return _lookup("unit", ucum, language)
