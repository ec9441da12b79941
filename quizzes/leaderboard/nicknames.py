"""Joining and leaving the boards, under a nickname unique in its normalised form."""

from __future__ import annotations

import re
import unicodedata
import uuid

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from learn.models import NICKNAME_KEY, Learner
from quizzes.leaderboard.boards import refresh_learner


class NicknameTaken(Exception):
    """Someone else has this nickname, or one that looks the same."""


def nickname_key(nickname: str) -> str:
    """The form two nicknames are compared in: NFKC, casefolded, without spaces,
    underscores or hyphens ("Race_Nick" is "racenick"). The database enforces
    the same comparison (learn.models.NICKNAME_KEY)."""
    return re.sub(r"[\s_-]", "", unicodedata.normalize("NFKC", nickname).casefold())


def holders(nickname: str) -> QuerySet[Learner]:
    """The learners whose nickname looks the same as `nickname`."""
    return Learner.objects.alias(key=NICKNAME_KEY).filter(key=nickname_key(nickname))


def join(learner_id: str | uuid.UUID, nickname: str) -> None:
    """Put the learner on the boards under `nickname`, or rename them.

    The nickname is saved in the database first; the boards follow after the
    commit, and a rebuild adds the learner if Redis was away.
    """
    try:
        with transaction.atomic():
            learner, _ = Learner.objects.get_or_create(id=learner_id)
            if holders(nickname).exclude(pk=learner.pk).exists():
                raise NicknameTaken(nickname)
            learner.nickname = nickname
            learner.save(update_fields=["nickname"])
    except IntegrityError:
        # Two learners claimed it at once; the database's constraint decided.
        raise NicknameTaken(nickname) from None
    transaction.on_commit(lambda: refresh_learner(learner_id))


def leave(learner_id: str | uuid.UUID) -> bool:
    """Take the learner off the boards; their attempts (and so points) stay."""
    left = Learner.objects.filter(pk=learner_id, nickname__isnull=False).update(nickname=None)
    transaction.on_commit(lambda: refresh_learner(learner_id))
    return bool(left)
