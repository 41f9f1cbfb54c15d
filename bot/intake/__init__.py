"""Complaint intake: the store, the transactional outbox and exactly-once delivery to agencies.

Modules, one job each:

    settings       environment: database URL, intake config path, retry and lease limits
    endpoints      the per-agency intake endpoints file (config/intake.yml)
    signing        HMAC-SHA256 request signing and verification
    backoff        exponential backoff with full jitter, Retry-After parsing
    db / store     engines and sessions; the assistant's store with migrations to head
    models         SQLAlchemy models: complaints, evidence, deliveries, attempts, status history, callbacks
    schemas        pydantic validation of complaints, callback requests and agency status callbacks
    service        submit / list / show complaints, callback requests (the dialogue's entry point)
    statuses       status vocabulary, transitions and the status listener registry
    tracking       recording status changes (ours and the agency's) and pending notifications
    payload        the wire body of POST {agency}/requests
    outbox         claiming due deliveries with leases, recording outcomes, staff retries
    client         the agency intake API client (the only module that talks to agencies)
    dispatcher     the delivery loop
    callback_server  POST /agency/callback (sanic)
    agency/        the reference agency intake server (also the test double)
    cli            `python -m bot complaints|deliveries|dispatch|callbacks|callback-requests|db`

Nothing here runs at import time: no connections, no config reads.
"""
