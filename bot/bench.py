"""Benchmark commands (figures for the README, not pass/fail tests).

    python -m bot.bench nlu [--data FILE] [--rounds N]
    python -m bot.bench dispatch [--db URL]   (see bot/intake/bench.py)
    python -m bot.bench wechat [--duration S] [--rate-ack R] [--rate-e2e R]   (see bot/wechat/bench.py)

nlu: loads the newest model (timed), parses every text of FILE one at a time
for N rounds after a warm-up, and prints one JSON object with parse latency
p50/p99 in ms, model load seconds and the process's peak RSS in MB.
"""

import argparse
import json
import resource
import sys
import time
from typing import List, Optional

from bot.intake import bench as dispatch_bench
from bot.jsonl import InputFileError, read_records
from bot.metrics import percentile
from bot.wechat import bench as wechat_bench

WARMUP_MESSAGES = 20


def bench_nlu(data_path: str, models_dir: str, rounds: int) -> dict:
    from bot.nlu.model import NluParser, latest_model_path

    texts = [r["text"] for r in read_records(data_path, required=("text",))]
    if not texts:
        raise InputFileError(f"{data_path}: no texts to parse")
    model_path = latest_model_path(models_dir)
    started = time.perf_counter()
    parser = NluParser(model_path)
    load_seconds = time.perf_counter() - started
    for text in texts[:WARMUP_MESSAGES]:
        parser.parse(text)
    latencies = []
    for _ in range(rounds):
        for text in texts:
            t0 = time.perf_counter()
            parser.parse(text)
            latencies.append((time.perf_counter() - t0) * 1000)
    parser.close()
    return {
        "model": model_path.name,
        "messages": len(latencies),
        "parse_ms_p50": round(percentile(latencies, 50), 2),
        "parse_ms_p99": round(percentile(latencies, 99), 2),
        "load_s": round(load_seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    nlu = sub.add_parser("nlu", help="parse latency, model load time and peak RSS")
    nlu.add_argument("--data", default="tests/data/nlu_holdout.jsonl", help="JSON Lines with a text field")
    nlu.add_argument("--models", default="models")
    nlu.add_argument("--rounds", type=int, default=3, help="passes over the data (default 3)")
    dispatch = sub.add_parser("dispatch", help="complaints per second to a loopback agency, delivery latency")
    dispatch_bench.add_arguments(dispatch)
    wechat = sub.add_parser("wechat", help="Official Account webhook latency beside the REST channel")
    wechat_bench.add_arguments(wechat)
    args = parser.parse_args(argv)
    if args.command == "dispatch":
        return dispatch_bench.main_dispatch(args)
    if args.command == "wechat":
        return wechat_bench.main_wechat(args)
    try:
        result = bench_nlu(args.data, args.models, max(1, args.rounds))
    except (InputFileError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
