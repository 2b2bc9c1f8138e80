"""``hub``: one command line for every part of the HEROES Hub.

Subcommands live in ``hub.commands.<module>`` and are imported only when used, so
``hub --help`` stays fast and a broken part never breaks the others.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

# name -> (module in hub.commands, attribute, one-line help shown by `hub --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "up": ("up", "up", "Start the whole hub on this machine (broker, registry, simulated partners, connectors, streams, ledger, web)."),
    "broker": ("broker", "broker", "Run the embedded Kafka broker (Apache Kafka, or Tansu where no Java is found)."),
    "registry": ("registry", "registry", "Run the Confluent-compatible schema registry."),
    "schemas": ("schemas_cmd", "schemas", "List, check and register the Avro schemas of the hub topics."),
    "topics": ("topics", "topics", "List the topic catalogue, or create its topics on a broker."),
    "convert-grade": ("convert", "convert_grade", "Convert one grade between two partners' grading scales, with the reason."),
    "decide": ("decide", "decide", "Decide credit recognition for hub events read from a JSON-lines file."),
    "connector": ("connector", "connector", "Check, dry-run, run and replay a partner's SIS connector."),
    "simulate": ("simulate", "simulate", "Generate a reproducible simulated alliance and its expected outcomes."),
    "streams": ("streams", "streams", "Run the stream processors (normalise, recognise, monitor)."),
    "ledger": ("ledger", "ledger", "Registrars' ledger: list, show, export and decide recognition items."),
    "web": ("web", "web", "Run the registrar inbox and mobility monitor web app."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (mod, _, _) in COMMANDS.items() if _available(mod)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        mod, attr, _ = COMMANDS[cmd_name]
        if not _available(mod):
            return None
        return getattr(importlib.import_module(f"hub.commands.{mod}"), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _available(module: str) -> bool:
    return importlib.util.find_spec(f"hub.commands.{module}") is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="heroes-hub", prog_name="hub")
def main() -> None:
    """HEROES Hub: credit recognition and mobility events between the nine HEROES partners.

    \b
    Start everything on one machine:   hub up
    Convert a grade:                   hub convert-grade --from ucn.dk --to fontys.nl --grade 02
    Decide from events:                hub decide events.jsonl --explain

    Settings come from HUB_* environment variables and an optional ./hub.toml;
    every subcommand explains itself with --help.
    """
