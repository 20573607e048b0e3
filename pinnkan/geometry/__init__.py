"""Domains: where the PDE lives, how to sample, mesh and evaluate on it."""

from pinnkan.geometry.domain import METHODS, Domain
from pinnkan.geometry.shapes import Box, Disk, Interval, Rectangle

__all__ = ["Domain", "Interval", "Rectangle", "Box", "Disk", "METHODS"]
