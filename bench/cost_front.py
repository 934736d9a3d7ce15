"""The ingest fronts the tool builds, read back from a stack applied on moto, as bench/cost.py prices
them: what a tracker's ``POST /api/event`` passes before the collector is what the distribution's
first behavior matching that path sends it to. So the figure of ``ingest.front: function_url`` is
the price of what ``apply`` builds for it, not of a description:

* the behavior's origin is the collector's function URL (``*.lambda-url.*.on.aws``): CloudFront's
  request fee only; the URL must take auth type NONE and the origin must carry the origin secret
  (else the bench refuses: the front would be open or broken);
* it is the REST API (``*.execute-api.*``): CloudFront's and the REST API's request fees, and the
  stage's access log line when the stage writes one;
* a web ACL on the distribution is reported (the bench prices WAF in its own column).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cost_model import Front

ROOT = Path(__file__).resolve().parent.parent
EVENT_PATH = "/api/event"


@dataclass(frozen=True)
class BuiltFront:
    """What the applied stack puts in front of the collector."""

    spec_front: str  # ingest.front
    origin_domain: str
    origin_kind: str  # "function_url" or "rest_api"
    origin_secret: bool  # the origin carries X-Origin-Verify
    url_auth_type: str | None  # the function URL's, when the origin is one
    access_log: bool  # the stage writes an access log line per request (REST only)
    web_acl: bool


def read_event_path(aws: Any, spec: Any) -> BuiltFront:
    """The event path of the stack of ``spec`` as AWS (moto) has it; reads only."""
    from liveinsight_infra import naming
    from liveinsight_infra.reconcilers.cloudfront import marker
    from liveinsight_infra.reconcilers.lambda_ import ALIAS

    cf = aws.client("cloudfront")
    (dist,) = [d for d in cf.list_distributions()["DistributionList"]["Items"] if d["Comment"] == marker(spec)]
    config = cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]
    behaviors = (config.get("CacheBehaviors") or {}).get("Items") or []
    target = next((b["TargetOriginId"] for b in behaviors if fnmatch.fnmatchcase(EVENT_PATH, b["PathPattern"])),
                  config["DefaultCacheBehavior"]["TargetOriginId"])
    origin = next(o for o in config["Origins"]["Items"] if o["Id"] == target)
    domain = str(origin["DomainName"])
    secret = any(h["HeaderName"].lower() == "x-origin-verify" for h in (origin.get("CustomHeaders") or {}).get(
        "Items") or [])
    if ".lambda-url." in domain:
        key = spec.event_function
        fn = naming.function_name(spec, key)
        auth = aws.client("lambda").get_function_url_config(FunctionName=fn, Qualifier=ALIAS)["AuthType"]
        return BuiltFront(spec.ingest.front, domain, "function_url", secret, auth, False, bool(config.get("WebACLId")))
    if ".execute-api." not in domain:
        raise SystemExit(f"the event path goes to {domain}: neither a function URL nor the REST API")
    ag = aws.client("apigateway")
    api_id = domain.split(".", 1)[0]
    stage = ag.get_stage(restApiId=api_id, stageName=spec.api.stage)
    logged = bool((stage.get("accessLogSettings") or {}).get("destinationArn"))
    return BuiltFront(spec.ingest.front, domain, "rest_api", secret, None, logged, bool(config.get("WebACLId")))


def as_front(built: BuiltFront, access_log_bytes: int) -> Front:
    """The ``cost_model.Front`` of what was built."""
    if built.origin_kind == "function_url":
        if built.url_auth_type != "NONE" or not built.origin_secret:
            raise SystemExit(f"the function URL front was built with auth type {built.url_auth_type} and "
                             f"{'an' if built.origin_secret else 'no'} origin secret: not what docs/ingest-front.md "
                             "describes")
        return Front("function_url", "CloudFront -> function URL, origin secret (built: ingest.front: function_url)",
                     ("cloudfront_request",))
    return Front("rest", "CloudFront -> REST API -> collector (built: the default)",
                 ("cloudfront_request", "apigw_rest_request"),
                 access_log_bytes=access_log_bytes if built.access_log else 0)


def spec_with_front(base: str, front: str) -> Any:
    """``specs/{base}.yaml`` with ``ingest.front`` set, loaded as if it were that file."""
    from liveinsight_infra.spec.loader import LoadedSpec, parse_spec

    path = ROOT / "specs" / f"{base}.yaml"
    data = yaml.safe_load(path.read_text())
    ingest = data.get("ingest")
    data["ingest"] = {**(ingest if isinstance(ingest, dict) else {"mode": ingest or "direct"}), "front": front}
    return LoadedSpec(parse_spec(yaml.safe_dump(data, sort_keys=False), str(path)), path)


def built_fronts(access_log_bytes: int) -> list[tuple[BuiltFront, Front]]:
    """Apply dev.yaml with each ``ingest.front`` on a fresh moto and read back what each built."""
    import boto3

    from liveinsight_infra.aws.provider import AwsProvider
    from liveinsight_infra.engine import Context, Engine
    from liveinsight_infra_moto.backend import embedded_moto

    out = []
    for front in ("rest", "function_url"):
        loaded = spec_with_front("dev", front)
        with embedded_moto():  # what `apply --moto` runs on
            aws = AwsProvider("us-east-1", session=boto3.Session())
            engine = Engine(Context(loaded, aws, sleep=lambda _s: None))
            engine.apply(engine.plan())
            built = read_event_path(aws, loaded.spec)
        out.append((built, as_front(built, access_log_bytes)))
    return out
