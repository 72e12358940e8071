"""CQRS read models built from the Bot event stream (see projections.runner and views)."""

from projections.base import Projection
from projections.db import ReadModelDatabase
from projections.runner import (
    ProjectionRunner,
    UnknownProjection,
    default_projections,
    ensure_tables,
)

__all__ = [
    "Projection",
    "ProjectionRunner",
    "ReadModelDatabase",
    "UnknownProjection",
    "default_projections",
    "ensure_tables",
]
