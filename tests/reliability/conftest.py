"""The fake Slack as a fixture for every reliability test."""

from fakes.slack import fake_slack  # noqa: F401  (fixture)
