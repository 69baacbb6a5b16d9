"""What a Polyglot grading counts, on the host: how many tests the pristine test files declare
(per language, static), what each runner's own summary says (the last one, and for Rust only the
test files' own targets), which markers count (only the supervisor's, ending with its nonce), and
the verdict a test run that exited 0 gets when it proves nothing."""

from __future__ import annotations

from benchmarks.polyglot import read_phases
from benchmarks.polyglot_toolchains import TOOLCHAINS, Tally, failure_reason, java_classes, unproven_reason

RUST = """use x::*;
#[cfg(feature = "io")]
use std::io::Read;

#[test]
fn plain() { assert_eq!(f("{"), '}'); }

#[test]
#[ignore]
fn ignored_is_run_too() {}

// #[test] in a comment
/* #[test] fn commented() {} */
#[test]
#[cfg(feature = "extra")]
fn switched_off() {}

#[cfg(feature = "io")]
mod io {
    #[test]
    fn inside_a_switched_off_module() {}
}

mod more {
    use super::*;
    #[test]
    fn nested<'a>() { let s: &'a str = "#[test]"; }
}
"""


def test_rust_counts_test_functions_a_feature_does_not_switch_off():
    assert TOOLCHAINS["rust"].declared({"tests/x.rs": RUST}) == 3


def test_rust_counts_by_its_syntax_tree_a_module_switched_off_from_inside_and_tricky_literals():
    tests = {"tests/y.rs": """mod on {
    #[test]
    fn raw() { let _ = r#"}}" #[test] fn fake() {}"#; let _ = '{'; }
}
mod off {
    #![cfg(feature = "extra")]
    #[test]
    fn gated() {}
}
#[cfg(not(feature = "extra"))]
#[test]
fn without_the_feature() { let _: Vec<Vec<u8>> = vec![]; }
"""}
    assert TOOLCHAINS["rust"].declared(tests) == 2


def test_go_counts_top_level_tests_not_subtests_or_testmain():
    text = """package x
func TestA(t *testing.T) { t.Run("sub", func(t *testing.T) {}) }
func TestB(t *testing.T) {}
func TestMain(m *testing.M) {}
func helperTest(t *testing.T) {}
func BenchmarkC(b *testing.B) {}
"""
    assert TOOLCHAINS["go"].declared({"x_test.go": text}) == 2
    # of the files a plain go test builds
    steps = {"x_test.go": text, "step2_test.go": "//go:build step2 || (!step1 && !step3)\n\npackage x\n" + text,
             "bonus_test.go": "//go:build bonus\n// +build bonus\n\npackage x\n" + text}
    assert TOOLCHAINS["go"].declared(steps) == 4
    run = "=== RUN   TestA\n=== RUN   TestA/sub\n    --- PASS: TestA/sub (0.00s)\n--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.00s)\nFAIL\nFAIL\tx\t0.004s\n"
    assert TOOLCHAINS["go"].tally(run, ("x_test.go",)) == Tally(1, 1)
    assert TOOLCHAINS["go"].tally(run.replace("FAIL\tx\t0.004s\n", ""), ("x_test.go",)) is None  # no package line
    assert TOOLCHAINS["go"].tally("testing: warning: no tests to run\nPASS\nok  \tx\t0.003s\n", ()) == Tally(0, 0)


def test_javascript_counts_test_and_it_after_enabling_but_not_skips_or_regex_test():
    text = TOOLCHAINS["javascript"].enable_tests(
        "describe('x', () => {\n  test('a', () => {});\n  xtest('b', () => {});\n  xit('c', () => {});\n"
        "  test.skip('d', () => {});\n  it('e', () => { expect(/x/.test('x')).toBe(true); });\n});\n")
    assert TOOLCHAINS["javascript"].declared({"x.spec.js": text}) == 4
    assert TOOLCHAINS["javascript"].tally("Tests:       1 failed, 1 skipped, 3 passed, 5 total\n", ()) == Tally(3, 1)


def test_java_counts_test_annotations_and_selects_the_test_classes_by_name():
    text = "package a.b;\nclass XTest {\n  @Test\n  void one() {}\n  @Test void two() {}\n  @TestFactory\n  void no() {}\n}\n"
    assert TOOLCHAINS["java"].declared({"src/test/java/a/b/XTest.java": text}) == 2
    assert java_classes({"src/test/java/a/b/XTest.java": text}) == "--select-class a.b.XTest"
    summary = "[         3 tests found           ]\n[         1 tests aborted         ]\n[         2 tests successful      ]\n[         0 tests failed          ]\n"
    assert TOOLCHAINS["java"].tally(summary, ()) == Tally(2, 0)


