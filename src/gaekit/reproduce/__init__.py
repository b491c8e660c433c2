"""Reproduction: each model checked against the number its original paper published (``gaekit reproduce``).

A :class:`Recipe` (shipped as JSON in ``gaekit/reproduce/recipes/``) is a row: the paper's model config and
networks, data, schedule and measurement, with the reference value, its tolerance and source.
:func:`run_recipe` trains and measures it (resumable) and writes ``result.json`` and a Markdown row;
:func:`write_report` gathers rows into one table.
"""

from gaekit.reproduce.recipe import Recipe, RecipeResult, get_recipe, load_recipes
from gaekit.reproduce.report import write_report
from gaekit.reproduce.runner import run_recipe

__all__ = ["Recipe", "RecipeResult", "get_recipe", "load_recipes", "run_recipe", "write_report"]
