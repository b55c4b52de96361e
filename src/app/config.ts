import { ADAPTER_SECTIONS, DEFINITIONS } from '../../adapters/registry.ts';
import { ConfigError, coreConfigSchema, readConfig, type LoadConfigOptions } from '../config.ts';

/** The schema of the whole config file: the core's sections and the adapters'. */
export const appConfigSchema = coreConfigSchema.extend(ADAPTER_SECTIONS);

/** The whole config: the core's sections, the web server's `http:` and each adapter's own section. */
export type AppConfig = ReturnType<typeof loadConfig>;

/** Loads and validates the whole config; throws ConfigError with a one-line message naming the key. */
export function loadConfig(opts: LoadConfigOptions = {}) {
  return readConfig({ ...opts, schema: appConfigSchema, secretEnv: DEFINITIONS.flatMap((d) => d.secretEnv) });
}

/** For CLI commands: load the config or print the one-line error and exit non-zero. */
export function loadConfigOrExit(opts?: LoadConfigOptions): AppConfig {
  try {
    return loadConfig(opts);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}
