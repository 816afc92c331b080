#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Compare iscsi-test-cu results with the list of expected failures.

Usage: libiscsi_compare.py RESULTS_DIR EXPECTED_FILE

RESULTS_DIR holds one directory per suite, each with the CUnit XML report
(CUnitAutomated-Results.xml) that `iscsi-test-cu -x` wrote there and a file
`rc` with its exit status. EXPECTED_FILE has one test per line,
"Suite.Test reason...", '#' comments allowed; every entry needs a reason.

Exit 0 only when the failures are exactly the expected ones: an unexpected
failure fails, and so does an expected failure that now passes or an entry
naming a test that did not run (the list may only shrink). A suite whose
report is missing or cut short (iscsi-test-cu crashed or timed out) counts as
a failure of "Suite.(run)".
"""
import os
import sys
import xml.etree.ElementTree as ET


def text(elem, tag):
    child = elem.find(tag)
    return child.text.strip() if child is not None and child.text else ""


def parse_suite(sdir, suite):
    """Return ({test: [failure details]}, set of passed tests) for one suite."""
    failed, passed = {}, set()
    path = os.path.join(sdir, "CUnitAutomated-Results.xml")
    rc = "?"
    try:
        with open(os.path.join(sdir, "rc")) as f:
            rc = f.read().strip()
    except OSError:
        pass
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        failed[suite + ".(run)"] = ["no complete report (exit status %s): %s" % (rc, e)]
        return failed, passed
    for rec in root.iter("CUNIT_RUN_TEST_RECORD"):
        for res in rec:
            name = suite + "." + text(res, "TEST_NAME")
            if res.tag == "CUNIT_RUN_TEST_SUCCESS":
                passed.add(name)
            elif res.tag == "CUNIT_RUN_TEST_FAILURE":
                failed.setdefault(name, []).append("%s:%s: %s" % (
                    text(res, "FILE_NAME"), text(res, "LINE_NUMBER"),
                    text(res, "CONDITION")))
    for rec in root.iter("CUNIT_RUN_SUITE_FAILURE"):
        # A suite whose init/cleanup failed (e.g. could not log in).
        failed.setdefault(suite + ".(run)", []).append(
            "suite failed: %s" % text(rec, "FAILURE_REASON"))
    if root.find("CUNIT_RUN_SUMMARY") is None:
        failed.setdefault(suite + ".(run)", []).append(
            "report cut short (exit status %s)" % rc)
    # CUnit records one line per failed assertion; a test with any failed
    # assertion failed, even if another record of it says success.
    passed -= set(failed)
    return failed, passed


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rdir, expected_file = sys.argv[1:]
    expected, bad = {}, []
    with open(expected_file) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(None, 1)
            if len(parts) < 2:
                bad.append("%s:%d: entry without a reason: %s" % (expected_file, n, line))
                continue
            expected[parts[0]] = parts[1]
    failed, passed = {}, set()
    suites = sorted(os.listdir(rdir))
    for suite in suites:
        sdir = os.path.join(rdir, suite)
        if os.path.isdir(sdir):
            f, p = parse_suite(sdir, suite)
            failed.update(f)
            passed |= p

    unexpected = sorted(t for t in failed if t not in expected)
    now_pass = sorted(t for t in expected if t in passed)
    ran_suites = set(suites)
    stale = sorted(t for t in expected
                   if t not in passed and t not in failed and t.split(".")[0] in ran_suites)
    exp_failed = sorted(t for t in failed if t in expected)

    for t in unexpected:
        print("UNEXPECTED FAILURE: %s" % t)
        for d in failed[t][:5]:
            print("    %s" % d)
    for t in now_pass:
        print("NOW PASSES (remove it from %s): %s" % (os.path.basename(expected_file), t))
    for t in stale:
        print("STALE ENTRY (test did not run): %s" % t)
    for b in bad:
        print(b)
    total = len(passed) + len(failed)
    print("%d tests, %d failures, %d expected" % (total, len(failed), len(exp_failed)))
    sys.exit(1 if unexpected or now_pass or stale or bad else 0)


if __name__ == "__main__":
    main()
