"""checkov finds nothing, and every exception to its checks is argued where it is made."""

from __future__ import annotations

import re

import pytest

from tests.infra.checkov_scan import SCANS, CheckovReport
from tests.infra.configuration import INFRA

pytestmark = [pytest.mark.infra, pytest.mark.slow]

ROOTS = tuple(SCANS)
SKIP_COMMENT = re.compile(r"#\s*checkov:skip=(?P<check>[A-Z0-9_]+)(?::(?P<reason>.*))?$", re.M)
MINIMUM_REASON_LENGTH = 40
# Checks that only a cost-optimised, disposable environment may waive.
DEVELOPMENT_ONLY_TOPICS = re.compile(
    r"multi-az|automatic failover|deletion protection|backup", re.IGNORECASE
)
# Resources of an option Production never selects (db_platform's Aurora
# cluster): checkov reads them in every root whatever their count, so their
# waivers show in Production's report although Production deploys none.
DEVELOPMENT_OPTION_RESOURCES = re.compile(r"\.aws_rds_cluster(_instance|_parameter_group)?\.aurora")


def source_skips() -> list[tuple[str, str, str]]:
    """(file, check id, reason) of every skip comment under infra/."""
    return [
        (str(tf_file.relative_to(INFRA)), match["check"], (match["reason"] or "").strip())
        for tf_file in sorted(INFRA.rglob("*.tf"))
        for match in SKIP_COMMENT.finditer(tf_file.read_text(encoding="utf-8"))
    ]


@pytest.mark.parametrize("root", ROOTS)
def test_no_failed_checks(checkov_reports: dict[str, CheckovReport], root: str) -> None:
    report = checkov_reports[root]
    failures = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report.failed]
    assert failures == []
    assert report.summary["failed"] == 0
    assert report.summary["parsing_errors"] == 0
    # A scan that found nothing to check would pass vacuously.
    assert report.summary["passed"] > 0
    assert report.summary["resource_count"] > 0


@pytest.mark.parametrize("root", ROOTS)
def test_every_skip_comes_from_an_inline_comment_with_its_reason(
    checkov_reports: dict[str, CheckovReport], root: str
) -> None:
    reasons = {(check, reason) for _, check, reason in source_skips()}
    for skipped in checkov_reports[root].skipped:
        reason = skipped["check_result"].get("suppress_comment", "")
        assert (skipped["check_id"], reason) in reasons, skipped["resource"]


def test_every_skip_comment_states_a_real_reason() -> None:
    skips = source_skips()
    assert skips
    for file, check, reason in skips:
        assert len(reason) >= MINIMUM_REASON_LENGTH, f"{file}: {check} needs a reason"


def development_skipped(checkov_reports: dict[str, CheckovReport]) -> dict[str, str]:
    """check id -> check name of every check skipped in any scan of Development."""
    return {
        check["check_id"]: check["check_name"]
        for name, report in checkov_reports.items()
        if name.startswith("Development")
        for check in report.skipped
    }


def test_every_skip_comment_is_in_use(checkov_reports: dict[str, CheckovReport]) -> None:
    used = set().union(*(report.skipped_ids for report in checkov_reports.values()))
    unused = {(file, check) for file, check, _ in source_skips() if check not in used}
    assert unused == set()


def test_production_skips_none_of_the_development_only_checks(
    checkov_reports: dict[str, CheckovReport],
) -> None:
    development_only = {
        check for file, check, _ in source_skips() if file.startswith("Development/")
    }
    assert development_only, "Development waives Multi-AZ and deletion protection"
    production = checkov_reports["Production"]
    assert development_only <= set(development_skipped(checkov_reports))
    assert development_only.isdisjoint(production.skipped_ids)
    assert [
        c["check_name"]
        for c in production.skipped
        if DEVELOPMENT_ONLY_TOPICS.search(c["check_name"])
        and not DEVELOPMENT_OPTION_RESOURCES.search(c["resource"])
    ] == []
    assert not any(file.startswith("Production/") for file, _, _ in source_skips())


def test_development_only_skips_are_about_cost_optimised_settings(
    checkov_reports: dict[str, CheckovReport],
) -> None:
    module_level = {check for file, check, _ in source_skips() if file.startswith("Development/")}
    names = development_skipped(checkov_reports)
    for check in module_level:
        assert DEVELOPMENT_ONLY_TOPICS.search(names[check]), names[check]
