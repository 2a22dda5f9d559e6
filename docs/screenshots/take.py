"""Screenshots of every tab and of the lock screen at 1024×768, for docs/screenshots/.

    make screenshots      # = xvfb-run -s "-screen 0 1024x768x24" .venv/bin/python docs/screenshots/take.py

Runs the console on its sandbox (127.0.0.1, ephemeral ports) in a throw-away home folder,
signed in as the demo supervisor (who sees every tab's actions), with a little demo data
opened in each tab, and grabs the whole virtual screen.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent
TABS = {"Counter Payments": "counter-payments", "Posting": "posting", "Invoice Import": "invoice-import",
        "Lockbox": "lockbox", "Bill Images": "bill-images", "Diagnostics": "diagnostics"}


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="biller-shots-"))
    os.environ["BILLER_CONSOLE_HOME"] = str(home)
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from console.app import build_services
    from console.secrets import MemoryBackend
    from console.ui.context import UiContext, ui_settings
    from console.ui.main_window import MainWindow
    from console.ui.screen_fit import install_screen_fitter

    install_screen_fitter(app)
    services = build_services("sandbox", secret_backend=MemoryBackend(), operator_id="super1")
    ctx = UiContext(services, services.profile.operator("super1"), settings=ui_settings(services.paths.config_dir))
    window = MainWindow(ctx, check_connection=True)
    window.show()
    window.move(0, 0)

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    def shoot(name: str) -> None:
        settle(0.5)
        QGuiApplication.primaryScreen().grabWindow(0).save(str(OUT / f"{name}.png"))
        print("wrote", OUT / f"{name}.png")

    settle(3.0)
    for title, name in TABS.items():
        window.tabs.setCurrentIndex(window.tab_index(title))
        settle(1.0)
        tab = window.tab_widget(title)
        prepare(title, tab, services, home, settle)
        shoot(name)
    window.tabs.setCurrentIndex(window.tab_index("Counter Payments"))
    settle(0.5)
    window.lock("manual")
    shoot("lock-screen")
    window.close()
    services.close()
    return 0


def prepare(title: str, tab, services, home: Path, settle) -> None:
    """A little demo data in the tab, as a person would open it."""
    if title == "Counter Payments":
        from console.sandbox.seed import demo_customers

        tab.open_account(demo_customers()[3].account_number)
        settle(4.0)
    elif title == "Invoice Import" and getattr(tab, "training_button", None) is not None:
        tab.open_training_file()
        settle(6.0)
    elif title == "Posting":
        from console.sandbox import exports

        f = home / "payments.csv"
        exports.write_export("payments", f, 40, 5)
        tab.load_file(f, "payments")
        settle(4.0)
    elif title == "Lockbox":
        from console.services.lockbox import write_sandbox_payments

        f = write_sandbox_payments(home / "lockbox-payments.csv", services.profile)
        tab.load_payments(f)
        settle(5.0)
    elif title == "Diagnostics":
        settle(6.0)


if __name__ == "__main__":
    sys.exit(main())
