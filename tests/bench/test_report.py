"""The bench's tables: ratios to the bare floor, targets met or missed."""

from tests.bench import run
from tests.bench.report import Cpu, LoadResult, Row, cpu_table, latency_table, saturation_table

FLOOR = Row("bare floor", None, [4000, 5000, 4500], [8, 9, 10], [12, 13, 14], [19, 20, 21], 0)


def _row(name, target, rps, errors=0):
    return Row(name, target, rps, [20, 21, 22], [30, 31, 32], [40, 41, 42], errors)


def _line(lines, name):
    return next(line for line in lines if line.startswith(f"| {name} |"))


def test_a_row_shows_the_median_rate_and_its_ratio_to_the_floors_median():
    lines = saturation_table([FLOOR, _row("topic", 0.5, [2000, 2500, 9999])], FLOOR)

    # Medians: 2500 against the floor's 4500.
    assert _line(lines, "topic") == "| topic | ≥ 0.50× | 2500 | 0.56 | ✓ | 21 | 31 | 41 | 0 |"
    assert _line(lines, "bare floor").startswith("| bare floor | – | 4500 | 1.00 |")


def test_a_row_below_its_target_is_marked_missed():
    lines = saturation_table([FLOOR, _row("quiz answer", 0.15, [400, 500, 600])], FLOOR)

    assert " 0.11 | ✗ |" in _line(lines, "quiz answer")


def test_errors_miss_the_target_even_when_the_ratio_is_met():
    lines = saturation_table([FLOOR, _row("home", 0.5, [4000, 4000, 4000], errors=3)], FLOOR)

    assert _line(lines, "home").endswith("| 0.89 | ✗ | 21 | 31 | 41 | 3 |")


def test_an_endpoint_not_built_yet_says_why_instead_of_figures():
    lab = Row("lab command", 0.3, [], [], [], [], 0, note="n/a until labs land")

    lines = saturation_table([FLOOR, lab], FLOOR)

    assert _line(lines, "lab command").startswith("| lab command | ≥ 0.30× | n/a until labs land |")


def test_the_cpu_table_puts_wrks_share_beside_the_servers():
    samples = [Cpu("topic", 10, 1.0, 18.0), Cpu("topic", 10, 1.0, 20.0)]

    assert cpu_table(samples)[2] == "| topic | 10 % | 190 % | 0.05 |"


def test_the_latency_table_marks_the_crowd_target_per_endpoint():
    fast = LoadResult("home", 50, 4, 7, 10, 750, 0)
    slow = LoadResult("quiz answer", 30, 40, 120, 200, 500, 0)
    unreached = LoadResult("quiz finish", 0, 0, 0, 0, 0, 0, step=True)

    lines = latency_table([fast, slow, unreached], 100)

    assert _line(lines, "home").endswith("| 750 | 0 | ✓ |")
    assert _line(lines, "quiz answer").endswith("| 500 | 0 | ✗ |")
    assert _line(lines, "↳ quiz finish").endswith("| not reached |")


def _report(generator):
    return run.format_report(
        rows=[FLOOR, _row("topic", 0.5, [2500])],
        cpu=[Cpu("bare floor", 15, 4.0, 28.0)],
        python_floor={"name": "bare floor", "rps": 1200, "cpu_seconds": 14.7},
        crowd=[LoadResult("home", 50, 4, 7, 10, 750, 0)],
        wave=[LoadResult("quiz start", 60, 300, 700, 900, 200, 0)],
        wave_seconds=2.5,
        header=["CacheLab benchmark"],
        generator=generator,
    )


def test_the_report_sets_the_python_generators_floor_beside_wrks():
    report = _report("wrk")

    assert "4500 req/s (3.8× locust's)" in report
    assert "locust using" in report
    assert "WARNING" not in report


def test_the_fallback_report_warns_that_its_ratios_are_squeezed():
    assert "squeezed towards 1" in _report("locust")
