"""Reference solutions of time-dependent benchmark problems that have no closed form.

A problem's ``exact`` entry may be a Python callable ``f(x, t) -> ndarray`` instead of a sympy
expression; these are such callables, accurate far beyond the error of a trained network, so
that the error metrics of the shipped problems mean what they say:

- :func:`burgers`: viscous Burgers, u(x, 0) = -sin(pi x), exact by the Cole-Hopf formula with
  Gauss-Hermite quadrature (accurate to rounding);
- :func:`allen_cahn`: Allen-Cahn, u(x, 0) = x^2 cos(pi x), periodic, by a Fourier
  pseudo-spectral / ETDRK4 solve stored on a grid and interpolated by bicubic splines
  (error about 1e-5 at early times, where the corner of the periodic initial data at
  x = +-1 is barely diffused, 2e-6 for t >= 0.1, 2e-8 for t >= 0.5; see the module);
- :func:`kuramoto_sivashinsky`: Kuramoto-Sivashinsky (jaxpi's setup, t in [0, 0.5]), Fourier
  pseudo-spectral / ETDRK4 (:mod:`pinnkan.reference.spectral`), error about 1e-7;
- :func:`gray_scott`: a periodic Gray-Scott system, the same method, a pair (u, v) of
  callables, error about 1e-10.

:mod:`pinnkan.reference.ghia` holds data rather than a callable: the centre-line velocities of
the lid-driven cavity (Ghia, Ghia & Shin 1982) at Re = 100 and 1000.

Each takes one float64 array per coordinate, (x, t), all of shape (N,), and returns (N,).
"""

from pinnkan.reference.allen_cahn import allen_cahn
from pinnkan.reference.burgers import burgers
from pinnkan.reference.gray_scott import gray_scott
from pinnkan.reference.kuramoto import kuramoto_sivashinsky

__all__ = ["allen_cahn", "burgers", "gray_scott", "kuramoto_sivashinsky"]
