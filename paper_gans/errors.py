"""The one exception type for bad input, reported as one line with exit code 2."""


class ConfigError(ValueError):
  """A setting or input that cannot work, found before any training starts.

  Reproduction scripts catch it, print `error: <message>` on one line to
  stderr and exit with status 2, so the message must be a single complete
  sentence naming the flag or value at fault.
  """
