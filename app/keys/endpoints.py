"""The service key and current period key for tools, and counsellor device registration."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.crypto.certs import DeviceCert
from app.db import transaction
from app.events import messages
from app.events.channels import staff_channel
from app.events.messages import encode
from app.keys import devices, enrolment
from app.keys import repository as keys_repo
from app.keys.schemas import DeviceRequest, KeysInfo, PeriodInfo, RenewRequest
from app.keys.service import Period, current_period, describe_service_key
from app.security import freshlogin
from app.security.dependencies import CurrentStaff, current_staff, staff_for_change
from app.security.guard import get_guard
from app.state import get_state

router = APIRouter(tags=["keys"])


def period_info(period: Period | None) -> PeriodInfo | None:
    return None if period is None else PeriodInfo.model_validate(period.as_dict())


@router.get("/api/keys", response_model=KeysInfo)
async def keys(request: Request) -> KeysInfo:
    """For tools: compare ``fingerprint`` with the published one before trusting it."""
    state = get_state(request)
    service = describe_service_key(state.service_key)
    async with state.sessionmaker() as session:
        period = await current_period(session, state.clock())
    return KeysInfo(
        service_key=service.public_key, fingerprint=service.fingerprint, period=period_info(period)
    )


@router.post("/staff/api/devices", response_model=DeviceCert, status_code=201, responses={403: {}})
async def register_device(
    body: DeviceRequest,
    request: Request,
    current: CurrentStaff = Depends(staff_for_change),  # noqa: B008
) -> DeviceCert:
    """Certify a new device of the caller. 403 ``login_not_fresh`` unless ``fresh_login`` is
    this server's proof of a password+TOTP login in this session within
    ``VH_DEVICE_FRESH_LOGIN_SECONDS`` (never a time read from the database); then 403
    ``enrol_code_required`` or ``enrol_code_wrong`` unless ``enrol_code`` is the account's
    pending enrolment code (``vhouse staff enrol``), which this uses up."""
    state = get_state(request)
    settings = state.settings
    now = state.clock()
    _check_fresh(request, current, body.fresh_login, now)
    async with transaction(state.sessionmaker) as session:
        await enrolment.redeem(
            session,
            server_secret=get_guard(request).secret,
            staff_id=current.staff.id,
            code=body.enrol_code,
            now=now,
        )
        cert = await devices.register(
            session,
            service_key=state.service_key,
            staff_id=current.staff.id,
            hpke_public_key=body.hpke_public_key,
            sig_public_key=body.sig_public_key,
            lifetime_seconds=settings.device_days * 86400,
            now=now,
        )
    # Every open console of the account hears of it at once, in every process (issue 13 (1)).
    state.broker.publish(
        staff_channel(current.staff.id), encode(messages.DeviceAdded(device_id=cert.device_id))
    )
    return cert


@router.post(
    "/staff/api/devices/{device_id}/renew",
    response_model=DeviceCert,
    responses={403: {}, 404: {}},
)
async def renew_device(
    device_id: str,
    body: RenewRequest,
    request: Request,
    current: CurrentStaff = Depends(staff_for_change),  # noqa: B008
) -> DeviceCert:
    """A new certificate for one of the caller's usable devices, valid ``VH_DEVICE_DAYS`` from
    now: certificates are short-lived, and renewed after a fresh login (403
    ``login_not_fresh`` as for a registration). 404 for a device that is not the caller's,
    revoked or expired (register it again)."""
    state = get_state(request)
    now = state.clock()
    _check_fresh(request, current, body.fresh_login, now)
    async with transaction(state.sessionmaker) as session:
        return await devices.renew(
            session,
            service_key=state.service_key,
            staff_id=current.staff.id,
            device_id=device_id,
            lifetime_seconds=state.settings.device_days * 86400,
            now=now,
        )


def _check_fresh(request: Request, current: CurrentStaff, proof: str | None, now: float) -> None:
    """``LoginNotFresh`` unless ``proof`` is this session's signed proof of a fresh login."""
    if not freshlogin.valid(
        get_guard(request).secret,
        proof,
        staff_id=current.staff.id,
        session_digest=current.record.token_digest,
        now=now,
        lifetime=get_state(request).settings.device_fresh_login_seconds,
    ):
        raise devices.LoginNotFresh("log in again (password and code) to register this device")


@router.get("/staff/api/devices")
async def my_devices(
    request: Request,
    current: CurrentStaff = Depends(current_staff),  # noqa: B008
) -> dict[str, list[dict[str, object]]]:
    """The caller's own certified devices, newest first (issue 13 (1)): the console shows them,
    and tells its counsellor of one registered lately that is not this one."""
    state = get_state(request)
    async with state.sessionmaker() as session:
        rows = await keys_repo.devices_of(session, current.staff.id)
    rows.sort(key=lambda r: r.created_at, reverse=True)
    listed: list[dict[str, object]] = [
        {
            "device_id": r.id,
            "created_at": round(r.created_at),
            "not_after": r.not_after,
            "revoked_at": None if r.revoked_at is None else round(r.revoked_at),
        }
        for r in rows
    ]
    return {"devices": listed}


@router.get("/staff/api/devices/{device_id}", response_model=DeviceCert)
async def device(
    device_id: str,
    request: Request,
    current: CurrentStaff = Depends(current_staff),  # noqa: B008
) -> DeviceCert:
    state = get_state(request)
    async with state.sessionmaker() as session:
        cert = await devices.usable(
            session, current.staff.id, device_id, state.clock(), service_key=state.service_key
        )
    return cert
