"""The dispatch benchmark runs end to end (tiny sizes: figures come from `python -m bot.bench dispatch`)."""

import argparse

from bot.intake.bench import add_arguments, bench_dispatch


def test_bench_dispatch_reports_throughput_and_latency():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    result = bench_dispatch(parser.parse_args(["--complaints", "40", "--rate", "20", "--seconds", "1"]))
    assert result["throughput_delivered"] == 40 and result["throughput_per_s"] > 0
    assert result["latency_complaints"] == 20
    assert 0 <= result["latency_p50_s"] <= result["latency_p99_s"] <= result["latency_max_s"]
