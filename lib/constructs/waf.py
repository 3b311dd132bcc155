"""A regional WAF web ACL of AWS managed rule groups in front of a load balancer, with logging."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclRule,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclRuleOverrideActionNone,
    Wafv2WebAclRuleVisibilityConfig,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import Wafv2WebAclLoggingConfiguration
from constructs import Construct

from lib.naming import NameKind, ServiceName

#: AWS managed rule groups, in evaluation order, each with the rules of the
#: group that only count instead of blocking: OWASP-style common rules, known
#: bad inputs (Log4Shell and friends), Amazon's IP reputation list, and the
#: anonymous IP list, which blocks VPN, Tor and proxy sources but only counts
#: requests from hosting providers (uptime monitors, partners' servers).
MANAGED_RULE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AWSManagedRulesCommonRuleSet", ()),
    ("AWSManagedRulesKnownBadInputsRuleSet", ()),
    ("AWSManagedRulesAmazonIpReputationList", ()),
    ("AWSManagedRulesAnonymousIpList", ("HostingProviderIPList",)),
)
#: WAF delivers to CloudWatch Logs only into groups named like this.
WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"


def _managed_group(name: str, counted: tuple[str, ...]) -> dict[str, object]:
    statement: dict[str, object] = {"name": name, "vendor_name": "AWS"}
    if counted:
        statement["rule_action_override"] = [
            {"name": rule, "action_to_use": {"count": {}}} for rule in counted
        ]
    return statement


@dataclass(frozen=True)
class WebAclProps:
    """The web ACL ``service``'s name, in front of ``resource_arn``, logging to its own group."""

    service: ServiceName
    #: The load balancer the ACL protects.
    resource_arn: str
    logs_key_arn: str
    log_retention_days: int


class WebAcl(Construct):
    """Allows by default; the managed rule groups block what they match."""

    def __init__(self, scope: Construct, id_: str, props: WebAclProps) -> None:
        super().__init__(scope, id_)
        name = props.service.name()
        self.acl = Wafv2WebAcl(
            self,
            "acl",
            name=name,
            description="managed rule groups in front of the platform load balancer",
            scope="REGIONAL",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            visibility_config=Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            ),
            rule=[
                Wafv2WebAclRule(
                    name=group,
                    priority=priority,
                    override_action=Wafv2WebAclRuleOverrideAction(none=Wafv2WebAclRuleOverrideActionNone()),
                    statement={"managed_rule_group_statement": _managed_group(group, counted)},
                    visibility_config=Wafv2WebAclRuleVisibilityConfig(
                        cloudwatch_metrics_enabled=True, metric_name=group, sampled_requests_enabled=True
                    ),
                )
                for priority, (group, counted) in enumerate(MANAGED_RULE_GROUPS)
            ],
        )
        Wafv2WebAclAssociation(self, "association", resource_arn=props.resource_arn, web_acl_arn=self.acl.arn)
        log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=WAF_LOG_GROUP_PREFIX + props.service.name(NameKind.LOG_GROUP),
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_key_arn,
        )
        Wafv2WebAclLoggingConfiguration(
            self, "logging", resource_arn=self.acl.arn, log_destination_configs=[log_group.arn]
        )
