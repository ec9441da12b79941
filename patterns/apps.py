from django.apps import AppConfig


class PatternsConfig(AppConfig):
    name = "patterns"
    verbose_name = "Caching-pattern bench"

    def ready(self) -> None:
        # Labs checked on bench runs: patterns sits above labs, so it registers
        # its kinds there and labs never imports patterns.
        from labs import checks
        from patterns import labs

        checks.register(
            "bench_pattern", labs.check_pattern, errors=labs.pattern_errors, link=labs.pattern_link
        )
        checks.register(
            "bench_stampede",
            labs.check_stampede,
            errors=labs.stampede_errors,
            link=labs.stampede_link,
        )
        checks.register_action("bench", labs.bench_action)
