"""Every command of ``python -m eval`` explains itself."""

from __future__ import annotations

import pytest


def test_every_eval_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from eval.__main__ import main

    for command in ([], ["run"], ["recheck"], ["compare"], ["calibrate"], ["table"], ["check"]):
        with pytest.raises(SystemExit) as stopped:
            main([*command, "--help"])
        assert stopped.value.code == 0
    assert "Wilson 95% intervals" in capsys.readouterr().out
