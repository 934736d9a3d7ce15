"""Limits AWS enforces on what the tool derives from a valid spec: names, statement ids, environments, region.

The model checks each field on its own; these checks need the names the tool builds from several
fields (``naming``), so they run on a validated :class:`StackSpec`. Each problem carries the field to
blame, the AWS limit and the page that states it, so nothing AWS would refuse reaches an apply.
No AWS calls: the known regions come from botocore's bundled endpoint data.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re

from .. import naming
from .model import StackSpec

Problem = tuple[tuple[str, ...], str]  # (field path, message)

LAMBDA_ENV_BYTES = 4096
LAMBDA_ENV_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
SID_MAX = 100
SID_DOC = "https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html"
_SID = re.compile(r"^[a-zA-Z0-9_-]+$")
BUCKET_DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"
# General purpose bucket names may not start or end with these (the page above).
BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
REGIONS_DOC = "https://docs.aws.amazon.com/general/latest/gr/rande.html"
# The regional services the stack uses; IAM, STS and CloudFront are global.
REGIONAL_SERVICES = ("lambda", "dynamodb", "apigateway", "s3", "logs", "cloudwatch", "sns")


def problems(spec: StackSpec) -> list[Problem]:
    return [*region_problems(spec.region), *_bucket(spec), *_statement_ids(spec), *_environments(spec)]


@functools.cache
def known_regions(service: str) -> frozenset[str]:
    """Regions botocore's endpoint data lists for ``service``, in every partition."""
    import botocore.session

    session = botocore.session.get_session()
    return frozenset(region for partition in session.get_available_partitions()
                     for region in session.get_available_regions(service, partition_name=partition))


def region_problems(region: str) -> list[Problem]:
    import botocore

    missing = [s for s in REGIONAL_SERVICES if region not in known_regions(s)]
    if not missing:
        return []
    if len(missing) == len(REGIONAL_SERVICES):
        return [(("region",), f"{region!r} is not a region botocore {botocore.__version__} knows; use one such as "
                              f"us-east-1 or eu-west-1 ({REGIONS_DOC}), or upgrade boto3 for a newer region")]
    return [(("region",), f"botocore {botocore.__version__} knows no {', '.join(missing)} endpoint in {region}; "
                          f"the stack needs {', '.join(REGIONAL_SERVICES)} ({REGIONS_DOC})")]


def _bucket(spec: StackSpec) -> list[Problem]:
    # The 8-hex suffix depends on the account; any account gives a name of the same shape.
    name = naming.bucket_name(spec, "000000000000")
    reason = None
    if not _BUCKET.match(name) or ".." in name:
        reason = "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
    elif name.startswith(BUCKET_PREFIXES):
        reason = f"a name may not start with {', '.join(BUCKET_PREFIXES)}"
    elif name.endswith(BUCKET_SUFFIXES):
        reason = f"a name may not end with {', '.join(BUCKET_SUFFIXES)}"
    else:
        try:
            ipaddress.ip_address(name)
            reason = "a name may not look like an IP address"
        except ValueError:
            pass
    if reason is None:
        return []
    return [(("project",), f"gives the site bucket the name {name}, which S3 refuses: {reason} ({BUCKET_DOC}); "
                           "choose another project name")]


def _statement_ids(spec: StackSpec) -> list[Problem]:
    out: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}  # (function, statement id) -> route index
    for i, route in enumerate(spec.api.routes):
        sid = naming.statement_id(route.method, route.path)
        where = ("api", "routes", str(i), "path")
        if len(sid) > SID_MAX:
            out.append((where, f"gives the Lambda statement id {sid[:30]}… of {len(sid)} characters; AWS allows at "
                               f"most {SID_MAX} characters ({SID_DOC}): shorten the path by {len(sid) - SID_MAX}"))
        elif not _SID.match(sid):
            out.append((where, f"gives the Lambda statement id {sid}; a statement id has only letters, digits, '-' "
                               f"and '_' ({SID_DOC}): use those in the path"))
        first = seen.setdefault((route.function, sid), i)
        if first != i:
            other = spec.api.routes[first]
            out.append((where, f"{route.method} {route.path} and {other.method} {other.path} (api.routes.{first}) give "
                               f"the same Lambda statement id {sid} on function {route.function}; rename one path"))
    return out


def _environments(spec: StackSpec) -> list[Problem]:
    out: list[Problem] = []
    for key in spec.functions:
        env = naming.function_environment(spec, key)
        # Lambda measures the variables as the JSON object it stores ("String measured: {...}" in its error).
        size = len(json.dumps(env, separators=(",", ":"), ensure_ascii=False).encode())
        if size > LAMBDA_ENV_BYTES:
            added = len(env) - len(spec.functions[key].environment)
            out.append((("functions", key, "environment"),
                        f"the function's variables take {size:,} bytes with the {added} the tool adds; Lambda allows "
                        f"4 KB ({LAMBDA_ENV_BYTES} bytes) in total ({LAMBDA_ENV_DOC}): shorten them"))
    return out
