"""The API Gateway logging role's trust policy, against what API Gateway sends when it assumes it.

AWS documents the CloudWatch role's trust as ``apigateway.amazonaws.com`` with ``sts:AssumeRole`` and
no condition (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html, and
the role in https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigateway-account.html).
``aws:SourceAccount`` is in a request only when the calling service passes it
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceaccount),
and API Gateway documents no such thing for this role: a condition that requires the key would make
the role unassumable. What a request by a service principal always carries is
``aws:PrincipalServiceName`` and ``aws:PrincipalIsAWSService`` (same page); ``sts:AssumeRole``'s own keys
(tests/iam_reference.py) are about federation, tags and session names, none of which API Gateway sets.
docs/aws-fidelity.md records the decision.
"""

from __future__ import annotations

from typing import Any

from liveinsight_infra.reconcilers.apigateway_account import assume_role
from tests import iam_reference as ref
from tests.iam_sim import Request, decide

ACCOUNT, OTHER = "123456789012", "210987654321"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/liveinsight-apigateway-logs"
# The context of API Gateway's AssumeRole, as AWS documents it for a service principal.
DOCUMENTED = {"aws:PrincipalServiceName": "apigateway.amazonaws.com", "aws:PrincipalIsAWSService": "true"}


def trust_allows(context: dict[str, str], principal: str = "apigateway.amazonaws.com") -> bool:
    """The trust policy's verdict for an AssumeRole by ``principal`` (the Principal element is matched
    here; the simulator evaluates Action, Resource and Condition)."""
    doc: dict[str, Any] = assume_role(ACCOUNT)
    statements = [{**{k: v for k, v in s.items() if k != "Principal"}, "Resource": "*"}
                  for s in doc["Statement"] if s["Principal"] == {"Service": principal}]
    return decide({"Statement": statements}, Request("sts:AssumeRole", ROLE, context)) == "allow"


def test_api_gateway_can_assume_the_role_with_the_context_aws_documents() -> None:
    assert trust_allows(DOCUMENTED)


def test_the_trust_names_only_keys_aws_defines_for_sts_assume_role() -> None:
    assert ref.problems(assume_role(ACCOUNT), "trust") == []
    required = [key for st in assume_role(ACCOUNT)["Statement"]
                for op, checks in (st.get("Condition") or {}).items() if not op.endswith("IfExists")
                for key in checks]
    assert [k for k in required if k not in DOCUMENTED] == []  # nothing required that is not sent


def test_another_account_as_the_source_is_still_refused() -> None:
    """Should API Gateway pass aws:SourceAccount, only this account's is accepted (the confused deputy)."""
    assert trust_allows({**DOCUMENTED, "aws:SourceAccount": ACCOUNT})
    assert not trust_allows({**DOCUMENTED, "aws:SourceAccount": OTHER})
    assert not trust_allows(DOCUMENTED, principal="lambda.amazonaws.com")
