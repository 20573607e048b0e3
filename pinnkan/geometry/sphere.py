"""``Sphere``: the solid ball {x : |x - c| <= R} in any dimension d >= 1, named by its boundary.

The domain is the ball (the region where a PDE holds); its boundary is the sphere |x - c| = R,
where the conditions act, with outward normals (x - c) / R. Points and normals are exactly
those of :class:`~pinnkan.geometry.ball.Ball` with the same centre and radius. Problems posed on
the sphere's surface itself (surface derivatives) are not domains of pinnkan.
"""

from __future__ import annotations

from pinnkan.geometry.ball import Ball


class Sphere(Ball):
    """Closed ball of centre ``center`` (d numbers) and radius ``radius`` > 0, bounded by the
    sphere |x - c| = R: Sphere((0, 0, 0), 1) holds the same points as Ball((0, 0, 0), 1)."""

    _name = "Sphere"
