"""The quizzes admin, a product surface for instructors.

Importing the package registers every model admin: `questions` (the answer
key and command checks), `quiz` (rules, statistics, regrading, duplicating,
GIFT export), `gift_import` (the GIFT upload with its preview) and `records`
(attempts, review items, tags).
"""

from quizzes.admin import questions, quiz, records

__all__ = ["questions", "quiz", "records"]
