"""--help with an Examples: block on every command, and shell completion as bash, zsh and fish drive it."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from newsearch.cli import cli
from newsearch.search import SearchRequest

BIN = Path(sys.executable).parent
COMMANDS = sorted(cli.commands)


def help_text(*args) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    return result.output


def examples(*args) -> list[str]:
    parts = re.split(r"\n *Examples:\n", help_text(*args), maxsplit=1)
    assert len(parts) == 2, f"newsearch {' '.join(args)} --help has no Examples: block"
    block = parts[1]
    return [line.strip() for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_help_has_examples_that_use_real_commands_and_options(command):
    lines = examples(*([command] if command else []))
    assert len(lines) >= 2
    for line in lines:
        words = shlex.split(line.split("#")[0].split("|")[0].split(">")[0].replace("$(", " ").replace(")", " "))
        if "newsearch" not in words:
            continue  # a shell line around the command (cd …, sh load.sh)
        name, *rest = words[words.index("newsearch") + 1 :]
        assert name in cli.commands, line
        known = {opt for param in cli.commands[name].params for opt in param.opts}
        assert {w for w in rest if w.startswith("--")} <= known, line


def test_the_group_help_lists_every_command():
    text = help_text()
    assert all(f"  {name} " in text for name in COMMANDS)


def completion_env(tmp_path, index):
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "NEWSEARCH_INDEX": str(index), "HOME": str(tmp_path)}


def bash_complete(tmp_path, index, line: str) -> list[str]:
    """Complete the last word of line the way bash does, with the script `newsearch completion bash` prints."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    script = (
        'eval "$(newsearch completion bash)"\n'
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        "_newsearch_completion newsearch\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(["bash", "-c", script], env=completion_env(tmp_path, index), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [w for w in done.stdout.splitlines() if w]


def test_bash_completes_commands_and_options(tmp_path, sample_index):
    assert set(bash_complete(tmp_path, sample_index, "newsearch ")) >= set(COMMANDS)
    assert "--format" in bash_complete(tmp_path, sample_index, "newsearch query --fo")
    assert bash_complete(tmp_path, sample_index, "newsearch query --format c") == ["csv"]


def test_bash_completes_tags_and_sections_from_the_index(tmp_path, sample_index, engine):
    tags = bash_complete(tmp_path, sample_index, "newsearch query --tag é")
    labels = {f["label"] for f in engine.search(SearchRequest()).facets["tags"]}
    assert tags and set(tags) <= labels
    assert {"Économie", "Éducation", "Énergie"} <= set(tags)
    sections = bash_complete(tmp_path, sample_index, "newsearch query grève --section sp")
    assert sections == ["sport"]


def test_completion_offers_nothing_without_an_index(tmp_path):
    assert bash_complete(tmp_path, tmp_path / "none", "newsearch query --tag s") == []


def test_the_index_option_given_on_the_line_is_the_one_completed_from(tmp_path, sample_index):
    line = f"newsearch query --index {sample_index} --tag cin"
    assert bash_complete(tmp_path, tmp_path / "none", line) == ["Cinéma"]


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nosort -F _newsearch_completion newsearch"), ("zsh", "compdef _newsearch_completion newsearch"),
     ("fish", "complete --no-files --command newsearch")],
)  # fmt: skip
def test_each_shell_gets_its_own_script(shell, marker):
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0 and marker in result.output


@pytest.mark.parametrize(
    ("shell", "cword", "expected"),
    [("zsh", "3", "plain\nSport\n5 article(s)"), ("fish", "Spo", "plain,Sport\t5 article(s)")],
)
def test_zsh_and_fish_get_tag_values_with_their_counts(tmp_path, sample_index, shell, cword, expected):
    # What the zsh and fish scripts run (neither shell is installed here): Click's documented protocol, where
    # zsh passes the index of the word completed and fish the word itself.
    env = {**completion_env(tmp_path, sample_index), "_NEWSEARCH_COMPLETE": f"{shell}_complete",
           "COMP_WORDS": "newsearch query --tag Spo", "COMP_CWORD": cword}  # fmt: skip
    done = subprocess.run([str(BIN / "newsearch")], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == expected


def test_the_top_level_help_speaks_to_a_user_and_every_option_says_what_it_does():
    from click.testing import CliRunner

    from newsearch.cli import cli

    top = CliRunner().invoke(cli, ["--help"]).output
    assert top.splitlines()[2].strip().startswith("Search French news") and "core modules" not in top
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"newsearch {name} {param.opts[0]} has no help text"
