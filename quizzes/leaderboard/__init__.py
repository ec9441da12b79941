"""The leaderboard (/leaderboard/): weekly and all-time boards in Redis sorted sets.

- `points`: the points, from the database (the truth), and the boards' keys;
- `boards`: awarding, refreshing, rebuilding and reading the boards in Redis;
- `nicknames`: joining and leaving under a nickname unique in normalised form;
- `forms`, `views`, `urls`: the page.

The names other modules use are importable from the package itself.
"""

from quizzes.leaderboard.boards import (
    BUILT_KEY,
    LOCK_KEY,
    Entry,
    Rebuilt,
    Standing,
    Standings,
    award,
    rank,
    rebuild,
    rebuild_if_missing,
    refresh_learner,
    standings,
    top,
)
from quizzes.leaderboard.nicknames import NicknameTaken, join, leave, nickname_key
from quizzes.leaderboard.points import (
    ALL_KEY,
    BOARDS,
    Board,
    Points,
    board_key,
    points_from_db,
    week_bounds,
    week_label,
)

__all__ = [
    "ALL_KEY",
    "BOARDS",
    "BUILT_KEY",
    "LOCK_KEY",
    "Board",
    "Entry",
    "NicknameTaken",
    "Points",
    "Rebuilt",
    "Standing",
    "Standings",
    "award",
    "board_key",
    "join",
    "leave",
    "nickname_key",
    "points_from_db",
    "rank",
    "rebuild",
    "rebuild_if_missing",
    "refresh_learner",
    "standings",
    "top",
    "week_bounds",
    "week_label",
]
