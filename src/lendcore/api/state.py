"""What one application is composed of (``app.state.lendcore``), as a FastAPI dependency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from lendcore.api.database import Database
from lendcore.api.ratelimit import RateLimiter
from lendcore.api.settings import ApiSettings
from lendcore.auth.otp import OtpPolicy, OtpSender
from lendcore.auth.tokens import AccessTokens
from lendcore.payments.adapter import ChannelAdapter
from lendcore.security.pii import PiiCipher


@dataclass(frozen=True, slots=True)
class AppState:
    settings: ApiSettings
    database: Database
    cipher: PiiCipher
    otp_sender: OtpSender
    rate_limiter: RateLimiter
    #: The shell's clock (aware UTC); tests pass their own.
    clock: Callable[[], datetime]
    #: Where customers' repayments are submitted inline after they are recorded (the in-process
    #: channel confirms at once); None: recorded only, the worker's payment.submit job submits them.
    payment_channel: ChannelAdapter | None = None

    @property
    def access_tokens(self) -> AccessTokens:
        return AccessTokens(self.settings.jwt_secret, self.settings.access_token_ttl)

    @property
    def otp_policy(self) -> OtpPolicy:
        s = self.settings
        return OtpPolicy(s.otp_key, s.otp_ttl, s.otp_max_attempts, s.otp_resend_interval)


async def app_state(request: Request) -> AppState:
    state = getattr(request.app.state, "lendcore", None)
    if not isinstance(state, AppState):  # pragma: no cover - create_app always sets it
        raise RuntimeError("the application was not made by lendcore.api.app.create_app")
    return state


StateDep = Annotated[AppState, Depends(app_state)]
