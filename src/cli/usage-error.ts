/** A mistake on the command line, in the environment or in the config file: main prints it and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A mistake in the config file: its one line names the file and the key, so main adds no usage hint. */
export class ConfigError extends UsageError {
  override name = 'ConfigError';
}
