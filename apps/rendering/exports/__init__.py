"""The export pipeline, one module per step (``apps.rendering.services`` is its public face).

    state     the job's state: attempts, progress (throttled events), heartbeats, fail, enqueue
    files     the render cache, work folders, local copies of stored files
    create    export_create / export_create_for, export_start (claim, plan the fan-out), export_cancel
    segments  export_render_segment: conform one segment's shots, build its master, join
    final     export_finish: the final MP4, the deliverables, the artifacts
    reaper    export_reap_stale: restart or fail exports whose worker died; sweep the cache
    run       export_run: every step in this process (the CLI; tests)

Modules import only from those above them in this list (and ``run`` from all).
"""
