"""bumble's virtual BLE controller, corrected where it does not behave like a real one.

:class:`VirtualController` joins a :class:`bumble.link.LocalLink` like bumble's own
controller and adds two things a real controller does:

- **LE Create Connection Cancel** ends the pending connection with an *LE Connection
  Complete* event carrying ``UNKNOWN_CONNECTION_IDENTIFIER`` (Core Vol 4 Part E §7.8.13).
  bumble's controller acknowledges the cancel and sends nothing, so a host connecting to a
  device that is not advertising waits for ever past its own timeout.
- **Leaving the link** (its host went away, the radio was switched off): every peer sees
  its connections end with a supervision timeout, as over the air.
"""

from __future__ import annotations

import asyncio

from bumble import hci, ll
from bumble.controller import Controller


class VirtualController(Controller):
    """A controller on a virtual link that cancels connections and leaves the link like real hardware."""

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        # after the Command Complete this handler's return value becomes, as the spec orders
        asyncio.get_running_loop().call_soon(self._report_cancelled, pending.peer_address)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def _report_cancelled(self, peer_address: hci.Address) -> None:
        self.send_hci_packet(
            hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=peer_address.address_type,
                peer_address=peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
        )

    def leave_link(self) -> None:
        """Vanish from the link: stop advertising, and every peer's connection to us times out."""
        self.le_legacy_advertiser.stop()
        for advertising_set in self.advertising_sets.values():
            advertising_set.stop()
        for connection in list(self.le_connections.values()):
            connection.send_ll_control_pdu(ll.TerminateInd(hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR))
        self.le_connections.clear()
        self.pending_le_connection = None
        if self in self.link.controllers:
            self.link.remove_controller(self)
        self.host = None
