"""Beyond pay: KPIs, forecasts, coaching and planning.

Everything here reads the same plans and data as a run, and computes
with Decimal; only a forecast's simulation draws with floats, and its
percentiles come back as Decimals. :func:`load_workspace` gathers what
every insight needs from a project file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import InvalidPlanError
from engine.evaluate import Inputs
from engine.loader import Catalog
from engine.project import Project

logger = logging.getLogger(__name__)


@dataclass
class Workspace:
    """A project's plans, data and metrics, loaded once."""

    project: Project
    catalog: Catalog
    inputs: Inputs
    metrics: dict[str, Any]


def load_workspace(path: Path, *, snapshots: bool = True) -> Workspace:
    """Load the project at ``path`` with its plans and typed data.

    Raises :class:`InvalidPlanError` when the plans are invalid, and the
    data errors of :func:`engine.project.read_inputs`.
    """
    from engine.loader import load_catalog
    from engine.plugins import get_plugin_manager, metrics
    from engine.project import load_project, read_inputs

    project = load_project(path)
    pm = get_plugin_manager()
    known = metrics(pm)
    catalog = load_catalog(
        project.plans, deal_fields=project.deal_columns, metrics=set(known)
    )
    if catalog.errors:
        raise InvalidPlanError(catalog.findings)
    inputs, _ = read_inputs(
        project, pm, catalog.deal_fields, snapshots=snapshots
    )
    logger.debug("Loaded %d deals and %d snapshots from %s",
                 len(inputs.deals), len(inputs.snapshots), path)
    return Workspace(project, catalog, inputs, known)
