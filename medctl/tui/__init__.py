"""The medctl TUI (Textual): guided sessions with the keyboard alone.

``medctl`` on a terminal, or ``medctl tui``, opens it. Only the library's public API is used:
the TUI shows what the session engine decides and never decides a rule itself.
"""
