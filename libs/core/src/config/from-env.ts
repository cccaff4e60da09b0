import { type Config, ConfigError, loadConfig } from './config';

/** For process entry points: the configuration, or a clear message on stderr and exit code 1. */
export function configFromEnvOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`signoff: ${error.message}\n`);
    process.exit(1);
  }
}
