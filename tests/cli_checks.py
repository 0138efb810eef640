"""The check every CLI usage-error test makes, shared by test_cli.py and test_cli_errors.py."""

from keras_lr_cli import main


def assert_usage_error(capsys, argv, *fragments):
    """`main(argv)` returns 2 and prints one `keras-lr: error:` line, no traceback."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("keras-lr: error: "), err
    assert "Traceback" not in err + out
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]
