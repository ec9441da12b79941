"""Django settings become the provider's settings; the defaults are safe on this host."""

from labs.environments.service import lab_settings
from labs.environments.settings import port_range_problem


def test_lab_settings_come_from_django_settings(settings, tmp_path):
    settings.LAB_PORT_RANGE = "21000-21099"
    settings.LAB_MAX_ENVIRONMENTS = 3
    settings.LAB_IDLE_TIMEOUT = 300
    settings.LAB_RUNTIME_DIR = str(tmp_path)
    config = lab_settings()
    assert config.port_range == (21000, 21099) and config.max_environments == 3
    assert config.idle_timeout == 300.0 and config.runtime_dir == str(tmp_path)


def test_the_default_lab_port_range_is_clear_of_the_ephemeral_range(settings):
    assert port_range_problem(lab_settings().port_range) is None
