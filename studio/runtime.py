"""Process tuning shared by the ASGI server and the benchmarks."""

import gc


def tune_gc() -> None:
    """Move everything alive at start-up (Django, apps, URL conf) out of the collector's
    reach and collect less often. Full collections otherwise walk that whole heap and add
    ~100 ms to whichever request triggers them (seen on the timeline of a 90-minute film)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
