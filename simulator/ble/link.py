"""A virtual Bluetooth LE radio medium, joined in this process or from others over HCI-over-TCP.

:class:`VirtualLink` wraps bumble's :class:`~bumble.link.LocalLink`: every
:class:`~simulator.ble.controller.VirtualController` on it hears the others' advertising
and can connect to them, with real link-layer behaviour (advertising intervals, connection
events, ATT over L2CAP over ACL) and no radio.

:meth:`VirtualLink.serve_hci` lets other processes join: each TCP connection to the returned
:class:`HciServer` gets a fresh controller on the link, spoken to in H4 HCI packets — what
bumble's ``tcp-client:HOST:PORT`` transport speaks. So ``medctl simulate --ble`` in one
terminal and ``medctl ... --device "ble://...?hci=tcp-client:127.0.0.1:PORT"`` in another
are two hosts on one virtual radio. A process that goes away takes its controller off the
link, and its peers see their connections time out.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Final

from bumble.link import LocalLink
from bumble.transport.common import StreamPacketSink, StreamPacketSource

from simulator.ble.controller import VirtualController

#: What an H4 packet stream over TCP is called in bumble's transport names.
TCP_CLIENT_SCHEME: Final = "tcp-client"


class VirtualLink:
    """The medium. Controllers join with :meth:`add_controller` or through :meth:`serve_hci`."""

    def __init__(self) -> None:
        self.local_link = LocalLink()  # type: ignore[no-untyped-call]  # bumble leaves it unannotated
        self._names = itertools.count(1)
        self._servers: list[HciServer] = []

    @property
    def controllers(self) -> int:
        return len(self.local_link.controllers)

    def add_controller(self, name: str | None = None) -> VirtualController:
        """A new controller on the link, with no host yet (give it one, e.g. a bumble Host)."""
        return VirtualController(name or f"controller-{next(self._names)}", link=self.local_link)

    async def serve_hci(self, host: str = "127.0.0.1", port: int = 0) -> HciServer:
        """Accept hosts from other processes on *host*:*port* (0 picks a free port), one controller each."""
        loop = asyncio.get_running_loop()
        server = HciServer(self)
        server.server = await loop.create_server(lambda: _HciConnection(server), host, port)
        server.host, server.port = server.server.sockets[0].getsockname()[:2]
        self._servers.append(server)
        return server

    async def close(self) -> None:
        """Stop every HCI server and take every controller off the link."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
            await server.wait_closed()
        for controller in list(self.local_link.controllers):
            if isinstance(controller, VirtualController):
                controller.leave_link()


class HciServer:
    """Hosts in other processes reach the link here: ``tcp-client:{host}:{port}`` in bumble's terms."""

    def __init__(self, link: VirtualLink) -> None:
        self.link = link
        self.server: asyncio.Server | None = None
        self.host = ""
        self.port = 0
        self._connections: set[_HciConnection] = set()

    @property
    def transport_name(self) -> str:
        """The bumble transport name a host uses to join: ``tcp-client:127.0.0.1:PORT``."""
        return f"{TCP_CLIENT_SCHEME}:{self.host}:{self.port}"

    @property
    def hosts(self) -> int:
        """How many hosts are connected right now."""
        return len(self._connections)

    def close(self) -> None:
        """Stop accepting and disconnect every host (their controllers leave the link)."""
        if self.server is not None:
            self.server.close()
        for connection in list(self._connections):
            connection.close()

    async def wait_closed(self) -> None:
        if self.server is not None:
            await self.server.wait_closed()

    def _joined(self, connection: _HciConnection) -> VirtualController:
        self._connections.add(connection)
        return self.link.add_controller(f"hci-tcp-{self.port}-{len(self._connections)}")

    def _left(self, connection: _HciConnection) -> None:
        self._connections.discard(connection)


class _HciConnection(StreamPacketSource):
    """One host process: H4 packets in from TCP to its controller, and back out."""

    def __init__(self, server: HciServer) -> None:
        super().__init__()
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._controller: VirtualController | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._controller = self._server._joined(self)
        self._controller.host = StreamPacketSink(transport)
        self.set_packet_sink(self._controller)

    def connection_lost(self, exc: Exception | None) -> None:
        self._leave()

    def close(self) -> None:
        self._leave()
        if self._transport is not None:
            self._transport.close()

    def _leave(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.leave_link()
        self._server._left(self)
        self.on_transport_lost()
