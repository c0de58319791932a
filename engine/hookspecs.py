"""The hooks through which plugins extend Attain.

A plugin is a module or object whose functions carry the ``hookimpl``
marker and are named after one of the hooks below::

    from engine.hookspecs import hookimpl

    @hookimpl
    def attain_register_metrics():
        return [my_metric]

Attain's own connectors, output formats and metrics are plugins too,
registered through the same manager as third-party ones. Third-party
plugins are found through the ``attain`` entry point group.

Every hook here returns things to register. None of them is
``firstresult``: the results of all plugins are collected, and a
plugin that has nothing to add returns ``None``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from engine.plugins import Connector, Metric, OutputFormat

PROJECT_NAME = "attain"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# ---------------------------------------------------------------------------
# Reading input data
# ---------------------------------------------------------------------------


@hookspec
def attain_register_connectors() -> list[Connector] | None:
    """Return connectors that open input tables (deals, roster, quotas).

    A project file names a connector by its ``name``; two plugins may not
    register the same name. Return ``None`` to register nothing. The
    lists of all plugins are collected.

    Since 0.1.
    """


# ---------------------------------------------------------------------------
# Writing results
# ---------------------------------------------------------------------------


@hookspec
def attain_register_output_formats() -> list[OutputFormat] | None:
    """Return output formats for payout lines and statements.

    A format is chosen by its ``name``; two plugins may not register the
    same name. Return ``None`` to register nothing. The lists of all
    plugins are collected.

    Since 0.1.
    """


# ---------------------------------------------------------------------------
# Measures
# ---------------------------------------------------------------------------


@hookspec
def attain_register_metrics() -> list[Metric] | None:
    """Return metrics that plans may use as measures.

    A metric is declarative: aggregates over the credited deals of a
    payee and period, combined by a formula, all written in the plan
    expression language. Two plugins may not register the same name.
    Return ``None`` to register nothing. The lists of all plugins are
    collected.

    Since 0.1.
    """


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


@hookspec
def attain_register_commands() -> list[click.Command] | None:
    """Return click commands to add to the ``attain`` command line.

    Each command becomes a sub-command under its own name; two plugins
    may not register the same name. Return ``None`` to register nothing.
    The lists of all plugins are collected.

    Since 0.1.
    """
