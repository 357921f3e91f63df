"""A YAML syntax error is one issue at the line and column to fix, said plainly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalog.model import check_catalog
from tests.test_catalog import write

HEAD = "notify: {releases_channel: C0REL}\nservices:\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            HEAD + "  web: {deployer: ansible,\n    playbook: x.yml\n  api: {deployer: gitlab}\n",
            (
                3,
                8,
                "this '{' is never closed (expected ',' or '}' but found ':' at line 5, column 6)",
            ),
            id="unclosed { reported where it opens",
        ),
        pytest.param(
            HEAD + "  web: {deployer: ansible, playbook: x.yml\n",
            (3, 8, "this '{' is never closed (the file ends first)"),
            id="unclosed { at the end of the file",
        ),
        pytest.param(
            HEAD + "  web: {deployer: ansible playbook: x.yml}\n",
            (3, 35, "expected ',' or '}' but found ':' (inside the '{' at column 8)"),
            id="missing comma on one line",
        ),
        pytest.param(
            HEAD + "  web:\n    approvers: [U0A, U0B\n    deployer: ansible\n",
            (
                4,
                16,
                "this '[' is never closed (expected ',' or ']' but found ':' at line 5, column 13)",
            ),
            id="unclosed [",
        ),
        pytest.param(
            HEAD + "  web:\n    deployer: ansible\n   playbook: x.yml\n",
            (
                5,
                4,
                "bad indentation: this key lines up with no key above it (see line 3, column 3)",
            ),
            id="key indented between levels",
        ),
        pytest.param(
            HEAD + "  web:\n\tdeployer: ansible\n",
            (4, 1, "a tab character; indent with spaces"),
            id="tab",
        ),
        pytest.param(
            HEAD + "  web:\n    reason: deploy: now\n",
            (4, 19, "unexpected ':'; quote a value that contains ': ', or align this line's key"),
            id="unquoted colon in a value",
        ),
        pytest.param(
            HEAD + "  web:\n    deployer: 'ansible\n    playbook: x.yml\n",
            (4, 15, "this quote is never closed (the file ends at line 6)"),
            id="unclosed quote",
        ),
        pytest.param(
            HEAD + "  web: {deployer: ansible}}\n",
            (3, 27, "this '}' closes nothing"),
            id="one } too many",
        ),
        pytest.param(
            HEAD + "  web:\n    - deployer: ansible\n    playbook: x.yml\n",
            (
                5,
                5,
                "a key among list items (the list starts at line 4, column 5); "
                "start the item with '- '",
            ),
            id="key after a list item",
        ),
        pytest.param(
            HEAD + "---\nmore: 1\n",
            (3, 1, "a second YAML document starts here; a catalog is one document"),
            id="second document",
        ),
    ],
)
def test_yaml_error_points_at_the_place_to_fix(
    tmp_path: Path, text: str, expected: tuple[int, int, str]
) -> None:
    """Each common YAML mistake is one issue at its line:column, in plain words."""
    line, column, message = expected
    [issue] = check_catalog(write(tmp_path, text))
    assert (line, column, f"invalid YAML: {message}") == (issue.line, issue.column, issue.message)


def test_a_byte_that_is_not_utf8_is_placed(tmp_path: Path) -> None:
    """A stray non-UTF-8 byte is reported at its line and column."""
    path = tmp_path / "catalog.yaml"
    path.write_bytes(HEAD.encode() + b"  web: caf\xe9\n")
    [issue] = check_catalog(path)
    expected = (3, 11, "invalid YAML: byte 0xe9 is not UTF-8")
    assert expected == (issue.line, issue.column, issue.message)


def test_yaml_error_prints_as_file_line_column(tmp_path: Path) -> None:
    """The issue prints as `file:line:column: invalid YAML: ...`, like a compiler's."""
    path = write(tmp_path, HEAD + "  web:\n\tdeployer: ansible\n")
    expected = [f"{path}:4:1: invalid YAML: a tab character; indent with spaces"]
    assert expected == [str(issue) for issue in check_catalog(path)]
