def media_reap_stale() -> int:
    return 0
