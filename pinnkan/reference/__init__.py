"""Reference solutions of time-dependent benchmark problems that have no closed form.

A problem's ``exact`` entry may be a Python callable ``f(x, t) -> ndarray`` instead of a sympy
expression; these are such callables, accurate far beyond the error of a trained network, so
that the error metrics of the shipped problems mean what they say:

- :func:`burgers`: viscous Burgers, u(x, 0) = -sin(pi x), exact by the Cole-Hopf formula with
  Gauss-Hermite quadrature (accurate to rounding);
- :func:`allen_cahn`: Allen-Cahn, u(x, 0) = x^2 cos(pi x), periodic, by a Fourier
  pseudo-spectral / ETDRK4 solve stored on a grid and interpolated by bicubic splines
  (error about 1e-5 at early times, where the corner of the periodic initial data at
  x = +-1 is barely diffused, 2e-6 for t >= 0.1, 2e-8 for t >= 0.5; see the module).

Each takes one float64 array per coordinate, (x, t), all of shape (N,), and returns (N,).
"""

from pinnkan.reference.allen_cahn import allen_cahn
from pinnkan.reference.burgers import burgers

__all__ = ["allen_cahn", "burgers"]
