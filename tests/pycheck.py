"""pycheck.py - the pass/fail counter of the Python test scripts.

check(cond, what) counts a check and prints "FAIL what" when it fails;
tally() gives (passed, failed) and exit_status() 1 when any failed.
Import it with the tests/ directory on sys.path:

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from pycheck import check, tally, exit_status
"""

_passed = _failed = 0


def check(cond, what):
    """Counts one check; returns cond, so a caller can stop on failure."""
    global _passed, _failed
    if cond:
        _passed += 1
    else:
        _failed += 1
        print("FAIL", what, flush=True)
    return cond


def tally():
    return _passed, _failed


def exit_status():
    return 1 if _failed else 0
