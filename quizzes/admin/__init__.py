"""The quizzes admin, a product surface for instructors.

Importing the package registers every model admin: `questions` (the answer
key and command checks), `quiz` (rules, statistics, regrading, duplicating,
GIFT export), `gift_import` (the GIFT upload with its preview), `records`
(attempts, review items, tags) and `learners` (nickname moderation on the
Learner admin).
"""

from quizzes.admin import learners, questions, quiz, records

__all__ = ["learners", "questions", "quiz", "records"]
