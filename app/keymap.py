"""The review keyboard map: one list of actions and keys, editable in Settings.

Defaults are product.md §3: `D` defect confirmed (then `1`-`9` pick the code), `F`
false call, `S` skip/escalate, `Ctrl+Z` undo, `Space` overlay, `+`/`-`/`0` zoom/fit,
arrows previous/next, `Esc` leaves the code picker.

The map is kept per station in QSettings (group `review_keymap`, one portable key
string per changed action; actions not stored keep their defaults): it is the
operator's UI preference, like the window layout, not a site setting of
`settings.toml`. `KeyMap.bind(panel)` puts the keys on a `VerdictPanel`'s actions and
buttons and keeps them current when the map changes, so an edit in Settings applies to
the Review screen at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtGui import QKeySequence

SETTINGS_GROUP = "review_keymap"


@dataclass(frozen=True)
class KeyAction:
    """One review action the keyboard can trigger.

    Attributes:
        name: stable id (the QSettings key).
        label: what the Settings table calls it.
        defaults: its default keys (portable text, e.g. `Ctrl+Z`).
        panel_attr: the `VerdictPanel` QAction attribute (`digit_actions[i]` for
            codes: `("digit_actions", i)`).
        button: the panel button that names the key, and its text without it.
    """

    name: str
    label: str
    defaults: tuple[str, ...]
    panel_attr: str | tuple[str, int]
    button: tuple[str, str] | None = None


ACTIONS: tuple[KeyAction, ...] = (
    KeyAction(
        "defect",
        "Defect confirmed (then pick the code)",
        ("D",),
        "defect_action",
        ("defect_button", "Defect"),
    ),
    KeyAction(
        "false_call",
        "False call (not a defect)",
        ("F",),
        "false_call_action",
        ("false_call_button", "False call"),
    ),
    KeyAction(
        "skip",
        "Skip / escalate",
        ("S",),
        "skip_action",
        ("skip_button", "Skip / escalate"),
    ),
    KeyAction(
        "undo",
        "Undo last verdict",
        ("Ctrl+Z",),
        "undo_action",
        ("undo_button", "Undo"),
    ),
    KeyAction("overlay", "Toggle the overlay", ("Space",), "overlay_action"),
    KeyAction("zoom_in", "Zoom in", ("+", "=", "Shift++"), "zoom_in_action"),
    KeyAction("zoom_out", "Zoom out", ("-",), "zoom_out_action"),
    KeyAction("fit", "Fit the joint", ("0",), "fit_action"),
    KeyAction("previous", "Previous joint", ("Left", "Up"), "previous_action"),
    KeyAction("next", "Next joint", ("Right", "Down"), "next_action"),
    KeyAction("cancel", "Leave the code picker", ("Esc",), "cancel_action"),
    *(
        KeyAction(
            f"code_{digit}",
            f"Defect code {digit} (in the code picker)",
            (str(digit),),
            ("digit_actions", digit - 1),
        )
        for digit in range(1, 10)
    ),
)
ACTIONS_BY_NAME = {a.name: a for a in ACTIONS}

# Keys the main window already uses: a review action cannot take them.
RESERVED_KEYS: dict[str, str] = {
    "Ctrl+Shift+L": "Log out / hand over",
    "Ctrl+Q": "Quit",
}


class KeyConflictError(ValueError):
    """The key is taken (by another action or the window) or is not a key at all."""


def normalise(key: str | QKeySequence) -> str:
    """The portable text of a one-chord key (`ctrl+z` -> `Ctrl+Z`); "" if empty."""
    sequence = key if isinstance(key, QKeySequence) else QKeySequence(str(key))
    return sequence.toString(QKeySequence.SequenceFormat.PortableText)


def display(keys: tuple[str, ...]) -> str:
    """Keys for people, in the platform's words (`Ctrl+Z`, `Space`)."""
    native = QKeySequence.SequenceFormat.NativeText
    return ", ".join(QKeySequence(k).toString(native) for k in keys)


