"""The 预约还款 (scheduled repayment) page's texts (merged into :data:`lendcore.web.i18n.MESSAGES`;
the same test checks both languages have the same keys). The status keys follow the booking's
states (``scheduled_status_`` + ``booked``/``taken``/``cancelled``/``failed``)."""

from __future__ import annotations

from typing import Final

SCHEDULED: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "scheduled_title": "预约还款",
        "scheduled_link": "预约还款",
        "scheduled_offers": "可预约的账单",
        "scheduled_take_on": "扣款日期",
        "scheduled_window": "可选日期",
        "scheduled_book": "预约还款",
        "scheduled_booked": "已预约",
        "scheduled_cancelled": "已取消预约",
        "scheduled_cancel": "取消预约",
        "scheduled_already": "本期已预约或已扣款。",
        "scheduled_opens_on": "此日期起可预约",
        "scheduled_none_due": "近期没有可预约的账单。",
        "scheduled_mine": "我的预约",
        "scheduled_rules": (
            "还款日前 10 天内可预约：选择明天至还款日之间的一天扣款，金额为还款日应还金额；"
            "扣款后在还款日入账。扣款日之前可随时取消。"
        ),
        "scheduled_status_booked": "已预约",
        "scheduled_status_taken": "已扣款，待还款日入账",
        "scheduled_status_cancelled": "已取消",
        "scheduled_status_failed": "未成功",
    },
    "en": {
        "scheduled_title": "Scheduled repayment",
        "scheduled_link": "Schedule a repayment",
        "scheduled_offers": "Bills you can schedule",
        "scheduled_take_on": "Take date",
        "scheduled_window": "Dates you can choose",
        "scheduled_book": "Schedule",
        "scheduled_booked": "Scheduled",
        "scheduled_cancelled": "Cancelled",
        "scheduled_cancel": "Cancel",
        "scheduled_already": "This installment is already scheduled or taken.",
        "scheduled_opens_on": "Can be scheduled from",
        "scheduled_none_due": "No bill falls due soon enough to schedule.",
        "scheduled_mine": "My scheduled repayments",
        "scheduled_rules": (
            "From 10 days before a due date: choose a day from tomorrow up to the due date; the amount "
            "is what will be due then, taken that day and applied on the due date. Cancel any time "
            "before the take date."
        ),
        "scheduled_status_booked": "Scheduled",
        "scheduled_status_taken": "Taken, applied on the due date",
        "scheduled_status_cancelled": "Cancelled",
        "scheduled_status_failed": "Did not go through",
    },
}
