"""The notebook's slice explorer: one slice search per choice of features, depth and support.

Kept apart from :mod:`analysis.root_cause` (whose search it runs) and :mod:`analysis._root_cause_figures`
(whose figure it shows) so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from analysis._root_cause_figures import slice_result_figure
from analysis.root_cause import explore_slices

__all__ = ["SLICE_COLUMNS", "SliceExplorer"]


SLICE_COLUMNS = ("description", "n", "failures", "error_rate", "lift", "excess_share", "q_value")
"""The columns of a slice search the notebook's explorer shows."""


@dataclass
class SliceExplorer:
    """The notebook's slice explorer: ``explorer.view(features, max_level, min_support)`` reruns the search.

    A bound method with plain keyword parameters, so ``ipywidgets.interactive(explorer.view, ...)`` can
    bind its controls to it; it shows the slices table and figure through ``show`` (the notebook passes
    ``IPython.display.display``: this package does not import IPython).

    Examples
    --------
    >>> import inspect
    >>> explorer = SliceExplorer(log=None, card=None, windows=None, as_of=None)
    >>> list(inspect.signature(explorer.view).parameters)
    ['features', 'max_level', 'min_support']
    """

    log: Any
    card: Any
    windows: Any
    as_of: Any
    signal: Any = None
    show: Callable[[Any], object] = print

    def view(self, features: Sequence[str] = (), max_level: int = 3, min_support: int = 0) -> None:
        """Search with these features (all when empty), depth and support (0: the default); show it."""
        found = explore_slices(
            self.log,
            self.card,
            self.windows,
            as_of=self.as_of,
            signal=self.signal,
            features=list(features) or None,
            max_level=max_level,
            min_support=min_support or None,
        )
        if found.limitation:
            self.show(found.limitation)
        self.show(found.slices[list(SLICE_COLUMNS)])
        self.show(slice_result_figure(found))
