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
        "customers_title": "客户",
        "customer_title": "客户详情",
        "find_by_phone": "按手机号查找",
        "find": "查找",
        "always_masked": "客户个人信息一律脱敏显示。",
        "unmask": "查看明文",
        "unmask_field": "要查看的信息",
        "unmask_audited": "每次查看明文都会记入审计日志：谁、哪一项、何时、理由、来源地址。",
        "unmask_not_allowed": "您的角色只能查看脱敏信息（查看明文需风控或管理员角色）。",
        "unmasked_name": "姓名",
        "unmasked_id_number": "身份证号",
        "unmasked_phone": "手机号",
        "unmasked_card": "银行卡号",
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
        "customers_title": "Customers",
        "customer_title": "Customer",
        "find_by_phone": "Find by mobile number",
        "find": "Find",
        "always_masked": "Customers' personal data is always shown masked.",
        "unmask": "Unmask",
        "unmask_field": "What to see in clear",
        "unmask_audited": "Every unmasking is in the audit log: who, which field, when, why and from where.",
        "unmask_not_allowed": "Your role sees masked data only (unmasking needs the risk or admin role).",
        "unmasked_name": "Name",
        "unmasked_id_number": "Resident ID number",
        "unmasked_phone": "Mobile number",
        "unmasked_card": "Card number",
        "card_rules": (
            "Debit cards in your own name only; at most 5; a card autopay debits and your last card "
            "cannot be unbound."
        ),
    },
}
