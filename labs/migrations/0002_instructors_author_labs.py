"""Instructors may author labs (and see learners' lab progress)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AUTHOR = ["lab", "step", "check"]
VIEW_ONLY = ["labprogress"]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Instructors")
    codenames = [
        f"{action}_{model}" for model in AUTHOR for action in ("add", "change", "delete", "view")
    ] + [f"view_{model}" for model in VIEW_ONLY]
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="labs", codename__in=codenames)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Instructors"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="labs"))


class Migration(migrations.Migration):
    dependencies = [
        ("labs", "0001_initial"),
        # After the group is made: that migration sets (replaces) its permissions.
        ("quizzes", "0002_instructors_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
