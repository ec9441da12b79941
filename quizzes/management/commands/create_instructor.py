import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

INSTRUCTORS = "Instructors"


class Command(BaseCommand):
    help = (
        "Create an instructor: a staff user in the Instructors group, who can author "
        "topics and quizzes in the admin but cannot manage users. Running it again for "
        "an existing user adds them to the group. Without --password a random one is "
        "made and printed once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Omit to generate one.")

    def handle(self, *args, username: str, email: str, password: str | None, **options) -> None:
        try:
            group = Group.objects.get(name=INSTRUCTORS)
        except Group.DoesNotExist:
            raise CommandError(
                "the Instructors group is missing: run `manage.py migrate`"
            ) from None
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        generated = None
        if created or password:
            generated = password or secrets.token_urlsafe(12)
            user.set_password(generated)
        user.is_staff = True
        user.save()
        user.groups.add(group)
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} instructor {username}.")
        if generated and not password:
            self.stdout.write(f"Password: {generated}")
