"""The origin secret: what CloudFront sends the API so the functions know a request came through it.

CloudFront adds the secret to every request for the API (``X-Origin-Verify``, an origin custom
header: ``cloudfront.py``); the stage hands the functions the SHA-256 digests of the secrets they
accept (``apigateway_stage.py``); a client of the execute-api URL knows neither, so its
``CloudFront-Viewer-*`` headers are not believed (handlers/shared/visitors.py).

The secret lives in an SSM SecureString parameter, ``/{project}-{env}/origin-secret`` (a standard
parameter: no charge), encrypted with the account's ``aws/ssm`` key. The stateless tool finds it
again by name; its ownership tag says it is this stack's. Its value is JSON: ``current`` (what
CloudFront sends) and, during a rotation, ``previous`` (still accepted until every edge sends the
new one). Generated here with ``secrets.token_urlsafe``; it is a :class:`~..sensitive.Sensitive`
everywhere it travels, so no plan, event or error prints it.

Rotation (``apply --rotate-origin-secret``): the new secret becomes ``current``, the old one
``previous``. The stage accepts both before the distribution changes (the distribution depends on
the stage), so no request in flight is refused. ``previous`` is retired by the first apply that
finds the distribution deployed with ``current`` (``Stack.apply`` runs that apply itself after a
rotation); until then it stays accepted.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from .. import naming
from ..diff import fields_of, tag_list_to_dict, user_tags
from ..errors import LiveInsightError
from ..plan import UNKNOWN, Change, FieldDiff
from ..sensitive import Sensitive
from .base import Context, Observed, Outputs, Reconciler
from .cloudfront import origin_secret_sent
from .kind_outputs import OriginSecretOutputs, keys

_USABLE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")  # what generate() makes; any other value is replaced
ROTATION_UNDER_WAY = ("a rotation of the origin secret is still under way: CloudFront has not yet deployed the "
                      "new secret to every edge, so the previous one is still accepted. Run apply once the "
                      "distribution is deployed (it retires the previous secret), then rotate again.")


def parse_value(text: str) -> tuple[Sensitive | None, Sensitive | None]:
    """(current, previous) from the parameter's value; None for what is missing or unusable."""
    try:
        data = json.loads(text)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None

    def usable(value: Any) -> Sensitive | None:
        return Sensitive(value) if isinstance(value, str) and _USABLE.match(value) else None

    return usable(data.get("current")), usable(data.get("previous"))


def settled(current: Sensitive, cloudfront: tuple[str | None, bool] | None) -> bool:
    """Whether no edge can still send another secret than ``current``: there is no distribution, or it
    is deployed with ``current``."""
    if cloudfront is None:
        return True
    sent, deployed = cloudfront
    return deployed and sent is not None and Sensitive(sent) == current


