import factory
from django.contrib.auth import get_user_model

from learn.models import Learner, Topic, TopicProgress
from quizzes import taking


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


class QuizFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "quizzes.Quiz"

    topic = factory.SubFactory(TopicFactory)
    slug = factory.Sequence(lambda n: f"quiz-{n}")
    title = factory.Sequence(lambda n: f"Quiz {n}")
    status = "published"
    pass_mark = 50


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "quizzes.Question"
        skip_postgeneration_save = True

    quiz = factory.SubFactory(QuizFactory)
    kind = "single"
    prompt = factory.Sequence(lambda n: f"Question {n}?")
    explanation = "Because the fact sheet says so."
    order = factory.Sequence(lambda n: n)

    @factory.post_generation
    def answers(self, create, extracted, **kwargs):
        """answers=[("Right", True), ("Wrong", False)]; a default key per kind."""
        if not create or self.kind == "command":
            return
        if extracted is None:
            extracted = (
                [("True", True), ("False", False)]
                if self.kind == "truefalse"
                else [("Right", True), ("Wrong", False), ("Also wrong", False)]
            )
        for order, (text, correct) in enumerate(extracted):
            ChoiceFactory(question=self, text=text, correct=correct, order=order)


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "quizzes.Choice"

    text = factory.Sequence(lambda n: f"Choice {n}")
    correct = False


class CommandCheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "quizzes.CommandCheck"

    kind = "exists"


class AttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "quizzes.Attempt"

    learner = factory.SubFactory(LearnerFactory)
    quiz = factory.SubFactory(QuizFactory)


def answered_attempt(learner_id, quiz, right: int):
    """An attempt through quizzes.taking with its first `right` questions answered
    right and the rest wrong; left open for the caller to finish."""
    attempt = taking.start_attempt(str(learner_id), quiz)
    for slot in attempt.slots.select_related("question"):
        choice = slot.question.choices.filter(correct=slot.position <= right).first()
        taking.submit_answer(attempt, slot.position, [str(choice.pk)], "")
    return attempt


def learner_session(client) -> str:
    """Give the test client's browser a learner, as its first action on the site would.

    Reading pages gives none (learn/middleware.py); a test that needs the id
    up front sets it in the session, as a first POST does.
    """
    import uuid

    session = client.session
    learner_id = session.get("learner_id") or str(uuid.uuid4())
    session["learner_id"] = learner_id
    session.save()
    return learner_id


class LabFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "labs.Lab"
        django_get_or_create = ["slug"]

    topic = factory.SubFactory(TopicFactory)
    slug = factory.Sequence(lambda n: f"lab-{n}")
    title = factory.Sequence(lambda n: f"Lab {n}")
    intro = "Do a small thing in Redis."
    published = True


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "labs.Step"

    lab = factory.SubFactory(LabFactory)
    order = factory.Sequence(lambda n: n)
    title = factory.Sequence(lambda n: f"Step {n}")
    instructions = "Set greeting to hello."
    solution = "SET greeting hello"


class LabCheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "labs.Check"

    step = factory.SubFactory(StepFactory)
    kind = "value"
    key = "greeting"
    fields = factory.LazyFunction(lambda: {"value": "hello"})
    hint = "SET greeting hello."


class LabProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "labs.LabProgress"

    learner = factory.SubFactory(LearnerFactory)
    lab = factory.SubFactory(LabFactory)
