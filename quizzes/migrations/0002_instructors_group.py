"""The Instructors group: may author topics and quizzes, may not manage users."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AUTHOR = {
    "learn": ["topic"],
    "quizzes": ["quiz", "question", "choice", "commandcheck", "tag"],
}
VIEW_ONLY = {"quizzes": ["attempt", "attemptquestion", "response"]}


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Instructors")
    codenames = [
        (app, f"{action}_{model}")
        for app, models in AUTHOR.items()
        for model in models
        for action in ("add", "change", "delete", "view")
    ] + [(app, f"view_{model}") for app, models in VIEW_ONLY.items() for model in models]
    permissions = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in codenames
    ]
    group.permissions.set(permissions)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Instructors").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("quizzes", "0001_initial"),
        ("learn", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
