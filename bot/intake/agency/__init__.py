"""The reference agency intake server: implements openapi.yaml, for agencies to run as is and for
our tests as the far end.

    python -m bot agency serve --port 8311 --db sqlite:///var/agency.db --secret-env AGENCY_SECRET \
        --callback-url http://127.0.0.1:5056/agency/callback
    python -m bot agency list --db sqlite:///var/agency.db --json
    python -m bot agency set-status REQ-... accepted "case opened" --db sqlite:///var/agency.db
"""
