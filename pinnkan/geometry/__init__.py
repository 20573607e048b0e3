"""Domains: where the PDE lives, how to sample, mesh and evaluate on it."""

from pinnkan.geometry.ball import Ball
from pinnkan.geometry.csg import Difference, Intersection, SetOperation, Union
from pinnkan.geometry.cylinder import Cylinder
from pinnkan.geometry.domain import METHODS, Domain
from pinnkan.geometry.ellipse import Ellipse
from pinnkan.geometry.mesh_domain import MeshDomain
from pinnkan.geometry.polygon import Polygon
from pinnkan.geometry.shapes import Box, Disk, Interval, Rectangle
from pinnkan.geometry.sphere import Sphere

__all__ = [
    "Domain", "Interval", "Rectangle", "Box", "Ball", "Sphere", "Cylinder", "Disk", "Ellipse", "Polygon",
    "MeshDomain",
    "Union", "Difference", "Intersection", "SetOperation", "METHODS",
]
