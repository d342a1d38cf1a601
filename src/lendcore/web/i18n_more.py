"""More of the pages' catalogue (merged into :data:`lendcore.web.i18n.MESSAGES`): the customer's cards
page, the back office's customer pages and the approval forms of every kind. Kept apart so the
main catalogue stays small; the same test checks both languages have the same keys."""

from __future__ import annotations

from typing import Final

MORE: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "cards_title": "我的银行卡",
        "cards_link": "银行卡",
        "bind_card": "绑定新卡",
        "make_default": "设为默认卡（借款放款到此卡）",
        "default_card": "默认卡",
        "unbind": "解绑",
        "card_bound": "已绑定",
        "card_unbound": "已解绑",
        "card_rules": "仅支持本人借记卡；最多 5 张；自动扣款使用中的卡和最后一张卡不能解绑。",
    },
    "en": {
        "cards_title": "My bank cards",
        "cards_link": "Bank cards",
        "bind_card": "Bind a new card",
        "make_default": "Make it the default card (drawdowns are paid out to it)",
        "default_card": "Default",
        "unbind": "Unbind",
        "card_bound": "Bound",
        "card_unbound": "Unbound",
        "card_rules": (
            "Debit cards in your own name only; at most 5; a card autopay debits and your last card "
            "cannot be unbound."
        ),
    },
}
