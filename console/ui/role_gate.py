"""What the signed-in role may do in one view: the one helper every tab uses.

``RoleGate(ctx)`` keeps which widgets perform which protected action
(``console.services.operators.ACTIONS``). ``apply()`` disables the widgets whose action the
role may not do and says why in the view itself: ``gate.banner`` is a visible line ("Signed
in as cashier: you may not post payments to Caselle or import a file for posting.") that the
view puts in its layout — not only a tooltip. ``enable(widget, wanted)`` is how a view turns a
guarded widget on after work finishes, so a refused action never comes back on. The services
refuse the same actions (``NotPermitted``); this only shows the rule.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from console.services.operators import label

BANNER_STYLE = "background:#fef3c7; color:#78350f; padding:4px 8px; border-radius:3px;"


class RoleGate:
    def __init__(self, ctx, parent: QWidget | None = None):
        self.ctx = ctx
        self._guarded: list[tuple[QWidget, str]] = []
        self.banner = QLabel(parent)
        self.banner.setObjectName("role-banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setVisible(False)

    def guard(self, widget: QWidget, action: str) -> QWidget:
        label(action)  # an unknown action name fails here, at construction
        self._guarded.append((widget, action))
        return widget

    def allows(self, action: str) -> bool:
        return self.ctx.can(action)

    def refused(self) -> list[str]:
        """The guarded actions the role may not do, in the order they were guarded."""
        out: list[str] = []
        for _widget, action in self._guarded:
            if action not in out and not self.allows(action):
                out.append(action)
        return out

    def reason(self) -> str:
        refused = self.refused()
        if not refused:
            return ""
        labels = [label(a) for a in refused]
        what = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]
        return f"Signed in as {self.ctx.role}: you may not {what} here. A supervisor can."

    def apply(self) -> None:
        for widget, action in self._guarded:
            if not self.allows(action):
                widget.setEnabled(False)
                widget.setToolTip(f"Your role ({self.ctx.role}) may not {label(action)}")
        text = self.reason()
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def enable(self, widget: QWidget, wanted: bool = True) -> None:
        """Enable ``widget`` when ``wanted`` and its action (if guarded) is allowed."""
        actions = [a for w, a in self._guarded if w is widget]
        widget.setEnabled(bool(wanted) and all(self.allows(a) for a in actions))
