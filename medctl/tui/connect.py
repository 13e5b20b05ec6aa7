"""The connect screen: choose the massager — simulator, serial port, Bluetooth, or a typed address.

The list comes from :class:`~medctl.tui.devices.Discovery`: the remembered device first, the
built-in simulator (also at demo speed), the serial ports pyserial finds and, when medctl has a
BLE transport, an entry that scans for Bluetooth massagers (a scan that fails, say for want of
an adapter, says so and leaves the rest working). The choice goes to the app as
:class:`ConnectScreen.Chosen`; the app connects and closes this screen once it is connected.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Checkbox, Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from medctl.address import parse_address
from medctl.errors import AddressError
from medctl.tui.devices import (
    BleScan,
    DeviceChoice,
    Discovery,
    LinkState,
    ble_failure_text,
    describe,
    is_simulated,
    unique,
)
from medctl.tui.widgets import DeviceBar

#: The list entry that starts a Bluetooth scan.
SCAN_ID = "scan:ble"
ADDRESS_HINT = "…or an address: serial:///dev/ttyUSB0, ble://ADDRESS, tcp://HOST:PORT"


class ConnectScreen(Screen[None]):
    """Pick a massager with the arrows and enter, or type its address."""

    SUB_TITLE = "Choose a massager"

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f5", "rescan", "Rescan ports"),
        Binding("f6", "scan_ble", "Bluetooth scan"),
    ]

    class Chosen(Message):
        """Connect to *url*; remember it as the default when *remember*."""

        def __init__(self, url: str, remember: bool) -> None:
            super().__init__()
            self.url = url
            self.remember = remember

    def __init__(self, discovery: Discovery, *, remembered: str | None, current: str | None) -> None:
        super().__init__()
        self._discovery = discovery
        self._remembered = remembered
        self._current = current
        self._ble_scan: BleScan | None = None
        self._found: list[DeviceChoice] = []
        self._bluetooth: list[DeviceChoice] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DeviceBar()
        # scrolls: at 60×20 the list, the address, what went wrong and "remember" do not all fit
        with VerticalScroll(id="connect-body"):
            yield Static("Choose your massager: ↑↓ and enter, or type its address below.", id="connect-intro")
            # near the top, wrapped: on screen at any size without scrolling, never cut
            yield Static("", id="connect-message", markup=False)
            yield OptionList(id="devices")
            yield Input(placeholder=ADDRESS_HINT, id="address")
            # off while a simulator is highlighted: trying the demo must not make it the default
            yield Checkbox("Remember it as my default massager", value=False, id="remember")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#connect-message").display = False
        self.watch(self.app, "link_state", self._link_changed)
        self._ble_scan = self._discovery.ble_scan()
        self.action_rescan()
        self.query_one(OptionList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "scan_ble":
            return self._ble_scan is not None
        return True

    def action_rescan(self) -> None:
        """List the serial ports again (a massager plugged in since)."""
        try:
            self._found = self._discovery.serial_ports()
        except OSError as exc:
            self._found = []
            self.say(f"Could not list serial ports: {exc}")
        self._fill()

    def action_scan_ble(self) -> None:
        if self._ble_scan is not None:
            self.say("Scanning for Bluetooth massagers…")
            self._scan(self._ble_scan)

    @work(exclusive=True, group="ble-scan")
    async def _scan(self, scan: BleScan) -> None:
        try:
            self._bluetooth = await scan()
        except Exception as exc:  # any Bluetooth stack failure (no adapter, no permission) is shown, not raised
            self.say(ble_failure_text(exc))
            return
        self.say(f"Bluetooth: found {len(self._bluetooth)} massager(s).")
        self._fill()

    def _link_changed(self, state: LinkState) -> None:
        """Why the last connection failed, whole and wrapped (the device bar has one line for it)."""
        if state.phase == "failed" and state.url is not None:
            self.say(f"Could not connect to {describe(state.url)}: {state.detail}")

    def say(self, text: str) -> None:
        message = self.query_one("#connect-message", Static)
        message.update(text)
        message.display = bool(text)

    @on(OptionList.OptionHighlighted, "#devices")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        url = event.option.id
        if url is not None and url != SCAN_ID:
            self.query_one("#remember", Checkbox).value = not is_simulated(url)

    @on(Input.Changed, "#address")
    def _typing(self, event: Input.Changed) -> None:
        typed = event.value.strip()
        if typed:  # an empty box says nothing: the highlighted entry's choice stands
            self.query_one("#remember", Checkbox).value = not is_simulated(typed)

    @on(OptionList.OptionSelected, "#devices")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        url = event.option.id
        if url == SCAN_ID:
            self.action_scan_ble()
        elif url is not None:
            self._choose(url)

    @on(Input.Submitted, "#address")
    def _typed(self, event: Input.Submitted) -> None:
        url = event.value.strip()
        try:
            parse_address(url)
        except AddressError as exc:
            self.say(str(exc))
            return
        self._choose(url)

    def _choose(self, url: str) -> None:
        self.say(f"Connecting to {url}…")
        self.post_message(self.Chosen(url, self.query_one("#remember", Checkbox).value))

    def _fill(self) -> None:
        options = self.query_one(OptionList)
        highlighted = options.highlighted_option.id if options.highlighted_option is not None else None
        options.clear_options()
        for choice in self._choices():
            options.add_option(Option(Text(self._label(choice)), id=choice.url))
        if self._ble_scan is not None:
            options.add_option(Option("Scan for Bluetooth massagers… (f6)", id=SCAN_ID))
        wanted = highlighted or self._current or self._remembered
        for index in range(options.option_count):
            if options.get_option_at_index(index).id == wanted:
                options.highlighted = index

    def _choices(self) -> list[DeviceChoice]:
        remembered = [DeviceChoice(self._remembered, self._remembered, "remembered")] if self._remembered else []
        return unique([*remembered, *self._discovery.simulators(), *self._found, *self._bluetooth])

    def _label(self, choice: DeviceChoice) -> str:
        mark = "● " if choice.url == self._current else "  "
        detail = f" — {choice.detail}" if choice.detail else ""
        return f"{mark}{choice.label}{detail}"
