#!/usr/bin/env python3
"""Mints a short-lived token for a store or an admin through the platform API, signed with SigV4.

    python3 platform_token.py API_URL store|admin ID [LIFETIME_SECONDS]

It signs with botocore, as the AWS CLI does, using the credentials of the usual chain: the
role of the machine it runs on in AWS, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the
local gateway's --platform-credentials). It prints {"token", "token_id", "expires_at"}: what
an endpoint of the platform answers the widget's `token-url` (or the inbox's `token_url`) with.
"""

import json
import os
import sys
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import get_session


def platform(api, method, path, body=None):
    """One signed call of the platform API; its JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = AWSRequest(method=method, url=api + path, data=data, headers={"Content-Type": "application/json"})
    region = os.environ.get("AWS_REGION", "us-east-1")
    SigV4Auth(get_session().get_credentials(), "execute-api", region).add_auth(request)
    prepared = request.prepare()
    call = urllib.request.Request(prepared.url, data=data, method=method, headers=dict(prepared.headers))
    with urllib.request.urlopen(call, timeout=5) as response:
        return json.load(response)


if __name__ == "__main__":
    api, party, id = sys.argv[1].rstrip("/"), sys.argv[2], int(sys.argv[3])
    lifetime = int(sys.argv[4]) if len(sys.argv) > 4 else 3600
    body = {f"{party}_id": id, "lifetime_seconds": lifetime}
    print(json.dumps(platform(api, "POST", "/v1/platform/tokens/", body)))
