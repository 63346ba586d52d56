"""Light and dark themes: a QPalette on the Fusion style plus a small stylesheet.

Confidence regions use Okabe-Ito colours that colour-blind operators can tell apart
(blue / orange / vermillion differ in hue *and* lightness), and the UI always pairs a
colour with a text label or shape: never red versus green alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from inference.types import Region

THEMES = ("light", "dark")

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

# Region -> colour; the same in both themes so operators learn one code.
REGION_COLOURS: dict[Region, str] = {
    Region.DEFECT: OKABE_ITO["vermillion"],
    Region.POSSIBLE_DEFECT: OKABE_ITO["orange"],
    Region.NON_DEFECT: OKABE_ITO["blue"],
}

# Text on a region-coloured chip: whichever of black/white contrasts more (WCAG).
REGION_TEXT_COLOURS: dict[Region, str] = {
    Region.DEFECT: "#000000",
    Region.POSSIBLE_DEFECT: "#000000",
    Region.NON_DEFECT: "#FFFFFF",
}

REGION_LABELS: dict[Region, str] = {
    Region.DEFECT: "Defect",
    Region.POSSIBLE_DEFECT: "Possible defect",
    Region.NON_DEFECT: "No defect",
}


@dataclass(frozen=True)
class ThemeColours:
    """The few colours a theme defines; everything else derives from them."""

    window: str
    base: str
    alternate: str
    text: str
    muted: str
    button: str
    border: str
    highlight: str
    highlight_text: str
    link: str
    error: str
    bevel_light: str
    shadow: str


LIGHT = ThemeColours(
    window="#F4F5F7",
    base="#FFFFFF",
    alternate="#EEF1F5",
    text="#1D232B",
    muted="#5B6470",
    button="#E9ECF0",
    border="#C7CDD4",
    highlight="#0072B2",
    highlight_text="#FFFFFF",
    link="#005A8C",
    error="#B34700",
    bevel_light="#FFFFFF",
    shadow="#8A929C",
)

DARK = ThemeColours(
    window="#1F2329",
    base="#15181C",
    alternate="#262B32",
    text="#E6E9ED",
    muted="#A2AAB4",
    button="#2D333B",
    border="#434B55",
    highlight="#56B4E9",
    highlight_text="#0B0D10",
    link="#7CC4F0",
    error="#F0A35E",
    bevel_light="#3A414A",
    shadow="#0B0D10",
)


def theme_colours(name: str) -> ThemeColours:
    """The colours of theme `name` ('light' or 'dark')."""
    if name not in THEMES:
        msg = f"unknown theme {name!r}; expected one of {THEMES}"
        raise ValueError(msg)
    return DARK if name == "dark" else LIGHT


def build_palette(name: str) -> QPalette:
    """A complete QPalette for theme `name`, including the Disabled group."""
    c = theme_colours(name)
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.window,
        QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.base,
        QPalette.ColorRole.AlternateBase: c.alternate,
        QPalette.ColorRole.ToolTipBase: c.base,
        QPalette.ColorRole.ToolTipText: c.text,
        QPalette.ColorRole.PlaceholderText: c.muted,
        QPalette.ColorRole.Text: c.text,
        QPalette.ColorRole.Button: c.button,
        QPalette.ColorRole.ButtonText: c.text,
        QPalette.ColorRole.BrightText: c.error,
        QPalette.ColorRole.Highlight: c.highlight,
        QPalette.ColorRole.HighlightedText: c.highlight_text,
        QPalette.ColorRole.Link: c.link,
        QPalette.ColorRole.Light: c.bevel_light,
        QPalette.ColorRole.Midlight: c.alternate,
        QPalette.ColorRole.Mid: c.border,
        QPalette.ColorRole.Dark: c.border,
        QPalette.ColorRole.Shadow: c.shadow,
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(disabled, role, QColor(c.muted))
    return pal


def build_stylesheet(name: str) -> str:
    """The small stylesheet on top of the palette: spacing, headings, status bar."""
    c = theme_colours(name)
    return f"""
QTabWidget::pane {{ border: 1px solid {c.border}; top: -1px; }}
QTabBar::tab {{
    padding: 7px 18px; border: 1px solid {c.border}; border-bottom: none;
    background: {c.button}; color: {c.muted};
    border-top-left-radius: 4px; border-top-right-radius: 4px; margin-right: 2px;
}}
QTabBar::tab:selected {{ background: {c.base}; color: {c.text}; font-weight: bold; }}
QStatusBar {{ border-top: 1px solid {c.border}; }}
QStatusBar QLabel {{ padding: 0 8px; color: {c.muted}; }}
QLabel[role="heading"] {{ font-size: 15pt; font-weight: bold; color: {c.text}; }}
QLabel[role="subheading"] {{ font-size: 11pt; font-weight: bold; color: {c.text}; }}
QLabel[role="muted"] {{ color: {c.muted}; }}
QLabel[role="error"] {{ color: {c.error}; font-weight: bold; }}
QLabel[role="badge"] {{
    color: {c.highlight}; border: 1px solid {c.highlight}; border-radius: 9px;
    padding: 1px 8px;
}}
QFrame[role="card"] {{
    background: {c.base}; border: 1px solid {c.border}; border-radius: 6px;
}}
QPushButton {{ padding: 5px 14px; }}
QPushButton[role="primary"] {{
    background: {c.highlight}; color: {c.highlight_text};
    border: 1px solid {c.highlight};
    border-radius: 3px; font-weight: bold;
}}
QPushButton[role="primary"]:disabled {{ background: {c.border}; color: {c.muted}; }}
"""


def apply_theme(app: QApplication, name: str) -> None:
    """Apply theme `name` to the application (Fusion style, palette, stylesheet)."""
    fusion = QStyleFactory.create("Fusion")
    if fusion is not None and app.style().name().lower() != "fusion":
        app.setStyle(fusion)
    app.setPalette(build_palette(name))
    app.setStyleSheet(build_stylesheet(name))
    app.setProperty("soldernet_theme", name)


def current_theme(app: QApplication) -> str:
    """The name of the theme last applied with `apply_theme` ('light' by default)."""
    value = app.property("soldernet_theme")
    return str(value) if value in THEMES else "light"
