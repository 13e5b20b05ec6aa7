"""The authenticated channel: HELLO, identity, and with a pairing key the signed session (SPEC.md §11, §12)."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

from firmware_protocol import (
    IDENTITY_FIELDS,
    MAX_MODES,
    SESSION_PROTOCOL_VERSION,
    Ack,
    AuthFailure,
    ErrorCode,
    Feature,
    GetInfo,
    Hello,
    HelloResult,
    InfoField,
    InfoResult,
    MessageError,
    MsgType,
    SessionBegin,
    SessionBeginResult,
    mode_name_field,
    parse_heat_targets,
)
from firmware_protocol.messages import NONCE_LEN
from medctl.devices.base import (
    DeviceIdentity,
)
from medctl.devices.medctl_protocol import translate
from medctl.errors import (
    AuthenticationRefused,
    CommandRefused,
    ConnectionLost,
    DeviceTimeout,
    MedctlError,
    ProtocolMismatch,
    WrongDevice,
)
from medctl.text import printable

if TYPE_CHECKING:
    from medctl.keys import Signer

from medctl.devices.medctl_protocol.requests import AUTH_VERSION, LEGACY_WARNING, ClientCore, parse_answer

_LOGGER = logging.getLogger(__name__)


class Handshake(ClientCore):
    """Introduces this controller and checks the device is the one expected."""

    async def _info(self, info: InfoField) -> str:
        """GET_INFO *info*: the answer must name the field asked for, and its text is made printable."""
        answer = parse_answer(InfoResult.from_bytes, (await self._request(GetInfo(info), stoppable=False)).data)
        if answer.info is not info:
            raise ConnectionLost(
                f"{self.description} answered {answer.info.name} when {info.name} was asked: not a massager to trust"
            )
        return printable(answer.text)

    async def _heat_targets(self, heat_levels: int) -> tuple[float, ...] | None:
        """GET_INFO HEAT_TARGETS; None for a device without heat or from before the field (``bad_value``)."""
        if heat_levels == 0:
            return None
        try:
            text = await self._info(InfoField.HEAT_TARGETS)
        except CommandRefused as exc:
            if exc.code is ErrorCode.BAD_VALUE:
                return None
            raise
        try:
            return tuple(float(t) for t in parse_heat_targets(text, heat_levels))
        except MessageError as exc:
            _LOGGER.warning("%s: heat targets not shown: %s", self.description, exc)
            return None

    async def _modes(self, features: Feature) -> tuple[str, ...]:
        """GET_INFO MODE_0.. up to the first empty name, on a device with the MODES feature (SPEC.md §7.4.11)."""
        if not features & Feature.MODES:
            return ()
        names: list[str] = []
        for number in range(MAX_MODES):
            name = await self._info(mode_name_field(number))
            if not name:
                break
            if name in names:  # a mode is chosen by its name: two alike could not be told apart
                _LOGGER.warning("%s: massage modes not offered: %r is named twice", self.description, name)
                return ()
            names.append(name)
        return tuple(names)

    async def _check_same_device(self) -> None:
        """Before HELLO on a reconnect: the serial number must be the one this connection began with."""
        expected, self._expected_serial = self._expected_serial, None
        if expected is None:
            return
        found = await self._info(InfoField.SERIAL)
        if found != expected:
            raise WrongDevice(
                f"{self.description} now answers as another massager (serial {found!r}, expected {expected!r}):"
                " not using it"
            )

    async def _handshake(self) -> DeviceIdentity:
        await self._check_same_device()
        try:
            ack = await self._introduce()
        except DeviceTimeout as exc:
            raise DeviceTimeout(
                f"no answer from {self.description}: is it a medctl-compatible massager, switched on"
                " and, for serial ports, at the right speed (?baud=)?"
            ) from exc
        except MedctlError as exc:
            if getattr(exc, "code", None) is ErrorCode.UNSUPPORTED_VERSION:
                raise ProtocolMismatch(
                    f"{self.description} speaks protocol version {getattr(exc, 'detail', '?')}, this medctl "
                    f"speaks {self._versions.start}..{self._versions.stop - 1}: update medctl or the firmware"
                ) from exc
            raise
        result = parse_answer(HelloResult.from_bytes, ack.data)
        if result.version not in self._offered:
            raise ProtocolMismatch(
                f"{self.description} chose protocol version {result.version}, which was not offered"
                f" ({self._offered.start}..{self._offered.stop - 1}): not a massager to trust"
            )
        self._owner = True
        texts = {info: await self._info(info) for info in IDENTITY_FIELDS}
        targets = await self._heat_targets(result.heat_levels)
        modes = await self._modes(result.features)
        await self.get_status()
        return DeviceIdentity(
            model=texts[InfoField.MODEL],
            firmware=texts[InfoField.FIRMWARE],
            serial_number=texts[InfoField.SERIAL],
            protocol_version=result.version,
            capabilities=translate.capabilities(result, heat_targets_c=targets, modes=modes),
            address=self._address,
            maker="medctl protocol",
            driver="medctl",
        )

    async def _introduce(self) -> Ack:
        """HELLO: signed when the key store holds a key for this device's serial number, plain otherwise.

        With a version-3 key the device must first prove, on this connection, that it holds the
        key (SESSION_BEGIN, SPEC.md §12.2); until it has, nothing signed is sent. A version-2 key
        signs with the pairing key itself (SPEC.md §11), with a warning: its frames can be
        recorded and played again on another connection.
        """
        self._sign = False
        if self._keys is not None and self._signer is None:
            self._signer = self._keys.signer(await self._info(InfoField.SERIAL))
        versions = self._versions
        if self._signer is not None:
            self.controller_id = self._signer.controller_id
            if self._signer.protocol >= SESSION_PROTOCOL_VERSION:
                await self._open_channel(self._signer)
                versions = range(SESSION_PROTOCOL_VERSION, SESSION_PROTOCOL_VERSION + 1)
            else:
                self.warnings.append(LEGACY_WARNING.format(device=self.description))
                _LOGGER.warning(self.warnings[-1])
                versions = range(AUTH_VERSION, AUTH_VERSION + 1)
            self._sign = True
        self._offered = versions
        return await self._request(Hello(versions.start, versions.stop - 1, self.controller_id), stoppable=False)

    async def _open_channel(self, signer: Signer) -> None:
        """SESSION_BEGIN: this connection's keys, and the device's proof that it holds the pairing key."""
        nonce = secrets.token_bytes(NONCE_LEN)
        try:
            ack = await self._request(SessionBegin(signer.controller_id, nonce), stoppable=False)
        except CommandRefused as exc:
            if exc.code is ErrorCode.AUTH_FAILED:
                raise AuthenticationRefused(
                    f"{self.description} does not know this computer's key: it was reset or paired again, or it is"
                    " not the massager you paired with. Nothing was sent signed; pair again (medctl pair).",
                    request=MsgType.SESSION_BEGIN,
                    code=exc.code,
                    detail=exc.detail,
                ) from exc
            raise AuthenticationRefused(
                f"{self.description} does not open a protected connection (protocol 3) although this computer is"
                f" paired with its serial number: it may be another device claiming that number ({exc}). Nothing"
                " was sent signed.",
                request=MsgType.SESSION_BEGIN,
                code=exc.code,
                detail=exc.detail,
            ) from exc
        result = parse_answer(SessionBeginResult.from_bytes, ack.data)
        if not signer.open_channel(nonce, result.nonce, result.proof):
            raise AuthenticationRefused(
                f"{self.description} could not prove it holds the pairing key: it is not the massager you paired"
                " with. Nothing was sent signed.",
                request=MsgType.SESSION_BEGIN,
                code=ErrorCode.AUTH_FAILED,
                detail=AuthFailure.BAD_TAG,
            )
