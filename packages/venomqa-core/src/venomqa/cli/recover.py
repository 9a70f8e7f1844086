"""``venomqa recover``: repair what an earlier run left in the stores when it was killed
(SIGKILL, a power cut, a crashed CI runner) before its clean-up.

Every store repairs an earlier run's leftovers when it is set up (undo logs replayed, triggers
and schemas removed, configuration restored, object versions deleted) and says so with a
``LeftoversRepaired`` warning. This command does exactly that for every store in venomqa.yaml,
without the API and without exploring: set up (repairing), tear down (removing what the setup
installed), remove the copies of the store that parallel workers of a killed run left
(``SupportsClone.drop_leftover_clones``), and report per store what was repaired or that
nothing was left. Exit 0 when every
store is clean now, 3 when one could not be repaired (the message says which and why).
"""

from __future__ import annotations

import warnings

import click

from venomqa.cli.catalog import short_help
from venomqa.cli.options import config_option
from venomqa.config import describe_store, load_config
from venomqa.errors import EXIT_INFRASTRUCTURE, LeftoversRepaired, StoreError
from venomqa.interrupts import INTERRUPTS
from venomqa.ports.store import StorePort, SupportsClone


@click.command(short_help=short_help("recover"))
@config_option("The configuration file naming the stores.")
@click.pass_context
def recover(ctx: click.Context, config_path: str) -> None:
    """Repair what an earlier, killed run left in the stores of venomqa.yaml."""
    config = load_config(config_path)
    if not config.stores:
        click.echo(f"{config.path} configures no stores: nothing to recover.")
        return

    from venomqa.config import build_stores
    from venomqa.plugins import configure

    configure(config)
    stores = build_stores(config)
    failed = 0
    for name, store in stores.items():
        where = f"store {name!r} ({describe_store(config.stores[name])})"
        try:
            repaired = _recover(store)
        except Exception as exc:  # a plugin's adapter may raise anything: say which store
            failed += 1
            why = exc.detail if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
            click.echo(f"{where}: could not be recovered: {why}", err=True)
            continue
        if not repaired:
            click.echo(f"{where}: nothing left over")
        for line in repaired:
            click.echo(f"{where}: repaired: {line}")
    if failed:
        ctx.exit(EXIT_INFRASTRUCTURE)


def _recover(store: StorePort) -> list[str]:
    """Set ``store`` up and tear it down, with stop signals held; what its setup repaired."""
    with INTERRUPTS.handled(), INTERRUPTS.critical(), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", LeftoversRepaired)
        store.setup()
        store.teardown()
    repaired = [str(w.message) for w in seen if issubclass(w.category, LeftoversRepaired)]
    if isinstance(store, SupportsClone):
        with INTERRUPTS.handled(), INTERRUPTS.critical():
            repaired.extend(
                f"removed the worker copy {line}" for line in store.drop_leftover_clones()
            )
    for other in seen:  # anything else the store warned about is still shown
        if not issubclass(other.category, LeftoversRepaired):
            warnings.warn_explicit(
                other.message, other.category, other.filename, other.lineno, source=other.source
            )
    return repaired