class KeyMap(QObject):
    """The review actions' keys: defaults, the station's changes, conflict checks.

    Args:
        parent: the owning QObject (the settings controller).
        load: read the station's changes from QSettings now.
    """

    # The keys changed (an edit or a reset); bound panels are updated already.
    changed = Signal()

    def __init__(self, parent: QObject | None = None, *, load: bool = True) -> None:
        super().__init__(parent)
        self._keys: dict[str, tuple[str, ...]] = {a.name: a.defaults for a in ACTIONS}
        if load:
            self.load()

    # -- reading ---------------------------------------------------------------------
    def keys(self, name: str) -> tuple[str, ...]:
        """The keys of action `name` (portable text)."""
        return self._keys[name]

    def is_default(self, name: str) -> bool:
        """Whether action `name` has its default keys."""
        return self._keys[name] == ACTIONS_BY_NAME[name].defaults

    def owner_of(self, key: str, *, besides: str = "") -> str | None:
        """The label of what uses `key` (an action other than `besides`, or the
        window), or None when the key is free."""
        wanted = QKeySequence(normalise(key))
        for reserved, what in RESERVED_KEYS.items():
            if QKeySequence(reserved) == wanted:
                return f"the window's {what}"
        for action in ACTIONS:
            if action.name == besides:
                continue
            if any(QKeySequence(k) == wanted for k in self._keys[action.name]):
                return action.label
        return None

    # -- changes ---------------------------------------------------------------------
    def set_key(self, name: str, key: str | QKeySequence) -> str:
        """Give action `name` the single key `key`, save, and apply it.

        Returns:
            The key as stored (portable text).

        Raises:
            KeyConflictError: `key` is empty, more than one key, or already used; the
                message names the action (or window command) that has it.
        """
        action = ACTIONS_BY_NAME[name]
        sequence = key if isinstance(key, QKeySequence) else QKeySequence(str(key))
        text = normalise(sequence)
        if sequence.isEmpty() or not text:
            msg = f"press a key for “{action.label}”"
            raise KeyConflictError(msg)
        if sequence.count() != 1:
            msg = f"{display((text,))} is a sequence of keys; press a single key"
            raise KeyConflictError(msg)
        owner = self.owner_of(text, besides=name)
        if owner is not None:
            msg = (
                f"{display((text,))} is already the key of “{owner}”; change that "
                "one first or choose another key"
            )
            raise KeyConflictError(msg)
        self._keys[name] = (text,)
        self.save()
        self.changed.emit()
        return text

    def reset(self) -> None:
        """Every action back to its default keys (and forget the station's changes)."""
        self._keys = {a.name: a.defaults for a in ACTIONS}
        self.save()
        self.changed.emit()

    # -- storage ---------------------------------------------------------------------
    def load(self) -> None:
        """Read the station's changes; a stored key that conflicts is ignored."""
        qs = QSettings()
        qs.beginGroup(SETTINGS_GROUP)
        stored = {name: qs.value(name) for name in qs.childKeys()}
        qs.endGroup()
        self._keys = {a.name: a.defaults for a in ACTIONS}
        for name, value in stored.items():
            if name not in ACTIONS_BY_NAME or not isinstance(value, str):
                continue
            keys = tuple(k for k in value.split("\t") if k)
            free = all(self.owner_of(k, besides=name) is None for k in keys)
            if keys and free:
                self._keys[name] = keys

    def save(self) -> None:
        """Write the actions that differ from their defaults (and only those)."""
        qs = QSettings()
        qs.beginGroup(SETTINGS_GROUP)
        qs.remove("")
        for name, keys in self._keys.items():
            if not self.is_default(name):
                qs.setValue(name, "\t".join(keys))
        qs.endGroup()
        qs.sync()

    # -- the review panel ------------------------------------------------------------
    def bind(self, panel: Any) -> None:
        """Put the keys on `panel` (a VerdictPanel) now and after every change."""
        _PanelBinding(self, panel)


def apply_to_panel(keymap: KeyMap, panel: Any) -> None:
    """Set each action's shortcuts and the key shown on the verdict buttons."""
    for action in ACTIONS:
        attr = action.panel_attr
        if isinstance(attr, tuple):
            qaction = getattr(panel, attr[0])[attr[1]]
        else:
            qaction = getattr(panel, attr)
        keys = keymap.keys(action.name)
        qaction.setShortcuts([QKeySequence(k) for k in keys])
        if action.button is not None:
            button_attr, text = action.button
            getattr(panel, button_attr).setText(f"{text} ({display(keys)})")


class _PanelBinding(QObject):
    """Re-applies the key map to one panel; a child of the panel, so it dies with it."""

    def __init__(self, keymap: KeyMap, panel: Any) -> None:
        super().__init__(panel)
        self._keymap = keymap
        self._panel = panel
        keymap.changed.connect(self._on_keymap_changed)
        apply_to_panel(keymap, panel)

    @Slot()
    def _on_keymap_changed(self) -> None:
        apply_to_panel(self._keymap, self._panel)
