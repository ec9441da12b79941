from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from labs.models import Check, Lab, Step
from learn.topic_cache import invalidate


@receiver(post_save, sender=Lab)
@receiver(post_delete, sender=Lab)
@receiver(post_save, sender=Step)
@receiver(post_delete, sender=Step)
@receiver(post_save, sender=Check)
@receiver(post_delete, sender=Check)
def lab_changed(sender, **kwargs) -> None:
    # Topic pages (cached for everyone) list their labs: render them again.
    invalidate()
