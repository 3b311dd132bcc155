"""The suffix rule and the name-length limits (lib/naming.py)."""

from __future__ import annotations

import pytest

from lib.naming import (
    SUFFIX_MAX_LENGTH,
    NameKind,
    Namer,
    NameTooLongError,
    SuffixError,
    region_code,
    validate_suffix,
)


@pytest.mark.parametrize("suffix", ["dev", "pr42", "a", "staging", "pr12345678", "x1y2"])
def test_accepts_valid_suffixes(suffix):
    assert validate_suffix(suffix) == suffix


@pytest.mark.parametrize(
    ("suffix", "reason"),
    [
        ("", "it is empty"),
        ("PR42", "uppercase letter 'P'"),
        ("pr 42", "whitespace"),
        ("pr;rm", "character ';'"),
        ("pr$(id)", "character '$'"),
        ("pr-42", "character '-'"),
        ("prü", "non-ASCII character 'ü'"),
        ("4pr", "starts with '4', not a letter"),
        ("p" * (SUFFIX_MAX_LENGTH + 1), f"{SUFFIX_MAX_LENGTH + 1} characters is too long"),
    ],
)
def test_rejects_invalid_suffixes_naming_the_rule(suffix, reason):
    with pytest.raises(SuffixError) as err:
        validate_suffix(suffix)
    message = str(err.value)
    assert reason in message
    assert f"invalid environment suffix {suffix!r}" in message
    assert "lowercase ASCII letter followed by lowercase letters or digits" in message


def namer(**kw) -> Namer:
    args = {
        "project": "tap",
        "env": "pr",
        "suffix": "pr42",
        "region": "us-east-1",
        "account_id": "111111111111",
    }
    return Namer(**(args | kw))


def test_name_pattern_is_env_region_service_suffix():
    assert namer().name("api") == "pr-use1-api-pr42"
    assert namer(region="ap-southeast-2").name("api") == "pr-apse2-api-pr42"


def test_bucket_names_carry_the_account():
    assert namer().bucket("raw") == "pr-use1-raw-pr42-111111111111"


def test_ssm_path_is_hierarchical():
    assert namer().ssm_path("platform", "vpc-id") == "/tap/pr42/platform/vpc-id"


def test_over_long_name_is_an_error_naming_the_resource():
    with pytest.raises(NameTooLongError) as err:
        namer(env="staging", suffix="pr12345678").name("loadbalancer", NameKind.ALB)
    message = str(err.value)
    assert "Application Load Balancer name 'staging-use1-loadbalancer-pr12345678'" in message
    assert "'loadbalancer'" in message
    assert "is 36 characters; the limit is 32" in message


def test_longest_suffix_fits_the_tightest_limits_with_short_service_names():
    longest = namer(env="staging", suffix="p" * SUFFIX_MAX_LENGTH, region="ap-southeast-2")
    assert len(longest.name("web", NameKind.ALB)) <= 32
    assert len(longest.name("web-tg", NameKind.TARGET_GROUP)) <= 32
    assert len(longest.bucket("raw-data")) <= 63


def test_invalid_service_names_rejected():
    with pytest.raises(ValueError, match="invalid service name 'Bad_Name'"):
        namer().name("Bad_Name")
    with pytest.raises(ValueError, match="invalid service name"):
        namer().ssm_path("ok", "-bad")


def test_unknown_region_lists_known_ones():
    with pytest.raises(ValueError, match="unknown region 'mars-1': known regions are ap-northeast-1"):
        region_code("mars-1")


def test_namer_validates_its_suffix_and_region():
    with pytest.raises(SuffixError):
        namer(suffix="Bad")
    with pytest.raises(ValueError, match="unknown region"):
        namer(region="xx-1")
    assert namer().with_region("eu-west-1").name("a") == "pr-euw1-a-pr42"
