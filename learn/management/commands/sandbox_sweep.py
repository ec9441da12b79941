from django.core.management.base import BaseCommand

from learn.redis_clients import sandbox


class Command(BaseCommand):
    help = (
        "Delete the keys of sandbox namespaces that have been idle for longer than a day. "
        "The site also sweeps a few as learners use it; run this from cron to keep the "
        "sandbox server small. Safe to run at any time."
    )

    def handle(self, *args, **options) -> None:
        engine = sandbox()
        total = 0
        while swept := engine.sweep_idle(batch=100):
            total += swept
        self.stdout.write(f"Cleared {total} idle sandbox namespace(s).")
