"""Why a SWE-bench test log holds no results swebench accepts, said in one line: the output
was cut, eval.sh stopped before its markers, the tests could not import (with the test
command's exit status), no test ran, or the exit status contradicts the log. And notes for a
task not resolved: tests that failed beside network errors, eval.sh's reinstall that failed."""

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
    if found := IMPORT_ERROR.findall(tests):  # the last one names what is missing
        return f"import error{status}: {found[-1].strip()[:200]}"
    return f"no tests ran{status}"


# what Python's socket, urllib3/requests and pip print when a container has no network
NETWORK = re.compile(r"Temporary failure in name resolution|Name or service not known|Network is unreachable"
                     r"|Failed to establish a new connection|nodename nor servname|getaddrinfo failed"
                     r"|No route to host|\[Errno -[23]\]")


# a pytest failure section's header ("____ TestX.test_y[p] ____", "____ ERROR at setup of ... ____");
# a section ends at the next header or at a "=====" rule (the summary)
SECTION = re.compile(r"^_{3,} (?:ERROR at \w+ of )?(\S.*?) _{3,}\n(.*?)(?=^_{3,} |^={5,}|\Z)", re.MULTILINE | re.DOTALL)


def network_note(log: str, failed: list[str]) -> str:
    """A note naming the failed listed tests that need a network: grading has none (swebench's own
    harness gives its containers one). In a pytest log, those whose own failure (its section, or
    its line in the summary) shows a network error; in another, every failed test, as may."""
    found = NETWORK.search(log)
    if not failed or not found:
        return ""
    sections: dict[str, str] = {}
    for header in SECTION.finditer(log):
        sections[header.group(1)] = sections.get(header.group(1), "") + header.group(2)
    summary = {line.split(" ", 2)[1]: line for line in log.splitlines() if line.startswith(("FAILED ", "ERROR "))
               and len(line.split(" ", 2)) > 1}
    evidence = {t: sections.get(".".join(t.split("::")[1:]), "") + summary.get(t, "") for t in failed}
    if any(evidence.values()):  # a pytest log: only failures that show the network errors themselves
        failed = [t for t in failed if NETWORK.search(evidence[t])]
    if not failed:
        return ""
    return (f"; the log shows network errors ({found.group(0)!r}): {', '.join(failed[:5])} may need a network, "
            "which grading does not give (sweb.yaml's dgm_grading_network: true opts in)")


# eval.sh's reinstall as `bash -x` traces it, up to the next traced command
REINSTALL = re.compile(r"^\+ (\S*python\S* -m pip install[^\n]*|pip install[^\n]*|\S*python\S* setup\.py "
                       r"(?:install|develop)[^\n]*)\n(.*?)(?=^\+ |\Z)", re.MULTILINE | re.DOTALL)
MISSING = re.compile(r"No matching distribution found for ([^\s(]+)")
FAILED = re.compile(r"^\s*(?:ERROR|error)\b.*$", re.MULTILINE)


def reinstall_note(log: str) -> str:
    """A note when eval.sh's non-editable reinstall of the repository failed before the tests:
    they then ran against what the image had installed, without the patch. Offline the usual
    cause is a build requirement (setuptools-scm, say) the env lacks."""
    from swebench.harness import constants

    setup = log.split(constants.START_TEST_OUTPUT)[0]
    for found in REINSTALL.finditer(setup):
        if re.search(r"\s(?:-e|--editable)\s|setup\.py develop", found.group(1) + " "):
            continue  # an editable install in the image already serves /testbed as patched
        output = found.group(2)
        # pip reports a resolver conflict as an ERROR line too, and then installs all the same
        if not FAILED.search(output) or "Successfully installed" in output:
            continue
        missing = MISSING.search(output)
        cause = (f"the build needs {missing.group(1)}, which the environment lacks and grading cannot download"
                 if missing else FAILED.findall(output)[-1].strip()[:200])
        return (f"; eval.sh's reinstall `{found.group(1).strip()}` failed ({cause}): the tests ran against the "
                "image's own install")
    return ""
