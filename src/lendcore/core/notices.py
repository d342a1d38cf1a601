"""What a customer is told, in Chinese, and when a reminder is due (pure).

:func:`render` turns a template name and its fields into the text of one SMS or push message. Texts
carry an amount (``¥1,234.56``) and a date (``2026年4月1日``), never a name, an ID number, a phone or a
full card number: a message is stored, logged and shown to staff, and an SMS can be read on a locked
screen. A template nobody wrote yet gets a neutral text that points to the app (never nothing).

Reminders: :class:`ReminderPolicy` holds the offsets in days from a due date (``-3, -1, 0`` before and
on the day, ``+1`` after a miss by default), per product when a product has its own;
:func:`reminder_template` names the text for an offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from lendcore.core.errors import ValidationError
from lendcore.core.money import format_fen

SIGNATURE: Final = "【lendcore】"
GENERIC: Final = "您的账户有新的动态，请登录 App 查看详情。"

TEMPLATES: Final[Mapping[str, str]] = {
    "reminder_before": "您的借款将于{due_date}（{days}天后）到期，应还{amount}，请提前确保银行卡余额充足。",
    "reminder_due": "今天（{due_date}）是您的还款日，应还{amount}，请今天内还款。",
    "reminder_overdue": "您{due_date}到期的借款尚有{amount}未还，请尽快还款，以免产生罚息。",
    "repayment_succeeded": "您的还款{amount}已成功入账，感谢您按时还款。",
    "repayment_failed": "您的还款{amount}未成功，请检查银行卡状态后重试。",
    "autopay_requested": "我们正在从您授权的银行卡自动扣款{amount}，结果将另行通知。",
    "disbursement_succeeded": "您的借款{amount}已放款至您的银行卡，请注意查收。",
    "disbursement_failed": "您的借款{amount}放款未成功，额度已恢复，请稍后重试。",
    "scheduled_booked": "您已预约在{take_on}还款{amount}，用于{due_date}到期的账单。",
    "scheduled_cancelled": "您在{take_on}的预约还款{amount}已取消。",
    "scheduled_missed": "您预约在{take_on}的还款{amount}未能执行，请在{due_date}前自行还款。",
    "scheduled_taken": "您预约的还款{amount}已扣款，将在{due_date}用于偿还当期账单。",
    "scheduled_not_needed": "您预约在{take_on}的还款{amount}无需执行：该笔借款已结清，未扣款。",
    # lender faults: what we failed to do, that it costs the customer nothing, and until when
    "lender_fault_opened": (
        "因我方原因，自{starts_on}起您的借款不会因此产生罚息或逾期记录，详情请登录 App 查看。"
    ),
    "autopay_missed": (
        "您{starts_on}的自动扣款因我方原因未能执行，由此产生的罚息已免除，"
        "请在{ends_on}前通过 App 还款，以免逾期。"
    ),
    "scheduled_missed_ours": (
        "您预约在{take_on}的还款{amount}因我方原因未能执行，由此产生的罚息已免除，"
        "请在{ends_on}前通过 App 还款，以免逾期。"
    ),
}
#: Offsets (days from the due date) reminders go out on, unless a product or the settings say otherwise.
DEFAULT_OFFSETS: Final = (-3, -1, 0, 1)
MAX_OFFSET_DAYS: Final = 30


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _field(value: Any) -> str:
    if isinstance(value, date):
        return chinese_date(value)
    return str(value)


def render(template: str, fields: Mapping[str, Any]) -> str:
    """The text of ``template`` with ``fields`` (``amount`` in fen; dates as dates or ISO text)."""
    pattern = TEMPLATES.get(template)
    if pattern is None:
        return SIGNATURE + GENERIC
    values: dict[str, str] = {}
    for name, value in fields.items():
        if name == "amount" and isinstance(value, int):
            values[name] = format_fen(value)
        elif isinstance(value, str) and len(value) == 10 and value[4] == "-":
            values[name] = _iso_or_text(value)
        else:
            values[name] = _field(value)
    try:
        return SIGNATURE + pattern.format(**values)
    except KeyError:  # a field missing from the job: say something true, not a half-filled text
        return SIGNATURE + GENERIC


def _iso_or_text(value: str) -> str:
    try:
        return chinese_date(date.fromisoformat(value))
    except ValueError:
        return value


def reminder_template(offset: int) -> str:
    if offset < 0:
        return "reminder_before"
    return "reminder_due" if offset == 0 else "reminder_overdue"


def check_offsets(offsets: tuple[int, ...]) -> tuple[int, ...]:
    """Offsets sorted, each within ±30 days, at least one (``INVALID_REMINDER_OFFSETS``)."""
    if not offsets or any(abs(o) > MAX_OFFSET_DAYS for o in offsets) or len(set(offsets)) != len(offsets):
        raise ValidationError(
            f"reminder offsets are distinct whole days within ±{MAX_OFFSET_DAYS} of the due date",
            code="INVALID_REMINDER_OFFSETS",
        )
    return tuple(sorted(offsets))


def parse_offsets(text: str) -> tuple[int, ...]:
    """``"-3,-1,0,1"`` → ``(-3, -1, 0, 1)`` (``INVALID_REMINDER_OFFSETS``)."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValidationError(
            f"reminder offsets are comma-separated whole days, not {text!r}", code="INVALID_REMINDER_OFFSETS"
        ) from None
    return check_offsets(values)


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """When reminders go out (days from the due date: negative before, positive after a miss)."""

    offsets: tuple[int, ...] = DEFAULT_OFFSETS
    by_product: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    channels: tuple[str, ...] = ("sms", "push")

    def __post_init__(self) -> None:
        check_offsets(self.offsets)
        for offsets in self.by_product.values():
            check_offsets(offsets)

    def offsets_for(self, product_code: str) -> tuple[int, ...]:
        return self.by_product.get(product_code, self.offsets)

    @classmethod
    def parse(cls, text: str) -> ReminderPolicy:
        """``"-3,-1,0,1"`` or ``"-3,-1,0,1;quick=-1,0;installment=-5,0,2"`` (settings)."""
        default, *products = [part.strip() for part in text.split(";")]
        by_product: dict[str, tuple[int, ...]] = {}
        for part in products:
            code, sep, offsets = part.partition("=")
            if not sep or not code.strip():
                raise ValidationError(
                    f"a product's reminder offsets are code=days, not {part!r}",
                    code="INVALID_REMINDER_OFFSETS",
                )
            by_product[code.strip()] = parse_offsets(offsets)
        return cls(parse_offsets(default) if default else DEFAULT_OFFSETS, by_product)
