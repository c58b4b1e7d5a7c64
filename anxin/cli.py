"""The ``anxin`` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from anxin import __version__
from anxin.config import (
    CloudConfig,
    ConfigError,
    DashboardConfig,
    DemoConfig,
    EdgeConfig,
    load_config,
)
from anxin.logs import configure_logging
from anxin.protocol import COMMAND_ACTIONS


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coroutine)


def cmd_demo(args: argparse.Namespace) -> None:
    from anxin.demo.stack import run_demo

    overrides = {
        key: value
        for key, value in {
            "homes": args.homes,
            "api_port": args.api_port,
            "dashboard_port": args.console_port,
            "broker_port": args.broker_port,
            "data_dir": args.data_dir,
        }.items()
        if value is not None
    }
    config = load_config(DemoConfig, args.config, **overrides)
    _run(run_demo(config))


def cmd_cloud(args: argparse.Namespace) -> None:
    from anxin.cloud import service

    config = load_config(CloudConfig, args.config)
    if args.process == "ingest":
        _run(service.run_ingest(config))
    else:
        _run(service.run_api(config))


def cmd_admin_init_db(args: argparse.Namespace) -> None:
    from sqlalchemy.engine import make_url

    from anxin.cloud.database.schema import SchemaError, current_revision
    from anxin.cloud.stores import open_stores

    config = load_config(CloudConfig, args.config)
    try:
        stores = open_stores(config, create_schema=True)
    except SchemaError as exc:
        raise ConfigError(f"registry schema: {exc}") from None
    revision = current_revision(stores.registry.engine)
    if args.demo_data and stores.registry.has_people():
        print("the registry already holds people; demo data not added")
    elif args.demo_data:
        from anxin.cloud.registry.field_crypto import FieldCipher
        from anxin.demo.homes import LOGINS, demo_homes, seed_registry

        cipher = FieldCipher.from_settings(config.registry)
        seed_registry(stores.registry, demo_homes(args.demo_data), cipher=cipher)
        print("demo logins: " + ", ".join(f"{login.username}/{login.password}" for login in LOGINS))
    stores.close()
    where = make_url(config.registry.url).render_as_string(hide_password=True)
    print(f"registry ready at {where} (schema revision {revision})")


def cmd_admin_migrate(args: argparse.Namespace) -> None:
    from anxin.cloud.database import schema
    from anxin.cloud.database.engines import make_engine

    config = load_config(CloudConfig, args.config)
    engine = make_engine(config.registry.url)
    try:
        before = schema.current_revision(engine)
        after = before
        if not args.current:
            after = schema.migrate(engine, args.to, allow_downgrade=args.allow_data_loss)
    except schema.SchemaError as exc:
        raise ConfigError(f"registry schema: {exc}") from None
    finally:
        engine.dispose()
    newest = schema.head_revision()
    if args.current:
        print(f"schema revision {before or 'none'} (newest {newest})")
    elif before == after:
        print(f"schema revision {after or 'none'}: nothing to do")
    else:
        print(f"schema revision {before or 'none'} -> {after or 'none'}")


def cmd_admin_command(args: argparse.Namespace) -> None:
    import json

    from anxin.cloud.gateways.commands import NoAnswer, new_command, send_and_wait

    try:
        command_args = json.loads(args.args)
    except ValueError as exc:
        raise ConfigError(f"--args is not JSON: {exc}") from None
    if not isinstance(command_args, dict):
        raise ConfigError("--args must be a JSON object")
    config = load_config(CloudConfig, args.config)
    command = new_command(args.action, command_args, args.expires_in)
    try:
        result = send_and_wait(
            config.mqtt, config.ingest.topic_root, args.site, args.gateway, command, args.wait
        )
    except NoAnswer as exc:
        print(f"no answer: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    print(result.model_dump_json(by_alias=True, exclude_none=True))
    if result.status != "done":
        raise SystemExit(4)


def cmd_admin_enrol_gateway(args: argparse.Namespace) -> None:
    from anxin.cloud.gateways.enrolment import Enrolment
    from anxin.cloud.stores import open_stores

    config = load_config(CloudConfig, args.config)
    stores = open_stores(config, create_schema=True)
    try:
        issued = Enrolment(stores.registry, config).issue(args.site, args.gateway, args.valid_hours)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    finally:
        stores.close()
    print(issued.token)
    print(
        f"\nOne-time enrolment token for gateway {issued.gateway_id} of site {issued.site_id},"
        f" valid until {issued.expires_at}; on the gateway run:\n"
        f"  anxin edge provision --token <the token above> --config /etc/anxin/edge.toml\n"
        f"It will ask {issued.api_url} (pass --cloud URL if the gateway reaches it elsewhere).",
        file=sys.stderr,
    )


def cmd_admin_audit_verify(args: argparse.Namespace) -> None:
    from anxin.cloud.audit.verify import verify_audit_log

    status = verify_audit_log(load_config(CloudConfig, args.config))
    if status:
        raise SystemExit(status)


def cmd_admin_sync_broker(args: argparse.Namespace) -> None:
    from anxin.cloud.gateways.broker_auth import BrokerAuthError
    from anxin.cloud.gateways.enrolment import Enrolment
    from anxin.cloud.stores import open_stores

    config = load_config(CloudConfig, args.config)
    if config.broker.password_file is None:
        raise ConfigError("[broker] password_file is not set: the broker's files are not managed")
    stores = open_stores(config, create_schema=True)
    try:
        count = Enrolment(stores.registry, config).sync_broker_files(reload=not args.no_reload)
    except BrokerAuthError as exc:
        raise ConfigError(f"broker files written, but: {exc}") from None
    finally:
        stores.close()
    print(f"{config.broker.password_file} written with {count} gateways")


def cmd_dashboard(args: argparse.Namespace) -> None:
    from anxin.dashboard.server import run

    run(load_config(DashboardConfig, args.config))


def cmd_edge(args: argparse.Namespace) -> None:
    from anxin.edge.service import run_gateway

    if args.config is None:
        raise ConfigError("edge needs --config FILE (to write one: anxin edge provision --help)")
    _run(
        run_gateway(
            load_config(EdgeConfig, args.config), simulate=args.simulate, config_file=args.config
        )
    )


def cmd_edge_provision(args: argparse.Namespace) -> None:
    from anxin.edge.provision import provision

    done = provision(args.token, args.config, args.cloud, args.force)
    ca = f" and {done.ca_path}" if done.ca_path else ""
    print(f"gateway {done.gateway_id} of site {done.site_id}: wrote {done.config_path}{ca}")


def cmd_sim(args: argparse.Namespace) -> None:
    from anxin.firmware_sim.scenario_file import ScenarioError, load_scenario
    from anxin.sim import run_scenario_cli

    try:
        load_scenario(args.scenario)  # report a bad file before anything starts
    except ScenarioError as exc:
        raise ConfigError(str(exc)) from None
    config = load_config(EdgeConfig, args.config) if args.config else None
    _run(
        run_scenario_cli(
            args.scenario,
            args.speed,
            args.seed,
            config,
            args.mqtt_host,
            args.mqtt_port,
            args.print,
        )
    )


def cmd_bench_sim(args: argparse.Namespace) -> None:
    from anxin.bench_sim import run_sim_bench

    run_sim_bench(args.homes, args.seconds)


def cmd_bench_edge(args: argparse.Namespace) -> None:
    from anxin.bench_edge import run_edge_bench

    run_edge_bench(args.devices, args.seconds, args.drain, (args.mqtt_host, args.mqtt_port))


def cmd_bench_analytics(args: argparse.Namespace) -> None:
    from anxin.bench_analytics import run_analytics_bench

    run_analytics_bench(args.only)


def cmd_bench_ingest(args: argparse.Namespace) -> None:
    from anxin.bench_ingest import run_ingest_bench

    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    if not counts or min(counts) < 1:
        raise ConfigError(f"--workers must list worker counts such as 1,2,4, got {args.workers!r}")
    run_ingest_bench(
        counts, args.messages, args.gateways, args.influx_url, args.mqtt_host, args.mqtt_port
    )


def cmd_bench_api(args: argparse.Namespace) -> None:
    from anxin.bench_api import run_api_bench

    run_api_bench(
        args.persons, args.clients, args.bad_clients, args.seconds, args.postgres, args.hash_threads
    )


def cmd_bench_alert(args: argparse.Namespace) -> None:
    from anxin.bench import run_alert_bench

    run_alert_bench(args.homes, args.scenario_start, args.repeat, args.console)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anxin", description="Anxin (安心): watching over elderly people at home"
    )
    parser.add_argument("--version", action="version", version=f"anxin {__version__}")
    parser.add_argument(
        "--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default INFO)"
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="text lines, or one JSON object per line for a log collector",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the whole platform with simulated homes")
    demo.add_argument("--config", type=Path, help="demo TOML file (optional)")
    demo.add_argument("--homes", type=int, help="number of simulated homes (default 5)")
    demo.add_argument("--api-port", type=int)
    demo.add_argument("--console-port", type=int)
    demo.add_argument("--broker-port", type=int)
    demo.add_argument("--data-dir", type=Path)
    demo.set_defaults(func=cmd_demo)

    cloud = commands.add_parser("cloud", help="cloud processes")
    cloud.add_argument("process", choices=["ingest", "api"])
    cloud.add_argument("--config", type=Path, help="cloud TOML file")
    cloud.set_defaults(func=cmd_cloud)

    admin = commands.add_parser("admin", help="administration")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    init_db = admin_commands.add_parser(
        "init-db", help="create or upgrade the registry and time-series tables"
    )
    init_db.add_argument("--config", type=Path)
    init_db.add_argument(
        "--demo-data", type=int, metavar="HOMES", help="also enrol this many demo homes"
    )
    init_db.set_defaults(func=cmd_admin_init_db)
    migrate = admin_commands.add_parser(
        "migrate", help="move the registry to a schema revision (default: the newest)"
    )
    migrate.add_argument("--config", type=Path)
    migrate_what = migrate.add_mutually_exclusive_group()
    migrate_what.add_argument(
        "--to", default="head", metavar="REV", help='a revision id, "head" or "base"'
    )
    migrate_what.add_argument(
        "--current", action="store_true", help="only print the revision the registry is at"
    )
    migrate.add_argument(
        "--allow-data-loss",
        action="store_true",
        help="permit going down to an older revision (drops its newer tables and columns)",
    )
    migrate.set_defaults(func=cmd_admin_migrate)
    enrol = admin_commands.add_parser(
        "enrol-gateway", help="issue a one-time token that provisions a gateway"
    )
    enrol.add_argument("--config", type=Path, help="cloud TOML file")
    enrol.add_argument("--site", required=True, help="site (home) id")
    enrol.add_argument("--gateway", required=True, help="gateway id (its broker user name)")
    enrol.add_argument(
        "--valid-hours", type=float, help="how long the token may be used (default 24)"
    )
    enrol.set_defaults(func=cmd_admin_enrol_gateway)
    sync_broker = admin_commands.add_parser(
        "sync-broker", help="rewrite the broker's password and ACL files and reload it"
    )
    sync_broker.add_argument("--config", type=Path, help="cloud TOML file")
    sync_broker.add_argument(
        "--no-reload", action="store_true", help="only write the files (broker not running yet)"
    )
    sync_broker.set_defaults(func=cmd_admin_sync_broker)
    audit = admin_commands.add_parser("audit", help="the hash-chained audit log")
    audit_actions = audit.add_subparsers(dest="audit_action", required=True, metavar="ACTION")
    audit_verify = audit_actions.add_parser(
        "verify",
        help="check every entry's hash, the chain and the signed checkpoints of it kept "
        "outside the database ([audit] checkpoint_file); exit 1 if anything was altered",
    )
    audit_verify.add_argument("--config", type=Path, help="cloud TOML file")
    audit_verify.set_defaults(func=cmd_admin_audit_verify)
    command = admin_commands.add_parser(
        "command", help="send a command to a gateway and print its result"
    )
    command.add_argument("--config", type=Path)
    command.add_argument("--site", required=True)
    command.add_argument("--gateway", required=True)
    command.add_argument("action", choices=COMMAND_ACTIONS)
    command.add_argument("--args", default="{}", help="the action's arguments as JSON")
    command.add_argument("--expires-in", type=float, default=3600, metavar="SECONDS")
    command.add_argument("--wait", type=float, default=30, metavar="SECONDS")
    command.set_defaults(func=cmd_admin_command)

    dashboard = commands.add_parser("dashboard", help="the Dash console")
    dashboard.add_argument("--config", type=Path)
    dashboard.set_defaults(func=cmd_dashboard)

    edge = commands.add_parser("edge", help="run an edge gateway")
    edge.add_argument("--config", type=Path, help="gateway TOML file")
    edge.add_argument(
        "--simulate",
        action="store_true",
        help="use simulated devices on a virtual radio instead of BlueZ",
    )
    edge.set_defaults(func=cmd_edge)
    edge_actions = edge.add_subparsers(dest="edge_action", metavar="[provision]")
    provision = edge_actions.add_parser(
        "provision", help="write this gateway's config from an enrolment token"
    )
    provision.add_argument("--token", required=True, help="the token from enrol-gateway")
    provision.add_argument("--config", type=Path, required=True, help="gateway TOML to write")
    provision.add_argument("--cloud", metavar="URL", help="API URL, instead of the token's")
    provision.add_argument("--force", action="store_true", help="replace an existing config")
    provision.set_defaults(func=cmd_edge_provision)

    sim = commands.add_parser("sim", help="play a scenario file on a simulated home")
    sim.add_argument("--scenario", type=Path, required=True, help="scenario TOML file")
    sim.add_argument("--speed", type=float, help="time acceleration (default: the file's)")
    sim.add_argument("--seed", type=int, help="random seed (default: the file's)")
    sim.add_argument("--config", type=Path, help="gateway TOML file: publish to its broker")
    sim.add_argument("--mqtt-host", help="publish to this broker with a default gateway config")
    sim.add_argument("--mqtt-port", type=int, default=1883)
    sim.add_argument("--print", action="store_true", help="print decoded readings")
    sim.set_defaults(func=cmd_sim)
    bench = commands.add_parser("bench", help="measurements that print their figures")
    bench_commands = bench.add_subparsers(dest="bench_command", required=True, metavar="BENCH")
    alert = bench_commands.add_parser(
        "alert", help="gateway raise → cloud store → API, on the demo stack"
    )
    alert.add_argument("--homes", type=int, default=3)
    alert.add_argument("--scenario-start", type=float, default=5.0, metavar="SECONDS")
    alert.add_argument("--repeat", type=int, default=1)
    alert.add_argument(
        "--console", action="store_true", help="also time a worker's console in headless Chromium"
    )
    alert.set_defaults(func=cmd_bench_alert)
    bench_sim = bench_commands.add_parser(
        "sim", help="simulated homes on the virtual radio: notifications/s, CPU share, RSS"
    )
    bench_sim.add_argument("--homes", type=int, default=20)
    bench_sim.add_argument("--seconds", type=float, default=30.0)
    bench_sim.set_defaults(func=cmd_bench_sim)
    bench_edge = bench_commands.add_parser(
        "edge",
        help="one gateway, many devices, a real broker: CPU, RSS, delay to ack, drain rate",
    )
    bench_edge.add_argument("--devices", type=int, default=50)
    bench_edge.add_argument("--seconds", type=float, default=30.0)
    bench_edge.add_argument("--drain", type=int, default=20_000, metavar="MESSAGES")
    bench_edge.add_argument("--mqtt-host", default="127.0.0.1")
    bench_edge.add_argument("--mqtt-port", type=int, default=1883)
    bench_edge.set_defaults(func=cmd_bench_edge)
    bench_analytics = bench_commands.add_parser(
        "analytics",
        help="detectors' validation on the public recordings, and their cost per window",
    )
    bench_analytics.add_argument(
        "--only",
        action="append",
        choices=["af", "falls", "routine", "indices"],
        help="run only this part (repeatable)",
    )
    bench_analytics.set_defaults(func=cmd_bench_analytics)
    bench_ingest = bench_commands.add_parser(
        "ingest",
        help="gateways → broker → N ingest worker processes → InfluxDB: obs/s and delay",
    )
    bench_ingest.add_argument("--workers", default="1,2,4", help="worker counts to run")
    bench_ingest.add_argument("--messages", type=int, default=4000, help="per run, 50 obs each")
    bench_ingest.add_argument("--gateways", type=int, default=8)
    bench_ingest.add_argument("--influx-url", help="a running InfluxDB (default: start one)")
    bench_ingest.add_argument("--mqtt-host", default="127.0.0.1")
    bench_ingest.add_argument("--mqtt-port", type=int, default=1883)
    bench_ingest.set_defaults(func=cmd_bench_ingest)
    bench_api = bench_commands.add_parser(
        "api",
        help="GET /alerts and /persons: req/s and p99, quiet and under a wrong-password flood",
    )
    bench_api.add_argument("--persons", type=int, default=300, help="each with an open alert")
    bench_api.add_argument("--clients", type=int, default=20)
    bench_api.add_argument("--bad-clients", type=int, default=10, help="posting wrong passwords")
    bench_api.add_argument("--seconds", type=float, default=10.0, help="per run")
    bench_api.add_argument(
        "--postgres", metavar="URL", help="registry in a throwaway schema of this PostgreSQL"
    )
    bench_api.add_argument(
        "--hash-threads", type=int, help="api.login_hash_threads (default: the API's default)"
    )
    bench_api.set_defaults(func=cmd_bench_api)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    try:
        handler: Callable[[argparse.Namespace], None] = args.func
        handler(args)
    except ConfigError as exc:
        print(f"anxin: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"anxin: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
