"""Which IAM actions, on which resources, an AWS API call needs: recorded calls → IAM requests.

Most operations are authorised by the action of the same name on the resource they name. The
exceptions are listed here, each from the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html):

* API Gateway (REST) authorises by HTTP method on the resource path: ``apigateway:GET`` on
  ``arn:aws:apigateway:{region}::/restapis/{id}/stages/{name}``, and so on.
* S3 names actions after permissions, not operations: ``ListObjectsV2``/``HeadBucket`` need
  ``s3:ListBucket``, ``ListObjectVersions`` needs ``s3:ListBucketVersions``, ``DeleteObjects``
  needs ``s3:DeleteObject`` (and ``s3:DeleteObjectVersion`` for a version) on each key, the
  encryption and public-access-block calls have their own names.
* Creating with tags also needs the service's tagging action (``iam:TagRole``, ``lambda:TagResource``, …).
* Naming a role for a service to use needs ``iam:PassRole`` with ``iam:PassedToService``.
* ``sts:GetCallerIdentity`` needs no permission.

An operation missing from this table raises, so a new call cannot slip past the coverage test.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.iam_sim import Request


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    path: str  # the request path with its parameters filled in (API Gateway authorises on it)


class Recorder:
    """Records every call made through the clients it is attached to (a botocore event hook)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def hook(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.calls.append(Call(model.service_model.service_name, model.name, dict(params), _path(model, params)))

    def attach(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.*.*", self.hook)


def _path(model: Any, params: dict[str, Any]) -> str:
    uri = str(model.http.get("requestUri", "/")).split("?")[0]
    members = model.input_shape.members if model.input_shape else {}
    for member, shape in members.items():
        if shape.serialization.get("location") == "uri" and member in params:
            name = shape.serialization.get("name", member)
            uri = uri.replace(f"{{{name}+}}", str(params[member])).replace(f"{{{name}}}", str(params[member]))
    return uri


S3_ACTIONS = {"HeadBucket": "ListBucket", "ListObjectsV2": "ListBucket", "ListObjectVersions": "ListBucketVersions",
              "HeadObject": "GetObject", "GetBucketEncryption": "GetEncryptionConfiguration",
              "PutBucketEncryption": "PutEncryptionConfiguration",
              "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
              "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
              "DeleteBucketEncryption": "PutEncryptionConfiguration"}
APIGATEWAY_METHODS = {"Get": "GET", "Create": "POST", "Put": "PUT", "Update": "PATCH", "Delete": "DELETE",
                      "Tag": "PUT", "Untag": "DELETE", "Flush": "DELETE", "Import": "PUT"}
CLOUDFRONT_ACTIONS = {"CreateDistributionWithTags": ["CreateDistribution", "TagResource"]}
NO_PERMISSION = {("sts", "GetCallerIdentity")}


class Mapper:
    """Turns calls into IAM requests for one account and region.

    ``role_path`` gives a role's path from its name (roles' ARNs include it; most calls name the
    role only); ``role_boundary`` gives a role's boundary as it is when the call is made, which is
    the value of ``iam:PermissionsBoundary`` for calls that change a role's policies."""

    def __init__(self, region: str, account: str, role_path: Callable[[str], str],
                 role_boundary: Callable[[str], str | None]):
        self.region, self.account = region, account
        self.role_path, self.role_boundary = role_path, role_boundary

    def requests(self, call: Call) -> list[Request]:
        if (call.service, call.operation) in NO_PERMISSION:
            return []
        handler = getattr(self, f"_{call.service}", None)
        if handler is None:
            raise KeyError(f"no IAM mapping for {call.service}:{call.operation}")
        result: list[Request] = handler(call)
        return result

    # -- per service ---------------------------------------------------------------------------
    def _arn(self, service: str, rest: str, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{rest}"

    def _role_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account}:role{self.role_path(name)}{name}"

    def _iam(self, c: Call) -> list[Request]:
        p, op = c.params, c.operation
        if "RoleName" in p:
            arn = self._role_arn(p["RoleName"]) if op != "CreateRole" else \
                f"arn:aws:iam::{self.account}:role{p.get('Path', '/')}{p['RoleName']}"
            ctx: dict[str, str] = {}
            if op in ("CreateRole", "PutRolePermissionsBoundary"):
                if p.get("PermissionsBoundary"):
                    ctx["iam:PermissionsBoundary"] = p["PermissionsBoundary"]
            elif op in ("PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy",
                        "DeleteRolePermissionsBoundary"):
                boundary = self.role_boundary(p["RoleName"])
                if boundary:
                    ctx["iam:PermissionsBoundary"] = boundary
            reqs = [Request(f"iam:{op}", arn, ctx)]
            if op == "CreateRole" and p.get("Tags"):
                reqs.append(Request("iam:TagRole", arn))
            return reqs
        if op == "CreatePolicy":
            arn = f"arn:aws:iam::{self.account}:policy{p.get('Path', '/')}{p['PolicyName']}"
            return [Request("iam:CreatePolicy", arn)] + ([Request("iam:TagPolicy", arn)] if p.get("Tags") else [])
        if "PolicyArn" in p:
            return [Request(f"iam:{op}", p["PolicyArn"])]
        raise KeyError(f"no IAM mapping for iam:{op}")

    def _lambda(self, c: Call) -> list[Request]:
        p, op = c.params, c.operation
        if "EventSourceMapping" in op or "Resource" in p:
            return self._event_source_mapping(c)
        name = str(p["FunctionName"])
        arn = name if name.startswith("arn:") else self._arn("lambda", f"function:{name}")
        if p.get("Qualifier"):
            arn = f"{arn}:{p['Qualifier']}"
        ctx = {}
        auth = p.get("AuthType") if op.endswith("FunctionUrlConfig") else p.get("FunctionUrlAuthType")
        if auth:  # what Lambda evaluates lambda:FunctionUrlAuthType against (ingest.front: function_url)
            ctx["lambda:FunctionUrlAuthType"] = str(auth)
        reqs = [Request(f"lambda:{op}", arn, ctx)]
        if p.get("Role"):
            reqs.append(Request("iam:PassRole", p["Role"], {"iam:PassedToService": "lambda.amazonaws.com"}))
        if op == "CreateFunction" and p.get("Tags"):
            reqs.append(Request("lambda:TagResource", arn))
        return reqs

    def _event_source_mapping(self, c: Call) -> list[Request]:
        """Create and List have no resource type; all four are conditioned on ``lambda:FunctionArn``."""
        p, op = c.params, c.operation
        ctx: dict[str, str] = {}
        if p.get("FunctionName"):
            name = str(p["FunctionName"])
            ctx["lambda:FunctionArn"] = name if name.startswith("arn:") else self._arn("lambda", f"function:{name}")
        if op in ("CreateEventSourceMapping", "ListEventSourceMappings"):
            reqs = [Request(f"lambda:{op}", "*", ctx)]
            if op == "CreateEventSourceMapping" and p.get("Tags"):
                reqs.append(Request("lambda:TagResource", self._arn("lambda", "event-source-mapping:*")))
            return reqs
        arn = str(p.get("Resource") or self._arn("lambda", f"event-source-mapping:{p['UUID']}"))
        return [Request(f"lambda:{op}", arn, ctx)]

    def _kinesis(self, c: Call) -> list[Request]:
        p, op = c.params, c.operation
        arn = str(p.get("StreamARN") or self._arn("kinesis", f"stream/{p['StreamName']}"))
        reqs = [Request(f"kinesis:{op}", arn)]
        if op == "CreateStream" and p.get("Tags"):  # tags at creation need the tagging action too
            reqs.append(Request("kinesis:AddTagsToStream", arn))
        return reqs

    def _sqs(self, c: Call) -> list[Request]:
        p, op = c.params, c.operation
        name = str(p["QueueName"]) if "QueueName" in p else str(p["QueueUrl"]).rsplit("/", 1)[-1]
        arn = self._arn("sqs", name)
        reqs = [Request(f"sqs:{op}", arn)]
        if op == "CreateQueue" and p.get("tags"):
            reqs.append(Request("sqs:TagQueue", arn))
        return reqs

    def _logs(self, c: Call) -> list[Request]:
        p, op = c.params, c.operation
        if op == "DescribeLogGroups":
            return [Request("logs:DescribeLogGroups", "*")]  # a list action: no resource type
        arn = p.get("resourceArn") or self._arn("logs", f"log-group:{p['logGroupName']}")
        reqs = [Request(f"logs:{op}", arn)]
        if op == "CreateLogGroup" and p.get("tags"):
            reqs.append(Request("logs:TagResource", arn))
        return reqs

    def _dynamodb(self, c: Call) -> list[Request]:
        p, op = c.params, c.operation
        arn = p.get("ResourceArn") or self._arn("dynamodb", f"table/{p['TableName']}")
        reqs = [Request(f"dynamodb:{op}", arn)]
        if op == "CreateTable" and p.get("Tags"):
            reqs.append(Request("dynamodb:TagResource", arn))
        return reqs

    def _cloudwatch(self, c: Call) -> list[Request]:
        p, op = c.params, c.operation
        if op == "DescribeAlarms":
            return [Request("cloudwatch:DescribeAlarms", self._arn("cloudwatch", "alarm:*"))]
        if op == "DeleteAlarms":
            return [Request(f"cloudwatch:{op}", self._arn("cloudwatch", f"alarm:{n}")) for n in p["AlarmNames"]]
        arn = p.get("ResourceARN") or self._arn("cloudwatch", f"alarm:{p['AlarmName']}")
        reqs = [Request(f"cloudwatch:{op}", arn)]
        if op == "PutMetricAlarm" and p.get("Tags"):
            reqs.append(Request("cloudwatch:TagResource", arn))
        return reqs

    def _sns(self, c: Call) -> list[Request]:
        p, op = c.params, c.operation
        arn = p.get("TopicArn") or p.get("ResourceArn") or self._arn("sns", str(p.get("Name")))
        reqs = [Request(f"sns:{op}", arn)]
        if op == "CreateTopic" and p.get("Tags"):
            reqs.append(Request("sns:TagResource", arn))
        return reqs

    def _ssm(self, c: Call) -> list[Request]:
        """Parameters by name (``Name``, or ``ResourceId`` for the tagging calls); a name with a leading
        slash has none in its ARN. Creating with tags needs the tagging action too."""
        name = str(c.params.get("Name") or c.params["ResourceId"])
        arn = self._arn("ssm", f"parameter/{name.lstrip('/')}")
        reqs = [Request(f"ssm:{c.operation}", arn)]
        if c.operation == "PutParameter" and c.params.get("Tags"):
            reqs.append(Request("ssm:AddTagsToResource", arn))
        return reqs

    def _wafv2(self, c: Call) -> list[Request]:
        """Web ACLs for CloudFront (scope CLOUDFRONT) are ``global`` resources in us-east-1; a new one's
        id is AWS's choice (any id matches the policy's ``*``). Tags at creation need TagResource."""
        p, op = c.params, c.operation
        if op == "ListWebACLs":
            return [Request("wafv2:ListWebACLs", "*")]
        scope = "global" if p.get("Scope", "CLOUDFRONT") == "CLOUDFRONT" else "regional"
        region = "us-east-1" if scope == "global" else self.region
        arn = str(p.get("ResourceARN") or
                  f"arn:aws:wafv2:{region}:{self.account}:{scope}/webacl/{p['Name']}/{p.get('Id', 'new-id')}")
        ctx = {f"aws:RequestTag/{t['Key']}": t["Value"] for t in p.get("Tags") or []} if op == "CreateWebACL" else {}
        reqs = [Request(f"wafv2:{op}", arn, ctx)]
        if op == "CreateWebACL" and p.get("Tags"):
            reqs.append(Request("wafv2:TagResource", arn, ctx))
        return reqs

    def _s3(self, c: Call) -> list[Request]:
        p, op = c.params, c.operation
        bucket = f"arn:aws:s3:::{p['Bucket']}"
        if op == "DeleteObjects":
            out = []
            for obj in p["Delete"]["Objects"]:
                out.append(Request("s3:DeleteObject", f"{bucket}/{obj['Key']}"))
                if obj.get("VersionId"):
                    out.append(Request("s3:DeleteObjectVersion", f"{bucket}/{obj['Key']}"))
            return out
        action = f"s3:{S3_ACTIONS.get(op, op)}"
        return [Request(action, f"{bucket}/{p['Key']}" if "Key" in p else bucket)]

    def _cloudfront(self, c: Call) -> list[Request]:
        p, op = c.params, c.operation
        if (op.startswith("List") and op != "ListTagsForResource") or op == "CreateOriginAccessControl":
            return [Request(f"cloudfront:{op}", "*")]
        if "Resource" in p:
            arn = p["Resource"]
        elif "OriginAccessControl" in op:
            arn = f"arn:aws:cloudfront::{self.account}:origin-access-control/{p.get('Id', '*')}"
        elif "ResponseHeadersPolicy" in op:
            arn = f"arn:aws:cloudfront::{self.account}:response-headers-policy/{p.get('Id', '*')}"
        elif "OriginRequestPolicy" in op:
            arn = f"arn:aws:cloudfront::{self.account}:origin-request-policy/{p.get('Id', '*')}"
        else:
            arn = f"arn:aws:cloudfront::{self.account}:distribution/{p.get('Id') or p.get('DistributionId') or '*'}"
        ctx: dict[str, str] = {}
        if op == "CreateDistributionWithTags":
            tags = p["DistributionConfigWithTags"]["Tags"]["Items"]
            ctx = {f"aws:RequestTag/{t['Key']}": t["Value"] for t in tags}
        return [Request(f"cloudfront:{a}", arn, ctx) for a in CLOUDFRONT_ACTIONS.get(op, [op])]

    def _apigateway(self, c: Call) -> list[Request]:
        verb = re.match(r"[A-Z][a-z]+", c.operation)
        method = APIGATEWAY_METHODS.get(verb.group(0) if verb else "")
        if method is None:
            raise KeyError(f"no IAM mapping for apigateway:{c.operation}")
        arn = f"arn:aws:apigateway:{self.region}::{c.path}"
        reqs = []
        ctx: dict[str, str] = {}
        if c.operation == "CreateRestApi":
            ctx = {f"aws:RequestTag/{k}": v for k, v in (c.params.get("tags") or {}).items()}
        reqs.append(Request(f"apigateway:{method}", arn, ctx))
        if c.operation == "UpdateAccount":
            for patch in c.params.get("patchOperations", []):
                if patch.get("path") == "/cloudwatchRoleArn" and patch.get("value"):
                    reqs.append(Request("iam:PassRole", patch["value"],
                                        {"iam:PassedToService": "apigateway.amazonaws.com"}))
        return reqs
