"""Resource naming: the one place that builds AWS names and checks their limits.

Every resource name in every stack comes from :class:`Namer`. A name that would
exceed its service's limit is a synth-time :class:`NameTooLongError` naming the
resource, never a silent truncation (two truncated names could collide).

The environment suffix rule lives here too (:func:`validate_suffix`): the CLI,
``tap.py`` and the config loader all call it, so there is exactly one rule.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

#: A suffix is a lowercase letter followed by lowercase letters or digits.
SUFFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]*$")
#: Longest accepted suffix. With the longest environment name (``staging``),
#: the longest region code (5) and the longest ALB/target-group service name
#: (``SERVICE_MAX_FOR_32``), every 32-character name still fits.
SUFFIX_MAX_LENGTH = 10

_SERVICE_PATTERN = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$")

#: Short region codes keep names inside the tight limits (ALB: 32 characters).
REGION_CODES: dict[str, str] = {
    "us-east-1": "use1",
    "us-east-2": "use2",
    "us-west-1": "usw1",
    "us-west-2": "usw2",
    "ca-central-1": "cac1",
    "sa-east-1": "sae1",
    "eu-west-1": "euw1",
    "eu-west-2": "euw2",
    "eu-west-3": "euw3",
    "eu-central-1": "euc1",
    "eu-north-1": "eun1",
    "ap-south-1": "aps1",
    "ap-southeast-1": "apse1",
    "ap-southeast-2": "apse2",
    "ap-northeast-1": "apne1",
    "ap-northeast-2": "apne2",
}


class SuffixError(ValueError):
    """An environment suffix breaks the suffix rule."""


class NameTooLongError(ValueError):
    """A generated name exceeds its service's limit."""


def validate_suffix(suffix: str) -> str:
    """Return ``suffix`` if it follows the rule, else raise :class:`SuffixError`.

    The message names the input and the broken rule.
    """
    rule = (
        "must be a lowercase ASCII letter followed by lowercase letters or digits, "
        f"1-{SUFFIX_MAX_LENGTH} characters"
    )
    if not isinstance(suffix, str) or suffix == "":
        raise SuffixError(f"invalid environment suffix '': it is empty; it {rule}")
    if len(suffix) > SUFFIX_MAX_LENGTH:
        raise SuffixError(
            f"invalid environment suffix {suffix!r}: {len(suffix)} characters is too long; it {rule}"
        )
    if SUFFIX_PATTERN.match(suffix):
        return suffix
    bad = next((c for c in suffix if not (c.isascii() and (c.islower() or c.isdigit()))), None)
    if bad is None:  # only letters/digits, so it starts with a digit
        why = f"it starts with {suffix[0]!r}, not a letter"
    elif not bad.isascii():
        why = f"it contains the non-ASCII character {bad!r}"
    elif bad.isupper():
        why = f"it contains the uppercase letter {bad!r}"
    elif bad.isspace():
        why = "it contains whitespace"
    else:
        why = f"it contains the character {bad!r}"
    raise SuffixError(f"invalid environment suffix {suffix!r}: {why}; it {rule}")


def region_code(region: str) -> str:
    try:
        return REGION_CODES[region]
    except KeyError:
        known = ", ".join(sorted(REGION_CODES))
        raise ValueError(f"unknown region {region!r}: known regions are {known}") from None


class NameKind(enum.Enum):
    """AWS resource kinds with their name-length limits."""

    ALB = ("Application Load Balancer", 32)
    TARGET_GROUP = ("target group", 32)
    S3_BUCKET = ("S3 bucket", 63)
    IAM_ROLE = ("IAM role", 64)
    IAM_POLICY = ("IAM policy", 128)
    LAMBDA = ("Lambda function", 64)
    LAMBDA_LAYER = ("Lambda layer", 64)
    DYNAMODB_TABLE = ("DynamoDB table", 255)
    SQS_QUEUE = ("SQS queue", 80)
    SNS_TOPIC = ("SNS topic", 256)
    LOG_GROUP = ("CloudWatch log group", 512)
    ALARM = ("CloudWatch alarm", 255)
    DASHBOARD = ("CloudWatch dashboard", 255)
    STATE_MACHINE = ("Step Functions state machine", 80)
    API = ("API Gateway API", 128)
    ECS_CLUSTER = ("ECS cluster", 255)
    ECS_SERVICE = ("ECS service", 255)
    ECR_REPOSITORY = ("ECR repository", 256)
    RDS_INSTANCE = ("RDS instance", 63)
    SECURITY_GROUP = ("security group", 255)
    GENERIC = ("resource", 255)

    @property
    def label(self) -> str:
        return self.value[0]

    @property
    def limit(self) -> int:
        return self.value[1]


@dataclass(frozen=True)
class Namer:
    """Builds ``{env}-{region}-{service}-{suffix}`` names for one environment."""

    project: str
    env: str
    suffix: str
    region: str
    account_id: str

    def __post_init__(self) -> None:
        validate_suffix(self.suffix)
        region_code(self.region)

    def with_region(self, region: str) -> Namer:
        return Namer(self.project, self.env, self.suffix, region, self.account_id)

    def for_service(self, service: str) -> ServiceName:
        """The names of ``service`` (what a construct is given to name its resources)."""
        return ServiceName(self, service)

    def name(self, service: str, kind: NameKind = NameKind.GENERIC) -> str:
        """The name of ``service`` (e.g. ``"ingest"``) as a resource of ``kind``."""
        _check_service(service)
        return _check_length(name_pattern(self.env, self.region, service, self.suffix), service, kind)

    def bucket(self, service: str) -> str:
        """S3 bucket names are global: the account id makes them unique."""
        _check_service(service)
        return _check_length(
            f"{self.env}-{region_code(self.region)}-{service}-{self.suffix}-{self.account_id}",
            service,
            NameKind.S3_BUCKET,
        )

    def ssm_path(self, *parts: str) -> str:
        """Hierarchical SSM parameter name ``/{project}/{suffix}/...``."""
        for part in parts:
            _check_service(part)
        return "/" + "/".join((self.project, self.suffix, *parts))


@dataclass(frozen=True)
class ServiceName:
    """One service of one environment: ``namer`` and ``service`` (e.g. ``"dpl"``), checked
    once, passed to a construct as one value instead of two loose arguments."""

    namer: Namer
    service: str

    def __post_init__(self) -> None:
        _check_service(self.service)

    def name(self, kind: NameKind = NameKind.GENERIC) -> str:
        """``namer.name(service, kind)``."""
        return self.namer.name(self.service, kind)

    def part(self, part: str) -> ServiceName:
        """The names of ``<service>-<part>`` (a piece of this service, e.g. its ``dlq``)."""
        return ServiceName(self.namer, f"{self.service}-{part}")


def name_pattern(env: str, region: str, service: str, suffix: str) -> str:
    """``{env}-{region code}-{service}-{suffix}``; with a glob as ``suffix`` (``pr*``), the
    pattern of every instance's name (IAM policies of the CI roles)."""
    return f"{env}-{region_code(region)}-{service}-{suffix}"


def _check_service(service: str) -> None:
    if not _SERVICE_PATTERN.match(service):
        raise ValueError(f"invalid service name {service!r}: use lowercase letters, digits and inner hyphens")


def _check_length(name: str, service: str, kind: NameKind) -> str:
    if len(name) > kind.limit:
        raise NameTooLongError(
            f"{kind.label} name {name!r} for {service!r} is {len(name)} characters; "
            f"the limit is {kind.limit}. Shorten the service name or the environment suffix."
        )
    return name
