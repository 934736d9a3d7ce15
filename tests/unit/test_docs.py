"""Generated docs stay current; the deployer policy covers every AWS operation the tool calls."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_spec_reference_is_current() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import spec_reference

    assert (ROOT / "docs" / "spec-reference.md").read_text() == spec_reference.render(), \
        "run: python scripts/spec_reference.py"


def test_deployer_policy_names_every_service_the_reconcilers_call() -> None:
    policy = json.loads((ROOT / "docs" / "deployer-policy.json").read_text())
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    services = {a.split(":")[0] for a in actions}
    code = "\n".join(p.read_text() for p in (ROOT / "liveinsight_infra").rglob("*.py"))
    # sts:GetCallerIdentity needs no permission (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    used = set(re.findall(r'client\("([a-z0-9]+)"', code)) - {"sts"}
    assert len(used) >= 8
    assert used <= services, f"the policy misses {sorted(used - services)}"
    assert "iam:PassRole" in actions and "*" not in actions
