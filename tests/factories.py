import factory
from django.contrib.auth import get_user_model

from learn.models import Learner, Topic, TopicProgress


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class StaffFactory(UserFactory):
    is_staff = True


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ["slug"]

    title = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")
    order = factory.Sequence(lambda n: n + 1)
    summary = "A short summary."
    body = "## Section one\n\nSome text.\n\n## Section two\n\nMore text.\n"
    published = True


class LearnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Learner


class TopicProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TopicProgress

    learner = factory.SubFactory(LearnerFactory)
    topic = factory.SubFactory(TopicFactory)
