"""The model of a law: its symbolic structure, its specification, the coordinates its parameters are sampled
in, and the one builder of its PyMC model.

- :mod:`~bayescale.model.structure`: pivots and level structure read from the formula (pure sympy);
- :mod:`~bayescale.model.spec`: :class:`ModelSpec`, the law with its likelihood, pooling and priors, validated;
- :mod:`~bayescale.model.coordinates`: one strategy per parametrization, for fitting and for new groups;
- :mod:`~bayescale.model.builder`: ``build_model`` (imports PyMC, so it is imported from there).
"""

from .spec import ModelSpec
from .structure import Level, find_level, find_pivots

__all__ = ["Level", "ModelSpec", "find_level", "find_pivots"]
