"""The medctl TUI: one App that holds the massager link and the history, and routes between screens.

Screens never call each other. Each posts a message saying what the person chose
(:class:`SafetyScreen.Passed`, :class:`PlanScreen.Start`, :class:`LiveScreen.Ended`,
:class:`ConnectScreen.Chosen`, …) and the app decides what comes next:

    safety check → plan → live session → summary → plan …
    connect, history, techniques and help open over any of them (not during a session)

The connection to the massager lives here (:class:`DeviceLink`), so it outlives screens; its
state reaches the device bars as :class:`LinkChanged` messages. A session lives in its
:class:`LiveScreen`, so leaving that screen in any way stops the massager; quitting the app
closes the link, which stops it too.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message
from textual.reactive import reactive

from medctl.errors import MedctlError
from medctl.session import SafetyCheck
from medctl.session.rules.frequency import unreadable_warning
from medctl.tui.config import TuiConfig, default_config_path, load_config, save_config
from medctl.tui.devices import SIMULATOR, Connector, DeviceLink, Discovery, LinkState, identity_text
from medctl.tui.safety import SafetyScreen

# Only the first screen is imported with the app: every other screen, the history and the
# presets are imported when first needed, so the safety check's first question is drawn sooner.
# Screens' messages reach the handlers below by name (``on_live_screen_ended``), not by ``@on``,
# which would need the screen classes now.
if TYPE_CHECKING:
    from medctl.history import HistoryStore
    from medctl.tui.connect import ConnectScreen
    from medctl.tui.live import LiveScreen
    from medctl.tui.plan import PlanScreen
    from medctl.tui.summary import SummaryScreen

#: While the link is lost, how often (loop seconds) to look whether a session brought it back.
LINK_POLL_S: Final = 0.5
#: Intensity levels assumed for the plan screen until a massager has said how many it has.
DEFAULT_INTENSITY_LEVELS: Final = 5
#: Said before every session on a massager that declares no watchdog of its own.
NO_WATCHDOG_NOTE: Final = (
    "This massager has no safety timer of its own: if this computer crashes or the link drops, it keeps"
    " running until its own timer ends. medctl stops it on every way out of a session; if it ever keeps"
    " going, switch it off at its button."
)


#: The command palette's main actions: (action, name, help).
COMMAND_ACTIONS: Final = (
    ("choose_device", "Choose massager", "Simulator, serial port, Bluetooth or a typed address"),
    ("history", "History", "Sessions per week, every session, export"),
    ("techniques", "Techniques", "The article's manual techniques, guided and timed"),
    ("help", "Help", "Keys and safety tips"),
    ("reconnect", "Reconnect", "Re-open the lost link to the massager"),
    ("stop_session", "Stop the session", "Stop the massager now"),
    ("quit", "Quit", "Stop the massager and close medctl"),
)


#: Screens that open over the flow (by class name), by the action that opens them.
OVERLAYS: Final[dict[str, str]] = {
    "choose_device": "ConnectScreen",
    "history": "HistoryScreen",
    "techniques": "TechniquesScreen",
}


class LinkChanged(Message):
    """The link to the massager changed: connecting, connected, lost, failed."""

    def __init__(self, state: LinkState) -> None:
        super().__init__()
        self.state = state


class MedctlCommands(Provider):
    """The main actions in the command palette (ctrl+p)."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        """(name, help, callback) of each main action that makes sense now."""
        app = self.app
        assert isinstance(app, MedctlApp)
        for action, name, help_text in COMMAND_ACTIONS:
            if app.check_action(action, ()):
                yield name, help_text, getattr(app, f"action_{action}")

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


#: Styles the first screen (the safety check) needs; parsing all of them first cost ~0.15 s of first paint.
FIRST_CSS: Final = ("app", "safety")
LATER_CSS: Final = ("plan", "live", "summary", "history", "techniques", "connect", "help")


class MedctlApp(App[None]):
    """Guided neck-massager sessions, the keyboard alone, 80×24 and up."""

    #: The first screen's styles, read before it is drawn; every other screen's (:data:`LATER_CSS`) are
    #: read once just after, while the app has only the first screen's few widgets to re-style (a
    #: screen bringing its own CSS_PATH would make Textual re-style every widget on its first push).
    CSS_PATH = [f"{name}.tcss" for name in FIRST_CSS]
    TITLE = "medctl"
    #: medctl's actions only: Textual's own ("Maximize", "Keys", "Quit the application…") mean nothing here
    COMMANDS = {MedctlCommands}

    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("r", "reconnect", "Reconnect"),
        # priority, so it also works under a modal (help, the command palette); enabled during a session only
        Binding("space", "stop_session", "STOP", show=False, priority=True),
    ]

    link_state: reactive[LinkState] = reactive(LinkState())

    def __init__(
        self,
        *,
        device: str | None = None,
        db_path: Path | None = None,
        config_path: Path | None = None,
        connector: Connector | None = None,
        discovery: Discovery | None = None,
        export_dir: Path | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self._device = device
        self._db_path = db_path
        self._config_path = config_path or default_config_path()
        self._presets_path = self._config_path.parent / "presets.toml"
        self.config = TuiConfig()
        self.link = DeviceLink(connector) if connector is not None else DeviceLink()
        self.discovery = discovery or Discovery()
        self._export_dir = export_dir or Path.cwd()
        self._now = now or partial(datetime.now, UTC)
        self.history: HistoryStore | None = None
        self._history_problem = ""
        self.safety: SafetyCheck | None = None
        self.safety_screen = SafetyScreen()

    # --- start and end -------------------------------------------------------------------

    def on_mount(self) -> None:
        loaded = load_config(self._config_path)
        self.config = loaded.config
        if loaded.notice:
            self.notify(loaded.notice, severity="warning", timeout=15, markup=False)
        self.push_screen(self.safety_screen)
        self.call_after_refresh(self._read_later_styles)
        # both after the first screen is drawn: connecting imports the driver and starts a simulator,
        # opening the history may fsync — neither may hold up the first question
        self.call_after_refresh(self.connect_to, self._device or self.config.device or SIMULATOR)
        self.call_after_refresh(self._open_history)

    def _read_later_styles(self) -> None:
        """The other screens' styles, read after the first screen is on the terminal."""
        folder = Path(__file__).parent
        self.stylesheet.read_all([folder / f"{name}.tcss" for name in LATER_CSS])
        self.refresh_css(animate=False)

    def _open_history(self) -> None:
        """Open the history once (the first screen does not wait for it; the plan screen does)."""
        if self.history is not None or self._history_problem:
            return
        from medctl.history import HistoryStore, default_db_path

        path = self._db_path or default_db_path()
        try:
            self.history = HistoryStore(path).open()
        except MedctlError as exc:
            self._history_problem = f"The history is not available: {exc}"
            self.notify(self._history_problem, severity="error", timeout=15, markup=False)
            return
        if self.safety_screen.is_mounted:
            try:
                warnings = [warning.message for warning in self.history.frequency_warnings()]
            except MedctlError as exc:
                warnings = [unreadable_warning(str(exc)).message]
            self.safety_screen.show_frequency(warnings)

    async def on_unmount(self) -> None:
        """Quitting, however it happens, stops the massager and closes the history."""
        await self.link.close()
        if self.history is not None:
            self.history.close()

    # --- the link to the massager --------------------------------------------------------

    @work(exclusive=True, group="link")
    async def connect_to(self, url: str, remember: bool = False) -> None:
        """Connect (closing and stopping any massager in use), then watch the link."""
        self.post_message(LinkChanged(LinkState(url, "connecting")))
        try:
            client = await self.link.open(url)
        except (MedctlError, OSError) as exc:
            self.post_message(LinkChanged(LinkState(url, "failed", str(exc))))
            return
        guarded = client.capabilities.watchdog_s is not None  # does it stop by itself when the link goes?
        self.post_message(LinkChanged(LinkState(url, "connected", identity_text(client), guarded)))
        if remember:
            self._remember(url)
        while True:
            lost = await client.wait_lost()
            self.post_message(LinkChanged(LinkState(url, "lost", str(lost), guarded)))
            # a session reconnects by itself (R10), otherwise r does; the client has no event for it
            while not client.connected:  # noqa: ASYNC110
                await asyncio.sleep(LINK_POLL_S)
            self.post_message(LinkChanged(LinkState(url, "connected", identity_text(client), guarded)))

    def on_link_changed(self, message: LinkChanged) -> None:
        self.link_state = message.state
        self.refresh_bindings()
        if message.state.phase == "connected":
            from medctl.tui.connect import ConnectScreen
            from medctl.tui.plan import PlanScreen

            if isinstance(self.screen, ConnectScreen):
                self.pop_screen()
            for screen in self.screen_stack:
                if isinstance(screen, PlanScreen) and self.link.client is not None:
                    screen.set_max_intensity(self.link.client.capabilities.intensity_levels)
        elif message.state.phase == "failed" and not self._session_running():
            self.action_choose_device()

    def _remember(self, url: str) -> None:
        self._save_config(replace(self.config, device=url))

    def _save_config(self, config: TuiConfig) -> None:
        try:
            save_config(self._config_path, config)
        except MedctlError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.config = config

    def on_live_screen_bell_switched(self, message: LiveScreen.BellSwitched) -> None:
        self._save_config(replace(self.config, bell=message.on))

    @work(exclusive=True, group="reconnect")
    async def action_reconnect(self) -> None:
        """R10: re-open a lost link; nothing resumes by itself."""
        self.notify("Reconnecting to the massager…", markup=False)
        try:
            await self.link.reconnect()
        except MedctlError as exc:
            self.notify(f"Reconnect failed: {exc}", severity="error", markup=False)

    # --- routing -------------------------------------------------------------------------

    def on_safety_screen_passed(self, message: SafetyScreen.Passed) -> None:
        self.safety = message.check
        self._open_history()
        from medctl.tui.plan import PlanScreen

        self.push_screen(
            PlanScreen(
                self.history, self._intensity_levels(), device_note=self._device_note(), presets=self._presets_path
            )
        )

    def on_plan_screen_back(self) -> None:
        self.pop_screen()
        self.safety_screen.restart()

    def on_plan_screen_start(self, message: PlanScreen.Start) -> None:
        client = self.link.client
        if client is None or self.link_state.phase != "connected":
            self._plan_says(f"Not connected. {self.link_state.text()}")
            return
        assert self.safety is not None, "the plan screen opens only after the safety check passed"
        from medctl.presets import PresetError, save_preset
        from medctl.tui.live import LiveScreen

        try:
            save_preset(self._presets_path, "last", message.plan)  # "repeat last" next time
        except PresetError as exc:
            self.notify(str(exc), severity="warning", markup=False)
        self.push_screen(
            LiveScreen(
                client,
                message.plan,
                safety=self.safety,
                history=self.history,
                override=message.override,
                bell=self.config.bell,
            )
        )

    def on_live_screen_not_started(self, message: LiveScreen.NotStarted) -> None:
        self._close_overlays()
        self.pop_screen()
        self._plan_says(message.reason)

    def on_live_screen_ended(self, message: LiveScreen.Ended) -> None:
        from medctl.tui.summary import SummaryScreen

        self._close_overlays()
        self.switch_screen(SummaryScreen(message.record, self.history))

    def _close_overlays(self) -> None:
        """Close whatever is open over the live screen (help, the command palette)."""
        from medctl.tui.live import LiveScreen

        while not isinstance(self.screen, LiveScreen):
            self.pop_screen()

    def on_summary_screen_done(self, message: SummaryScreen.Done) -> None:
        self.pop_screen()
        self._plan_says(None)

    def on_connect_screen_chosen(self, message: ConnectScreen.Chosen) -> None:
        self.connect_to(message.url, message.remember)

    def _plan_says(self, text: str | None) -> None:
        """Refresh the plan screen's advice, if it is on top, and say *text* there."""
        from medctl.tui.plan import PlanScreen

        if isinstance(self.screen, PlanScreen):
            self.screen.refresh_advice()
            if text is not None:
                self.screen.say(text)

    def _on(self, *names: str) -> bool:
        """Whether a screen of one of these class names is on top. By name, as check_action runs at the
        first paint, before the other screens' modules are imported (and cannot be on top)."""
        return type(self.screen).__name__ in names

    # --- screens over the flow -----------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in OVERLAYS:
            return not self._session_running() and not self._on(OVERLAYS[action])
        if action == "reconnect":
            return self.link_state.phase == "lost" and not self._session_running()
        if action == "stop_session":
            return self._session_running()
        return True

    def action_help(self) -> None:
        from medctl.tui.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_choose_device(self) -> None:
        from medctl.tui.connect import ConnectScreen

        if not isinstance(self.screen, ConnectScreen):
            self.push_screen(ConnectScreen(self.discovery, remembered=self.config.device, current=self.link.url))

    def action_history(self) -> None:
        from medctl.tui.history import HistoryScreen

        self._open_history()
        self.push_screen(
            HistoryScreen(self.history, now=self._now, export_dir=self._export_dir, problem=self._history_problem)
        )

    def action_techniques(self) -> None:
        from medctl.tui.techniques import TechniquesScreen

        self.push_screen(TechniquesScreen())

    def action_stop_session(self) -> None:
        """Space stops a running session even from the help screen over it (R6)."""
        for screen in self._live_screens():
            screen.action_stop()

    def _live_screens(self) -> list[LiveScreen]:
        """The live screens in the stack; none before the live screen's module was ever imported."""
        live = sys.modules.get("medctl.tui.live")
        return [] if live is None else [s for s in self.screen_stack if isinstance(s, live.LiveScreen)]

    def _session_running(self) -> bool:
        return bool(self._live_screens())

    def _device_note(self) -> str | None:
        """A massager without a watchdog of its own keeps running if this computer stops talking to it."""
        client = self.link.client
        if client is None or client.identity is None or client.capabilities.watchdog_s is not None:
            return None
        return NO_WATCHDOG_NOTE

    def _intensity_levels(self) -> int:
        client = self.link.client
        if client is None or client.identity is None:
            return DEFAULT_INTENSITY_LEVELS
        return client.capabilities.intensity_levels
