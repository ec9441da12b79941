from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from learn.models import Topic
from learn.topic_cache import invalidate


@receiver(post_save, sender=Topic)
@receiver(post_delete, sender=Topic)
def topic_changed(sender, **kwargs) -> None:
    # Any edit can change the list, the order and every neighbour link.
    invalidate()
