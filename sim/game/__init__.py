"""One played game: seats for people, the others on doctrine, rewinds, branches, saves.

:class:`~sim.game.game.Game` is what the terminal game and the browser seat
drive (docs/seats.md, *The Game API*). A game is its scenario, seed, seats
and the moves of its branches; everything else is replayed from those.
"""

from sim.game.game import Comparison, DayReport, Forecast, Game, HistoryRow

__all__ = ["Comparison", "DayReport", "Forecast", "Game", "HistoryRow"]