class OriginSecretReconciler(Reconciler):
    kind = "ssm.parameter"
    output_keys = keys(OriginSecretOutputs)
    replace_fields = frozenset({"type"})  # a String cannot become a SecureString in place

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self._stored: tuple[Sensitive | None, Sensitive | None] = (None, None)  # as read, never overwritten
        self._cloudfront: tuple[str | None, bool] | None = None
        self._new: Sensitive | None = None  # generated once per run
        self._new_lock = threading.Lock()  # dependants' changes may ask for it from several threads

    def names(self) -> list[str]:
        return [naming.origin_secret_parameter(self.spec)]

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        name = self.names()[0]
        ssm = self.client("ssm")
        found = self.read(name, "GetParameter", lambda: ssm.get_parameter(Name=name, WithDecryption=True),
                          absent=("ParameterNotFound",))
        param = found["Parameter"] if found is not None else None
        tags = self._tags(name) if param is not None else {}
        if not for_destroy:  # after the parameter's reads: the distribution's lookup is the longer chain
            self._cloudfront = origin_secret_sent(self)
        if param is None:
            return {}
        self._stored = parse_value(str(param.get("Value", "")))
        current, previous = self._stored
        state = {"type": param.get("Type"), "current": current, "previous": previous, "tags": user_tags(tags)}
        return {name: Observed(state, {}, naming.is_owned(self.spec, tags))}

    def _tags(self, name: str) -> dict[str, str]:
        with self.calling(name, "ListTagsForResource"):
            listed = self.client("ssm").list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
        return tag_list_to_dict(listed.get("TagList"))

    def _generated(self) -> Sensitive:
        with self._new_lock:
            if self._new is None:
                self._new = Sensitive.generate()
            return self._new

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        stored_current, stored_previous = self._stored
        current = stored_current or self._generated()
        previous = stored_previous
        if self.ctx.rotate_origin_secret:
            if stored_previous is not None and not settled(current, self._cloudfront):
                raise LiveInsightError(ROTATION_UNDER_WAY)
            previous, current = stored_current, self._generated()
        elif previous is not None and settled(current, self._cloudfront):
            previous = None  # every edge sends the current secret: the previous one is retired
        return {"type": "SecureString", "current": current, "previous": previous,
                "tags": naming.resource_tags(self.spec)}

    def plan(self, outputs: Outputs, destroy: bool = False) -> list[Change]:
        changes = super().plan(outputs, destroy)
        if not destroy and self.names():
            want = self.desired(self.names()[0], outputs)
            if want["previous"] is not None and not self.ctx.rotate_origin_secret:
                self.notes.append("the previous origin secret is still accepted while CloudFront deploys the "
                                  "current one; the next apply after that retires it")
        return changes

    # -- writes ----------------------------------------------------------------------------------
    def _value(self, desired: dict[str, Any]) -> str:
        previous = desired["previous"]
        return json.dumps({"current": desired["current"].reveal(),
                           "previous": previous.reveal() if previous is not None else None})

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        ssm = self.client("ssm")
        tags = [{"Key": k, "Value": v} for k, v in sorted(desired["tags"].items())]
        with self.calling(name, "PutParameter", ignore=("ParameterAlreadyExists",)):
            ssm.put_parameter(Name=name, Value=self._value(desired), Type="SecureString", Tier="Standard",
                              Description=f"LiveInsight {naming.stack_id(self.spec)}: the origin secret "
                                          "CloudFront sends the API (docs/security.md)", Tags=tags)
            return Observed(dict(desired), {}, True)
        # It exists: an interrupted apply made it (its answer was lost), or someone else did.
        have = self._tags(name)
        self.refuse_foreign(name, naming.is_owned(self.spec, have))
        return self.converge(name, desired, Observed({"type": "SecureString", "tags": user_tags(have)}, {}, True))

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        ssm = self.client("ssm")
        have = current.state
        if fields_of(diffs) & {"current", "previous"}:
            with self.calling(name, "PutParameter"):
                ssm.put_parameter(Name=name, Value=self._value(desired), Type="SecureString", Overwrite=True)
        self.sync_tags(name, have.get("tags") or {}, desired["tags"],
                       lambda t: ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name,
                                                          Tags=[{"Key": k, "Value": v} for k, v in sorted(t.items())]),
                       lambda k: ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=k))
        return Observed(dict(desired), current.meta, True)

    def delete(self, name: str, current: Observed) -> None:
        with self.calling(name, "DeleteParameter", ignore=("ParameterNotFound",)):
            self.client("ssm").delete_parameter(Name=name)

    def outputs(self, name: str, current: Observed | None) -> OriginSecretOutputs:
        """The secret read from the parameter is known at plan time, so dependants plan with the final
        values; one this run makes is known once the parameter's change is done (an apply makes its
        own: no plan, saved or shown, holds one)."""
        want = self.desired(name, {})
        if name in self.planned and name not in self.executed and want["current"] != self._stored[0]:
            return {"value": UNKNOWN, "digests": UNKNOWN}
        accepted = [s for s in (want["current"], want["previous"]) if s is not None]
        return {"value": want["current"], "digests": ",".join(s.digest for s in accepted)}
