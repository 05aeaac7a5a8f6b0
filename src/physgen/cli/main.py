"""Entry point: registers the sub-commands and maps errors to exit codes.

Exit codes: 0 success, 2 bad usage or bad input (one line on stderr), 1 anything else.
"""

from __future__ import annotations

import importlib
import sys

import click

from physgen.errors import PhysgenError

# sub-command name -> module in physgen.cli defining a click command called ``command``
SUBCOMMANDS = {
    "ising": "ising",
    "train": "train",
    "sample": "sample",
    "evaluate": "evaluate",
    "demo": "demo",
}


class LazyGroup(click.Group):
    """Imports a sub-command's module only when it runs (PyTorch is slow to import)."""

    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        try:
            module = importlib.import_module(f"physgen.cli.{SUBCOMMANDS[name]}")
        except ModuleNotFoundError as exc:  # a sub-command not built yet
            if exc.name == f"physgen.cli.{SUBCOMMANDS[name]}":
                return None
            raise
        return module.command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="physgen")
def cli():
    """physgen: learn, sample and judge distributions of physical systems."""


def main(argv=None) -> int:
    """Run the command line; returns (and exits with) the exit code."""
    try:
        cli.main(args=argv, prog_name="physgen", standalone_mode=False)
        code = 0
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:  # usage errors: click already says exit code 2
        exc.show()
        code = exc.exit_code
    except click.exceptions.Abort:
        click.echo("physgen: aborted", err=True)
        code = 1
    except (PhysgenError, ValueError, FileNotFoundError, IsADirectoryError,
            NotADirectoryError, PermissionError) as exc:
        click.echo(f"physgen: error: {exc}", err=True)
        code = 2
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
