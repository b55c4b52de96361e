import { ADAPTER_SECTIONS, DEFINITIONS } from '../../adapters/registry.ts';
import { ConfigError, coreConfigSchema, readConfig, type LoadConfigOptions } from '../config.ts';

/** The schema of the whole config file: the core's sections and the adapters'. */
export const appConfigSchema = coreConfigSchema.extend(ADAPTER_SECTIONS);

/** The whole config: the core's sections, the web server's `http:` and each adapter's own section. */
export type AppConfig = ReturnType<typeof loadConfig>;

/** Each adapter's environment variables that set keys of its section, e.g. TELEGRAM_API_ROOT → telegram.apiRoot. */
const ADAPTER_ENV_KEYS = Object.fromEntries(
  DEFINITIONS.flatMap((d) => Object.entries(d.configEnv ?? {}).map(([name, key]) => [name, { path: `${d.section}.${key}`, kind: 'string' as const }])),
);

/** Loads and validates the whole config; throws ConfigError with a one-line message naming the key. */
export function loadConfig(opts: LoadConfigOptions = {}) {
  return readConfig({ ...opts, schema: appConfigSchema, secretEnv: DEFINITIONS.flatMap((d) => d.secretEnv), envKeys: ADAPTER_ENV_KEYS });
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
