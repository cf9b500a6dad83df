"""moto_server with the small patches the end-to-end test of the Terraform stack needs.

Each patch fills a gap between moto 5.2.5 and what the AWS provider 5.100 calls or reads back;
the resources stay exactly as they are in the real stack. The gaps are listed in infra/README.md.
Usage: python moto_shim.py [moto_server arguments], e.g. `python moto_shim.py -H 127.0.0.1 -p 5000`.
"""

import inspect
import json
import sys

from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.core.utils import camelcase_to_underscores
from moto.ec2.models.security_groups import SecurityGroupRule
from moto.ecs.responses import EC2ContainerServiceResponse

# --- Gap 1: Application Auto Scaling has no tagging API in moto -------------------------------
# The provider calls ListTagsForResource on every read of aws_appautoscaling_target (and
# TagResource/UntagResource when tags change), so create, refresh, plan and destroy all fail.
# The shim keeps the tags in memory, keyed by ARN, like the real API.
_autoscaling_tags: dict[str, dict[str, str]] = {}


def _list_tags_for_resource(self: ApplicationAutoScalingResponse) -> str:
    arn = self._get_param("ResourceARN")
    return json.dumps({"Tags": _autoscaling_tags.get(arn, {})})


def _tag_resource(self: ApplicationAutoScalingResponse) -> str:
    arn = self._get_param("ResourceARN")
    _autoscaling_tags.setdefault(arn, {}).update(self._get_param("Tags") or {})
    return "{}"


def _untag_resource(self: ApplicationAutoScalingResponse) -> str:
    arn = self._get_param("ResourceARN")
    for key in self._get_param("TagKeys") or []:
        _autoscaling_tags.get(arn, {}).pop(key, None)
    return "{}"


_register_scalable_target = ApplicationAutoScalingResponse.register_scalable_target


def _register_scalable_target_with_tags(self: ApplicationAutoScalingResponse) -> str:
    body = _register_scalable_target(self)
    arn = json.loads(body)["ScalableTargetARN"]
    _autoscaling_tags.setdefault(arn, {}).update(self._get_param("Tags") or {})
    return body


ApplicationAutoScalingResponse.list_tags_for_resource = _list_tags_for_resource
ApplicationAutoScalingResponse.tag_resource = _tag_resource
ApplicationAutoScalingResponse.untag_resource = _untag_resource
ApplicationAutoScalingResponse.register_scalable_target = _register_scalable_target_with_tags


# --- Gap 2: rules that reference a security group or a prefix list lose their description -----
# DescribeSecurityGroupRules reads the description from the CIDR part of a rule only, so a rule
# whose source or destination is another security group or a managed prefix list comes back
# without one and the next plan wants to set it again. The shim keeps and returns it.
_security_group_rule_init = SecurityGroupRule.__init__
_RULE_SIGNATURE = inspect.signature(_security_group_rule_init)


def _security_group_rule_init_keeping_description(self, *args, **kwargs) -> None:
    _security_group_rule_init(self, *args, **kwargs)
    prefix_list = _RULE_SIGNATURE.bind(self, *args, **kwargs).arguments.get("prefix_list_id")
    self._prefix_list_description = (prefix_list or {}).get("Description")


SecurityGroupRule.__init__ = _security_group_rule_init_keeping_description
SecurityGroupRule.description = property(
    lambda rule: rule.ip_range.get("Description")
    or (rule.source_group or {}).get("Description")
    or getattr(rule, "_prefix_list_description", None)
)


# --- Gap 3: CreateService drops part of the service's configuration ---------------------------
# moto's CreateService ignores healthCheckGracePeriodSeconds, enableECSManagedTags,
# availabilityZoneRebalancing and deploymentConfiguration (UpdateService stores them), so the
# next plan wants to change them. The shim stores them at creation the way UpdateService does.
_SERVICE_FIELDS_CREATE_DROPS = (
    "healthCheckGracePeriodSeconds",
    "enableECSManagedTags",
    "availabilityZoneRebalancing",
    "deploymentConfiguration",
)
_create_service = EC2ContainerServiceResponse.create_service


def _create_service_keeping_configuration(self: EC2ContainerServiceResponse):
    result = _create_service(self)
    service = self.ecs_backend._get_service(
        self._get_param("cluster", "default"), self._get_param("serviceName")
    )
    for field in _SERVICE_FIELDS_CREATE_DROPS:
        value = self._get_param(field)
        if value is not None:
            setattr(service, camelcase_to_underscores(field), value)
    return result


EC2ContainerServiceResponse.create_service = _create_service_keeping_configuration


# --- Gap 4: EventBridge delivers no event to an SNS topic --------------------------------------
# A rule whose targets include an SNS topic fails PutEvents with NotImplementedError once an
# event matches (moto delivers to log groups, SQS queues, archives and event buses only). The
# shim publishes a matching event to each topic target, as JSON, and hands the rule's other
# targets to moto. The matching is moto's own; an SQS queue subscribed to the topic receives the
# event the way an on-call integration would.
from moto.events.models import Rule  # noqa: E402
from moto.sns.models import sns_backends  # noqa: E402

_send_to_targets = Rule.send_to_targets


def _send_to_targets_and_topics(self: Rule, original_event, transform_input: bool = True) -> None:
    topics = [t for t in self.targets if t["Arn"].split(":")[2] == "sns"]
    if topics and self.event_pattern.matches_event(original_event):
        for target in topics:
            region, account = target["Arn"].split(":")[3:5]
            sns_backends[account][region].publish(message=json.dumps(original_event), arn=target["Arn"])
    others = [t for t in self.targets if t not in topics]
    if others:
        kept, self.targets = self.targets, others
        try:
            _send_to_targets(self, original_event, transform_input)
        finally:
            self.targets = kept


Rule.send_to_targets = _send_to_targets_and_topics


if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
