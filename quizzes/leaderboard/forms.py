"""The nickname form: the one name of a learner's that others see."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from quizzes.leaderboard.nicknames import holders, nickname_key

# ASCII only: letters from other scripts that look like Latin ones ("аdmin"
# with a Cyrillic а) would let one learner pass for another.
nickname_characters = RegexValidator(
    r"\A[A-Za-z0-9 _-]+\Z",
    message="Use only the letters A–Z, digits, spaces, hyphens (-) and underscores (_).",
    code="characters",
)
# Names that would look like the site speaking, compared as nicknames are
# compared (nickname_key: "Ad_min" is "admin").
RESERVED_NICKNAMES = frozenset(
    {
        "admin",
        "administrator",
        "anonymous",
        "cachelab",
        "deleted",
        "instructor",
        "moderator",
        "none",
        "null",
        "root",
        "staff",
        "support",
        "system",
        "teacher",
        "you",
    }
)
TAKEN = (
    "Someone already uses that nickname, or one that differs only in case, spaces, "
    "hyphens or underscores; choose another."
)


class NicknameForm(forms.Form):
    """The one name of a learner's that others see on the leaderboard."""

    nickname = forms.CharField(
        min_length=3,
        max_length=24,
        validators=[nickname_characters],
        error_messages={
            "required": "Choose a nickname first.",
            "min_length": "A nickname needs at least 3 characters.",
            "max_length": "A nickname can have at most 24 characters.",
        },
        help_text="3 to 24 characters: letters A–Z, digits, spaces, - and _.",
    )

    def __init__(self, *args, learner_id: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.learner_id = learner_id

    def clean_nickname(self) -> str:
        # Runs after the field's own checks: trimmed, 3–24 allowed characters.
        nickname = re.sub(" {2,}", " ", self.cleaned_data["nickname"])
        if nickname_key(nickname) in RESERVED_NICKNAMES:
            raise ValidationError("That nickname is reserved; choose another.", code="reserved")
        if holders(nickname).exclude(pk=self.learner_id).exists():
            raise ValidationError(TAKEN, code="taken")
        return nickname
