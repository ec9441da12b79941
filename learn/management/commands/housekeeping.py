from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from learn import throttle


class Command(BaseCommand):
    help = (
        "Delete what has expired in the database: sessions past their age (Django's "
        "clearsessions; the Redis copies expire by their TTL) and throttle windows that "
        "have passed. `make run` and `make serve` run it every HOUSEKEEPING_INTERVAL "
        "seconds; a deployment of several servers runs it from one scheduler instead "
        "(cron, an EventBridge schedule). Safe to run at any time."
    )

    def handle(self, *args, **options) -> None:
        expired = Session.objects.filter(expire_date__lt=timezone.now()).count()
        call_command("clearsessions")
        purged = throttle.purge_expired()
        self.stdout.write(f"Deleted {expired} expired session(s) and {purged} expired throttle(s).")
