"""Runs the SAM transform over template.yaml offline, as CloudFormation will on deploy.

cfn-lint validates a SAM template against SAM's schemas without transforming it, so what
only the transform refuses (an authorizer the API does not enable, say) would first show at
`sam deploy`. The code location is the one thing replaced: `sam build` fills it in.
"""

import os
import sys

from cfnlint.decode import decode
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
template, matches = decode(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
if matches:
    sys.exit("\n".join(str(match) for match in matches))
template["Globals"]["Function"]["CodeUri"] = "s3://built-by-sam/functions.zip"
try:
    resources = transform(template, {}, None)["Resources"]
except InvalidDocumentException as error:
    sys.exit("\n".join(cause.message for cause in error.causes))
print(f"the SAM transform makes {len(resources)} resources")
