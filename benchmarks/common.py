"""What every benchmark prints with: progress lines, percentiles, and a figure's row beside
its target."""

import os
import statistics


def progress(message):
    print(f"  .. {message}", flush=True)


def load_average():
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def row(name, seconds, target_ms=None, elapsed=None, width=46):
    """One measure: how many, the rate if `elapsed` is given, p50, p95 and max in milliseconds,
    and whether p95 met `target_ms`."""
    ms = [s * 1000 for s in seconds]
    p95 = percentile(ms, 95)
    rate = f"{len(ms) / elapsed:8.1f}/s  " if elapsed else ""
    verdict = ""
    if target_ms is not None:
        verdict = f"   target p95 < {target_ms:g} ms: {'met' if p95 < target_ms else 'MISSED'}"
    print(f"{name:<{width}} n={len(ms):<5} {rate}p50={statistics.median(ms):7.2f} ms  p95={p95:7.2f} ms  "
          f"max={max(ms):7.2f} ms{verdict}", flush=True)
