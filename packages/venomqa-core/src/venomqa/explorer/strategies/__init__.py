"""The built-in search strategies: ``bfs`` (default), ``dfs`` and ``random``.

Each lives in a module of its own and implements ``venomqa.explorer.search.Strategy``; plugins
add more through the ``venomqa_register_strategies`` hook.
"""

from venomqa.explorer.strategies.bfs import BreadthFirst
from venomqa.explorer.strategies.dfs import DepthFirst
from venomqa.explorer.strategies.random_walk import RandomWalk

BUILTIN_STRATEGIES = (BreadthFirst, DepthFirst, RandomWalk)

__all__ = ["BUILTIN_STRATEGIES", "BreadthFirst", "DepthFirst", "RandomWalk"]
