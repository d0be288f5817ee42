#!/usr/bin/env python3
"""One call of the platform API, signed with SigV4: its JSON answer on standard output.

    python3 platform_call.py API_URL METHOD PATH [BODY_FILE]

BODY_FILE is a JSON file (`-` for standard input). For example, the team's business hours:

    python3 platform_call.py "$API" PUT /v1/platform/hours/ hours.json

with hours.json:

    {"hours": {"time_zone": "Europe/Berlin",
               "week": {"mon": [{"opens": "09:00", "closes": "17:00"}]},
               "holidays": ["2026-12-25"],
               "expected_reply": "We usually reply within an hour."}}

Credentials come as for platform_token.py.
"""

import json
import sys

from platform_token import platform

if __name__ == "__main__":
    api, method, path = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    body = None
    if len(sys.argv) > 4:
        body = json.load(sys.stdin if sys.argv[4] == "-" else open(sys.argv[4]))
    print(json.dumps(platform(api, method, path, body)))
