"""Why a SWE-bench test log holds no results swebench accepts, said in one line: the output
was cut, eval.sh stopped before its markers, the tests could not import (with the test
command's exit status), no test ran, or the exit status contradicts the log."""

from __future__ import annotations

import re
from typing import Any

CUT = re.compile(r"\[output cut: [^\]]*\]")
IMPORT_ERROR = re.compile(r"^.*\b(?:ImportError|ModuleNotFoundError)\b.*$", re.MULTILINE)


def no_results_reason(log: str, spec: Any) -> str:
    from swebench.harness import constants
    from swebench.harness.grading import parse_test_exit_code
    from swebench.harness.log_parsers import PARSER_REGISTRY

    for code in (constants.APPLY_PATCH_FAIL, constants.RESET_FAILED, constants.TESTS_ERROR, constants.TESTS_TIMEOUT):
        if code in log:
            return f"the test log holds swebench's failure marker {code.strip('> ')!r}"
    start, end = constants.START_TEST_OUTPUT, constants.END_TEST_OUTPUT
    cut = CUT.search(log)
    if start not in log or end not in log:
        lost = " and ".join(m for m in (start, end) if m not in log)
        if cut:
            return f"output cut ({cut.group(0)[1:-1]}): the marker {lost} is lost"
        return f"eval.sh stopped before printing {lost} (see test_output.txt)"
    tests = log.split(start)[1].split(end)[0]
    code = parse_test_exit_code(log)
    status = f", the test command exited {code}" if code is not None else ""
    if PARSER_REGISTRY[spec.log_parser](tests, spec):
        return f"the test log reports no failure{status}: the log contradicts the run"
    if found := IMPORT_ERROR.search(tests):
        return f"import error{status}: {found.group(0).strip()[:200]}"
    return f"no tests ran{status}"