def test_python_and_cpp_count_test_functions_and_test_cases():
    python = "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        pass\n    def helper(self):\n        pass\ndef test_b():\n    pass\n"
    assert TOOLCHAINS["python"].declared({"x_test.py": python}) == 2
    cpp = ('#ifdef EXERCISM_TEST_SUITE\n#include <catch2/catch.hpp>\n#else\n#include "test/catch.hpp"\n#endif\n'
           'TEST_CASE("a") {}\n#if defined(EXERCISM_RUN_ALL_TESTS)\nTEST_CASE("b", "[tag]") {}\n#ifndef M_PI\n#endif\n'
           'TEST_CASE("c") {}\n#endif\n// TEST_CASE("d")\n#if defined(EXERCISM_INCLUDE_BENCHMARK)\nTEST_CASE("e") {}\n'
           '#else\nTEST_CASE("f") {}\n#endif\n')
    assert TOOLCHAINS["cpp"].declared({"x_test.cpp": cpp}) == 4  # a, b, c and f
    assert TOOLCHAINS["cpp"].tally("test cases: 5 | 3 passed | 2 failed\n", ()) == Tally(3, 2)
    assert TOOLCHAINS["cpp"].tally("All tests passed (9 assertions in 4 test cases)\n", ()) == Tally(4, 0)


def test_pytest_takes_its_last_summary_and_counts_skips_as_not_passed():
    run = "print: 4 passed in 0.01s\n..\n1 failed, 1 passed, 2 skipped in 0.05s\n"
    assert TOOLCHAINS["python"].tally(run, ()) == Tally(1, 1)
    assert TOOLCHAINS["python"].tally("1 skipped in 0.01s\n", ()) == Tally(0, 0)


def test_cargo_counts_only_the_test_files_targets():
    run = """     Running unittests src/lib.rs (target/debug/deps/x-1)
running 5 tests
test result: ok. 5 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
     Running tests/x.rs (target/debug/deps/x-2)
running 3 tests
test a ... ok
test b ...    Doc-tests x
running 0 tests
test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
"""
    # the test file's binary ended before its result line; the library's 5 and the doc-tests' 0 are not its
    assert TOOLCHAINS["rust"].tally(run, ("tests/x.rs",)) is None
    whole = run.replace("test b ...    Doc", "test b ... FAILED\ntest result: FAILED. 2 passed; 1 failed; 0 ignored\n   Doc")
    assert TOOLCHAINS["rust"].tally(whole, ("tests/x.rs",)) == Tally(2, 1)


def test_a_run_that_exited_0_must_show_every_declared_test_passed():
    python, tests = TOOLCHAINS["python"], {"x_test.py": "def test_a():\n    pass\ndef test_b():\n    pass\n"}
    assert unproven_reason(python, "collecting ...", tests) == "the test run ended before its summary (exit 0)"
    assert unproven_reason(python, "1 passed in 0.01s", tests) == \
        "1 of 2 tests ran and passed (exit 0): the rest did not run"
    assert unproven_reason(python, "3 passed in 0.01s", tests) == \
        "3 tests passed where the test files declare 2: tests not theirs ran"
    assert unproven_reason(python, "1 failed, 1 passed in 0.01s", tests) == "tests failed: 1 of 2 failed (yet exit 0)"
    assert unproven_reason(python, "2 passed in 0.01s", tests) is None


def test_only_markers_that_end_with_the_nonce_count():
    nonce = "ab" * 16
    stdout = (f"\n[dgm] build {nonce}\nok\n\n[dgm] build ended 0 {nonce}\n\n[dgm] tests {nonce}\n"
              "[dgm] tests ended 0 0123456789abcdef0123456789abcdef\n[dgm] tests ended 0\n2 passed in 0.1s\n"
              f"\n[dgm] tests ended 1 {nonce}\n")
    runs = read_phases(stdout, nonce)
    assert [(r.phase, r.code) for r in runs] == [("build", 0), ("tests", 1)]
    assert "2 passed" in runs[1].output and "[dgm] tests ended 0\n" in runs[1].output
    cut = read_phases(f"\n[dgm] build {nonce}\nkilled", nonce)
    assert [(r.phase, r.code) for r in cut] == [("build", None)]


def test_a_test_run_that_dies_before_its_summary_says_so_with_its_first_error():
    java = TOOLCHAINS["java"]
    died = ('Exception in thread "main" java.lang.OutOfMemoryError: unable to create native thread: possibly out of '
            "memory or process/resource limits reached\n\tat java.base/java.lang.Thread.start0(Native Method)\n")
    assert failure_reason(java, "tests", 1, died, 300, ("src/test/java/BankAccountTest.java",)) == (
        'the test run ended before its summary (exit 1): Exception in thread "main" java.lang.OutOfMemoryError: '
        "unable to create native thread: possibly out of memory or process/resource limits reached")
    summary = "[         2 tests successful      ]\n[         0 tests failed          ]\n"
    assert failure_reason(java, "tests", 2, "[         2 tests found           ]\n" + summary, 300, ()) == (
        "tests failed (exit 2), 2 passed")
