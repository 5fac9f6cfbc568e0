"""Getting the machine ready before the window opens: the log file, screen blanking, where the
window goes, and shared memory left by a crash.

In kiosk mode nothing but the picture may reach the screen: the log goes to a
rotating, size-capped file (and stderr, which the supervisor keeps), the screen
saver and DPMS are turned off, and stale shared-memory segments are removed.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger("dessins_de_planche.kiosk")
LOG_BACKUPS = 3


def default_log_file() -> Path:
    from platformdirs import user_log_dir

    return Path(user_log_dir("dessins-de-planche")) / "dessins-de-planche.log"


def add_log_file(path, max_kb: int = 1024) -> Path:
    """Log to `path` as well, rotated at `max_kb` with a few old files kept: never more than that on disk."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_kb * 1024, backupCount=LOG_BACKUPS,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return path


def keep_screen_awake() -> None:
    """SDL must not allow the screen saver; on X, blanking and DPMS are turned off where xset exists."""
    os.environ["SDL_VIDEO_ALLOW_SCREENSAVER"] = "0"
    if os.environ.get("DISPLAY") and shutil.which("xset"):
        for args in (["s", "off"], ["s", "noblank"], ["-dpms"]):
            try:
                subprocess.run(["xset", *args], timeout=5, capture_output=True)
            except (OSError, subprocess.SubprocessError) as error:
                log.info("xset %s: %s", " ".join(args), error)


def prepare(args) -> None:
    """Everything the run needs before the first window, in kiosk mode or not."""
    if getattr(args, "position", None):
        os.environ["SDL_VIDEO_WINDOW_POS"] = "%d,%d" % tuple(args.position)
    log_file = getattr(args, "log_file", None) or (default_log_file() if getattr(args, "kiosk", False) else None)
    if log_file:
        path = add_log_file(log_file, getattr(args, "log_max_kb", 1024))
        log.info("logging to %s (rotated at %d kB)", path, getattr(args, "log_max_kb", 1024))
    if getattr(args, "config_error", None):  # kiosk mode went on without its configuration file
        log.error("%s", args.config_error)
    if getattr(args, "kiosk", False):
        keep_screen_awake()
        from dessins_de_planche.inputs.shm import remove_stale_segments

        remove_stale_segments()
