import hashlib
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower, Replace
from django.urls import reverse
from django.utils import timezone

from learn.markdown import Rendered, render_markdown


class TopicQuerySet(models.QuerySet):
    def published(self) -> "TopicQuerySet":
        return self.filter(published=True)

    def visible_to(self, user) -> "TopicQuerySet":
        """Staff preview drafts; everyone else sees published topics only."""
        return self if getattr(user, "is_staff", False) else self.published()


class Topic(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True)
    body = models.TextField(help_text="Markdown. ```redis blocks become runnable examples.")
    published = models.BooleanField(default=False)
    # Fingerprint of what `load_content` last wrote. When the row no longer
    # matches it, an instructor has edited the topic and the loader keeps out.
    loaded_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TopicQuerySet.as_manager()

    class Meta:
        ordering = ["order", "title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("learn:topic", args=[self.slug])

    def fingerprint(self) -> str:
        content = "\x1f".join([self.title, str(self.order), self.summary, self.body])
        return hashlib.sha256(content.encode()).hexdigest()

    def rendered(self) -> Rendered:
        """Cache-aside: rendered HTML is keyed by content, so an edit is a new key."""
        key = f"topic:html:{self.pk}:{self.fingerprint()}"
        rendered = cache.get(key)
        if rendered is None:
            rendered = render_markdown(self.body)
            cache.set(key, rendered, timeout=60 * 60 * 24)
        return rendered

    @property
    def edited_since_load(self) -> bool:
        # A topic made in the admin has no fingerprint: that counts as an edit too.
        return self.loaded_fingerprint != self.fingerprint()

    def neighbours(self) -> tuple["Topic | None", "Topic | None"]:
        siblings = list(Topic.objects.published().only("slug", "title", "order"))
        if self not in siblings:
            return None, None
        index = siblings.index(self)
        previous = siblings[index - 1] if index > 0 else None
        following = siblings[index + 1] if index + 1 < len(siblings) else None
        return previous, following


# A nickname as the database compares it: without case, spaces, underscores or
# hyphens, so "Race Nick", "Race_Nick" and "racenick" are one name. Nicknames
# are ASCII (quizzes.leaderboard.forms), where this equals the NFKC + casefold
# form that quizzes.leaderboard.nicknames.nickname_key computes in Python.
NICKNAME_KEY = Lower(Replace(Replace(Replace("nickname", Value(" ")), Value("_")), Value("-")))


class Learner(models.Model):
    """Anyone studying, signed in or not; the session holds the id.

    Progress hangs off the learner in the database, so losing the session
    cache (a Redis flush or restart) loses nothing.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Set only when the learner opts into the leaderboard: the one name of
    # theirs other learners ever see. NULL, not "", for "none": the unique
    # index then ignores the many learners without one.
    nickname = models.CharField(max_length=24, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # "Ada", "ada" and "A-da" would be indistinguishable on the board.
            models.UniqueConstraint(NICKNAME_KEY, name="unique_nickname_normalised")
        ]

    def __str__(self) -> str:
        return str(self.user or self.id)


class TopicProgress(models.Model):
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="progress")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="progress")
    read_at = models.DateTimeField(null=True, blank=True)
    # The topic's example command lines this learner has run from its page.
    examples_run = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["learner", "topic"], name="one_progress_per_topic")
        ]
        verbose_name_plural = "topic progress"

    def __str__(self) -> str:
        return f"{self.learner} · {self.topic}"

    @classmethod
    def mark_read(cls, learner_id: uuid.UUID | str, topic: Topic) -> "TopicProgress":
        learner, _ = Learner.objects.get_or_create(id=learner_id)
        progress, _ = cls.objects.get_or_create(learner=learner, topic=topic)
        if progress.read_at is None:
            progress.read_at = timezone.now()
            progress.save(update_fields=["read_at"])
        return progress


class Throttle(models.Model):
    """How many times something happened under one key in a window (learn/throttle.py).

    Kept in the database, not the app Redis: a cache under memory pressure
    evicts keys (ElastiCache's default volatile-lru picks among keys with a
    TTL, as a throttle's is), and an evicted throttle is a reset one.
    """

    key = models.CharField(max_length=64, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
