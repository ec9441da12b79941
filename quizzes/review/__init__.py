"""The review queue (/review/): questions a learner missed, brought back by FSRS.

`queue` holds the scheduling and the rules, `views` the page, `urls` its routes.
The names other apps use (the navigation's due count, quizzes.taking's misses,
merging accounts) are importable from the package itself.
"""

from quizzes.review.queue import (
    Graded,
    choices_for,
    due_count,
    due_in_words,
    due_items,
    grade,
    next_due,
    owned_item,
    record_miss,
    review,
)

__all__ = [
    "Graded",
    "choices_for",
    "due_count",
    "due_in_words",
    "due_items",
    "grade",
    "next_due",
    "owned_item",
    "record_miss",
    "review",
]
