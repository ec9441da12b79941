from django.core.management.base import BaseCommand, CommandError

from config.redis_config import APP_REDIS_DOWN as DOWN
from quizzes import leaderboard


def learners(count: int) -> str:
    return f"{count} learner{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = (
        "Rebuild the weekly and all-time leaderboards in the app Redis from the "
        "database, which is the source of truth: after a Redis flush or restart, "
        "or whenever the boards look wrong. Readers see the old boards until the "
        "new ones are swapped in. Safe to run at any time."
    )

    def handle(self, *args, **options) -> None:
        try:
            built = leaderboard.rebuild()
        except DOWN as exc:
            raise CommandError(f"the app Redis is unavailable ({exc}); nothing changed") from exc
        self.stdout.write(
            f"Rebuilt the all-time board ({learners(built.all_time_members)}) and the board "
            f"for week {built.week} ({learners(built.week_members)} with points this week) "
            "from the database."
        )
