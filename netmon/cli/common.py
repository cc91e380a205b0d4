"""What every command module shares: consoles, common options, config lookup and error handling.

Only light imports here (typer, rich.console): `netmon --help` and `--version` import this
module, and must not pull in the daemon, SQLAlchemy or aiohttp.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperCommand

from netmon.errors import InputError, NetmonError
from netmon.inventory.kinds import Level

if TYPE_CHECKING:
    from netmon.config import Config
    from netmon.inventory.store import Store

__all__ = [
    "CONFIG_SEARCH",
    "LEVEL_METAVAR",
    "Command",
    "ConfigOpt",
    "JsonOpt",
    "config_path",
    "duration_text",
    "err",
    "existing_files",
    "handled",
    "level_option",
    "load",
    "out",
    "parse_level",
    "plural",
    "print_json",
    "remember_global_config",
    "say_replaced",
    "store_of",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Where a config is looked for when neither --config nor $NETMON_CONFIG names one, in order.
CONFIG_SEARCH = (Path("netmon.yaml"), Path("/etc/netmon/netmon.yaml"))
#: A --config given before the subcommand; the root callback sets it (to None too) on every invocation.
_GLOBAL_CONFIG: ContextVar[Path | None] = ContextVar("netmon_global_config", default=None)

#: Piped output is not cut to 80 columns: tables stay whole for grep and less.
out = Console(soft_wrap=True, highlight=False, width=None if sys.stdout.isatty() else 250)
err = Console(stderr=True, soft_wrap=True, highlight=False)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE",
        help="Config file (YAML); also accepted before the command. "
        "Default: $NETMON_CONFIG, then ./netmon.yaml, then /etc/netmon/netmon.yaml.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


class Command(TyperCommand):
    """A typer command whose help names each argument by its value: `FILE...`, not `{FILE}...` and `<list[Path]>`.

    Every netmon command uses it (``cls=Command``); an argument without a ``metavar`` keeps typer's rendering.
    """

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """Return the usage line's pieces, arguments by their metavar (optional ones in brackets)."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument) and param.metavar:
                pieces.append(param.metavar if param.required else f"[{param.metavar}]")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        """Write the Arguments and Options sections, arguments by their metavar and help alone."""
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if isinstance(param, TyperArgument) and param.metavar:
                arguments.append((param.metavar, param.help or ""))
            elif isinstance(param, TyperArgument):
                arguments.append(record)
            else:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


#: `--level`'s metavar: the levels, as typer shows an enum's choices.
LEVEL_METAVAR = "<" + "|".join(level.value for level in Level) + ">"


def parse_level(text: str) -> Level:
    """Read `--level` as the inventory files and the API do, through `Level` itself: `ward` is commune.

    typer offered `Level` as a plain choice of its values, so the CLI refused the `ward` that the
    API (`Level(text)`) and the files accept. Raises typer.BadParameter (exit 2) for any other word.
    """
    try:
        return Level(text)
    except ValueError:
        choices = ", ".join(level.value for level in Level)
        raise typer.BadParameter(f"expected one of {choices} (ward is read as commune), not {text!r}") from None


def level_option(help_text: str) -> Any:
    """Return the `--level` option: read by `parse_level` (`ward` is commune), its choices as metavar."""
    return typer.Option(parser=parse_level, metavar=LEVEL_METAVAR, help=help_text)


def remember_global_config(path: Path | None) -> None:
    """Keep a --config given before the subcommand for the subcommand (root callback only)."""
    _GLOBAL_CONFIG.set(path)


def config_path(explicit: Path | None) -> Path:
    """Return the config file to use: --config after, then before the subcommand, $NETMON_CONFIG, the search path.

    Raises:
        InputError: no file was named and none of `CONFIG_SEARCH` exists (exit code 2); the
            message lists every place tried, and nothing is created.

    """
    if explicit is not None:
        return explicit
    if (before := _GLOBAL_CONFIG.get()) is not None:
        return before
    if os.environ.get("NETMON_CONFIG"):
        return Path(os.environ["NETMON_CONFIG"])
    for candidate in CONFIG_SEARCH:
        if candidate.is_file():
            return candidate
    tried = ", ".join(["--config", "$NETMON_CONFIG", *(str(p) if p.is_absolute() else f"./{p}" for p in CONFIG_SEARCH)])
    raise InputError(f"no config found (tried {tried}); give one, e.g. --config config/netmon.example.yaml")


def load(explicit: Path | None, *, service: bool = False) -> Config:
    """Find (see `config_path`), load and validate the config, and set up logging."""
    from netmon.config import load_config  # noqa: PLC0415 (lazy: keeps --help light)
    from netmon.logs import setup_logging  # noqa: PLC0415

    config = load_config(config_path(explicit))
    setup_logging(config.logging, service=service)
    return config


def handled(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn NetmonError into a message on stderr and its exit code (2 bad input, 1 runtime)."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except NetmonError as exc:
            err.print(f"netmon: {exc}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("netmon: interrupted", markup=False)
            raise typer.Exit(130) from None

    return wrapper


@contextmanager
def store_of(config: Config) -> Iterator[Store]:
    """Open the configured inventory store and close it afterwards."""
    from netmon.inventory.store import Store  # noqa: PLC0415 (lazy: SQLAlchemy)

    store = Store.open(config.database.url.reveal())
    try:
        yield store
    finally:
        store.close()


def existing_files(*paths: Path) -> frozenset[Path]:
    """Return which of *paths* are files now: call it before writing them, then `say_replaced`."""
    return frozenset(path for path in paths if path.is_file())


def say_replaced(written: Iterable[Path], existed: frozenset[Path]) -> None:
    """Say on stderr which *written* files replaced one that *existed* (`existing_files`).

    An export still replaces its output without asking (scripts rely on it), but never silently.
    """
    for path in written:
        if path in existed:
            err.print(f"note: replaced the existing file {path}", markup=False)


def print_json(data: Any) -> None:
    """Print *data* as indented JSON, with Vietnamese as UTF-8 rather than escapes."""
    out.out(json.dumps(data, ensure_ascii=False, indent=2), highlight=False)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """Return "1 sample", "2 samples", "0 samples" (an irregular plural through *nouns*)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def duration_text(seconds: float) -> str:
    """Return a duration as HH:MM:SS, with a day count in front past 24 hours ("1d 02:03:04")."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}" if days else f"{hours:02d}:{minutes:02d}:{secs:02d}"
