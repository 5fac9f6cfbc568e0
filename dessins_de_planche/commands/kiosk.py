"""`kiosk`: the installation's supervisor — runs `run --kiosk` and restarts it when it dies or hangs."""

from __future__ import annotations

import argparse
import shlex
import sys

from dessins_de_planche import options as opt

NAME = "kiosk"
ORDER = 20
HELP = "run the app for an installation, restarted when it dies or hangs"
DESCRIPTION = ("Run `run --kiosk` as a child process and restart it when it exits or stops producing frames "
               "(its health file stops being updated), with a back-off, logging why. Options after `--` go to "
               "`run` (e.g. `kiosk -- --audio-device \"USB Audio\" --preset rosette`). See docs/kiosk.md.")


def add_arguments(parser) -> None:
    from dessins_de_planche.app.supervisor import Policy

    policy = Policy()
    parser.add_argument("--health-file", metavar="FILE.json",
                        help="the app's health file, its heartbeat (default: health.json in the user state folder)")
    parser.add_argument("--heartbeat-timeout", type=opt.positive(float), default=policy.heartbeat_timeout,
                        metavar="S", help="restart the app when it has drawn no frame for S seconds")
    parser.add_argument("--startup-grace", type=opt.positive(float), default=policy.startup_grace, metavar="S",
                        help="seconds a new app may take to draw its first frame")
    parser.add_argument("--backoff-min", type=opt.positive(float), default=policy.backoff_min, metavar="S",
                        help="wait before the first restart; doubles while the app keeps failing")
    parser.add_argument("--backoff-max", type=opt.positive(float), default=policy.backoff_max, metavar="S")
    parser.add_argument("--healthy-after", type=opt.positive(float), default=policy.healthy_after, metavar="S",
                        help="an app that lived S seconds resets the back-off")
    parser.add_argument("--max-failures", type=opt.positive(int), default=policy.max_failures, metavar="N",
                        help="quick failures in a row before the supervisor gives up (exit 1)")
    parser.add_argument("--supervisor-log", metavar="FILE", help="also log the supervisor to this rotating file")
    parser.add_argument("--app-command", metavar="COMMAND",
                        help="run this command instead of the app (for testing a deployment)")
    parser.add_argument("run_args", nargs=argparse.REMAINDER, metavar="-- RUN OPTIONS",
                        help="options for `run` (after --)")


def child_command(args, health_file) -> list[str]:
    if args.app_command:
        return shlex.split(args.app_command)
    run_args = list(args.run_args or [])
    if run_args[:1] == ["--"]:
        run_args = run_args[1:]
    config = ["--config", args.config] if getattr(args, "config", None) else []
    return [sys.executable, "-m", "dessins_de_planche", "run", "--kiosk", "--health-file", str(health_file),
            *config, *run_args]


def main(args) -> int:
    from pathlib import Path

    from dessins_de_planche.app import supervisor as sup
    from dessins_de_planche.app.kiosk import add_log_file

    health_file = Path(args.health_file) if args.health_file else sup.default_health_file()
    health_file.parent.mkdir(parents=True, exist_ok=True)
    if args.supervisor_log:
        add_log_file(args.supervisor_log)
    if getattr(args, "config_error", None):  # the supervisor goes on without its config file, as will the app
        sup.log.error("%s", args.config_error)
    policy = sup.Policy(heartbeat_timeout=args.heartbeat_timeout, startup_grace=args.startup_grace,
                        backoff_min=args.backoff_min, backoff_max=args.backoff_max,
                        healthy_after=args.healthy_after, max_failures=args.max_failures)
    env = sup.environment()
    if args.app_command:
        env["DDP_HEALTH_FILE"] = str(health_file)  # a stand-in app learns where to beat
    supervisor = sup.Supervisor(child_command(args, health_file), health_file, policy, env)
    sup.install_signal_handlers(supervisor)
    return supervisor.run()
