"""The moments worth a sound, and the CLI's progress line with its bell and heat degrees."""

from __future__ import annotations

import io

from medctl.cli.session import _ProgressView, format_progress
from medctl.formatting import heat_target_text
from medctl.session import EndReason, Phase, SessionUpdate
from medctl.session.cues import Cue, cue_between


def update(phase: Phase, *, end: EndReason | None = None, heat: int = 0) -> SessionUpdate:
    return SessionUpdate(phase, 30.0, 300.0, 1, heat, 30.0, "next", end_reason=end)


def test_each_moment_gives_its_cue_once() -> None:
    warm, massage, down = update(Phase.WARM_UP), update(Phase.MASSAGE), update(Phase.STEP_DOWN)
    done = update(Phase.DONE, end=EndReason.COMPLETED)
    assert cue_between(None, warm) is None
    assert cue_between(warm, warm) is None
    assert cue_between(warm, massage) is Cue.UNLOCKED
    assert cue_between(massage, massage) is None
    assert cue_between(massage, down) is Cue.STEP_DOWN
    assert cue_between(down, done) is Cue.END
    assert cue_between(done, done) is None
    assert cue_between(None, done) is Cue.END  # a session that ended before anything was shown
    assert cue_between(massage, update(Phase.PAUSED)) is None
    assert cue_between(update(Phase.PAUSED), massage) is None  # a resume is no unlock


def test_heat_target_text_only_when_the_device_says() -> None:
    assert heat_target_text(2, (38.0, 42.0)) == " (~42 °C)"
    assert heat_target_text(0, (38.0, 42.0)) == ""
    assert heat_target_text(1, None) == ""
    assert heat_target_text(3, (38.0, 42.0)) == ""


def test_the_progress_line_shows_heat_degrees() -> None:
    line = format_progress(update(Phase.MASSAGE, heat=1), heat_targets_c=(38.0, 42.0))
    assert "heat 1 (~38 °C)" in line
    assert "heat 1  " in format_progress(update(Phase.MASSAGE, heat=1))


def test_the_cli_rings_the_bell_unless_switched_off() -> None:
    steps = [update(Phase.WARM_UP), update(Phase.MASSAGE), update(Phase.STEP_DOWN)]
    steps.append(update(Phase.DONE, end=EndReason.COMPLETED))
    for bell, rings in ((True, 3), (False, 0)):
        out = io.StringIO()
        view = _ProgressView(out, live=False, bell=bell)
        for step in steps:
            view.show(step)
        assert out.getvalue().count("\a") == rings


def test_the_progress_line_shows_the_mode_once_switched() -> None:
    from dataclasses import replace

    assert "  mode tap" in format_progress(replace(update(Phase.MASSAGE), mode="tap"))
    assert "mode" not in format_progress(update(Phase.MASSAGE))


def test_the_live_line_fits_the_terminal_without_cutting_a_word() -> None:
    """At 80 columns "increases unlock in 0:42" was cut to "increases unloc": now whole parts go."""
    from dataclasses import replace

    warm = replace(update(Phase.WARM_UP, heat=1), next_action="increases unlock in 0:42", mode="kneading")
    full = format_progress(warm, heat_targets_c=(38.0, 42.0))
    assert len(full) > 79
    for columns in (120, 79, 59, 45):
        line = format_progress(warm, heat_targets_c=(38.0, 42.0), columns=columns)
        assert len(line) <= columns, (columns, line)
        assert "increases unlock in 0:42" in line and "left" in line, (columns, line)
    assert format_progress(warm, columns=120) == format_progress(warm)
    for columns in (39, 24):  # narrower than the essentials: whole words, then "…"
        tiny = format_progress(warm, columns=columns)
        assert len(tiny) <= columns and tiny.endswith("…") and "unloc…" not in tiny, tiny
