import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.ts';
import { ConfigError } from '../../src/config.ts';
import { secretScrubber } from '../../src/logger.ts';
import { redisKeys } from '../../src/queue/contracts.ts';
import { describeRedis, redisConnectionOptions, redisTarget, RedisTlsError } from '../../src/redisTarget.ts';

const dir = mkdtempSync(join(tmpdir(), 'kuakua-redis-target-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SENTINEL_ENV = {
  REDIS_URL: 'redis://:url-pw-1234@10.0.0.5:6379',
  REDIS_SENTINELS: '10.0.0.1:26379, sentinel-2.internal:26380,[fd00::3]:26381',
  REDIS_SENTINEL_NAME: 'kuakua-master',
  REDIS_PASSWORD: 'data-pw-5678',
  REDIS_SENTINEL_PASSWORD: 'sentinel-pw-9012',
};

const SENTINELS = [
  { host: '10.0.0.1', port: 26379 },
  { host: 'sentinel-2.internal', port: 26380 },
  { host: 'fd00::3', port: 26381 },
];

describe('the Redis target', () => {
  it('is REDIS_URL by default, with the hash-tagged prefix', () => {
    const config = loadConfig({ env: { REDIS_URL: 'redis://:pw-3456@10.0.0.5:6379/2' } });
    expect(redisTarget(config)).toEqual({ kind: 'url', url: 'redis://:pw-3456@10.0.0.5:6379/2' });
    expect(describeRedis(redisTarget(config))).toBe('redis://:***@10.0.0.5:6379/2');
    expect(config.redis.prefix).toBe('{kuakua}');
    const keys = redisKeys(config.redis.prefix);
    for (const key of [keys.seen('telegram:1:2'), keys.answered('web:c:m'), keys.chatSettings('qq', '9'), keys.workers(), keys.replyQueues()]) {
      expect(key.startsWith('{kuakua}:')).toBe(true);
    }
  });

  it('goes through the sentinels named by REDIS_SENTINELS, with the group name and both passwords, ignoring REDIS_URL', () => {
    const target = redisTarget(loadConfig({ env: SENTINEL_ENV }));
    expect(target).toEqual({
      kind: 'sentinel',
      sentinels: SENTINELS,
      name: 'kuakua-master',
      password: 'data-pw-5678',
      sentinelPassword: 'sentinel-pw-9012',
      tls: false,
    });
    const described = describeRedis(target);
    expect(described).toBe('sentinel master kuakua-master via 10.0.0.1:26379,sentinel-2.internal:26380,[fd00::3]:26381');
    const options = redisConnectionOptions(target, {});
    expect(options).toEqual({
      sentinels: SENTINELS,
      name: 'kuakua-master',
      password: 'data-pw-5678',
      sentinelPassword: 'sentinel-pw-9012',
      reconnectOnError: expect.any(Function),
    });
    // A master the sentinels demoted answers writes with READONLY: the connection starts again, through the sentinels.
    const reconnectOnError = options.reconnectOnError as (err: Error) => boolean;
    expect(reconnectOnError(new Error("READONLY You can't write against a read only replica."))).toBe(true);
    expect(reconnectOnError(new Error('ERR unknown command'))).toBe(false);
    // The passwords are secrets: masked in every log line and in what /healthz publishes.
    const scrub = secretScrubber(SENTINEL_ENV);
    expect(scrub('auth data-pw-5678 / sentinel-pw-9012')).toBe('auth [REDACTED] / [REDACTED]');
  });

  it('takes the sentinels from the config file, the name defaulting to mymaster, and REDIS_SENTINELS over the file', () => {
    const file = join(dir, 'sentinels.yaml');
    writeFileSync(file, 'redis:\n  sentinels:\n    addresses: ["127.0.0.1:26379", "127.0.0.1:26380"]\n');
    expect(redisTarget(loadConfig({ env: { KUAKUA_CONFIG: file } }))).toMatchObject({
      kind: 'sentinel',
      name: 'mymaster',
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '127.0.0.1', port: 26380 },
      ],
    });
    expect(redisTarget(loadConfig({ env: { KUAKUA_CONFIG: file, REDIS_SENTINELS: '10.1.1.1:5000' } }))).toMatchObject({
      sentinels: [{ host: '10.1.1.1', port: 5000 }],
    });
  });

  it('with REDIS_TLS=1 uses TLS to the sentinels and the data nodes, with the CA of REDIS_TLS_CA, and to a redis:// URL', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const target = redisTarget(loadConfig({ env: { ...SENTINEL_ENV, REDIS_TLS: '1' } }));
    expect(target).toMatchObject({ kind: 'sentinel', tls: true });
    expect(describeRedis(target)).toMatch(/ \(TLS\)$/);
    const options = redisConnectionOptions(target, { REDIS_TLS_CA: ca });
    expect(options).toMatchObject({ enableTLSForSentinelMode: true, tls: { ca: expect.any(Buffer) }, sentinelTLS: { ca: expect.any(Buffer) } });
    expect(String(options.tls?.ca)).toContain('BEGIN CERTIFICATE');
    // Without a CA file: TLS with the system's CAs.
    expect(redisConnectionOptions(target, {})).toMatchObject({ enableTLSForSentinelMode: true, tls: {}, sentinelTLS: {} });
    expect(() => redisConnectionOptions(target, { REDIS_TLS_CA: join(dir, 'missing.pem') })).toThrow(RedisTlsError);
    expect(() => redisConnectionOptions(target, { REDIS_TLS_CA: join(dir, 'missing.pem') })).toThrow(
      /REDIS_TLS_CA = .*missing\.pem: cannot read the CA certificate \(ENOENT\)/,
    );

    expect(redisTarget(loadConfig({ env: { REDIS_URL: 'redis://10.0.0.5:6379', REDIS_TLS: 'true' } }))).toEqual({ kind: 'url', url: 'rediss://10.0.0.5:6379' });
    expect(redisTarget(loadConfig({ env: { REDIS_URL: 'redis://10.0.0.5:6379', REDIS_TLS: '0' } }))).toEqual({ kind: 'url', url: 'redis://10.0.0.5:6379' });
    expect(redisConnectionOptions({ kind: 'url', url: 'rediss://10.0.0.5:6379' }, { REDIS_TLS_CA: ca })).toMatchObject({ tls: { ca: expect.any(Buffer) } });
    expect(redisConnectionOptions({ kind: 'url', url: 'redis://10.0.0.5:6379' }, { REDIS_TLS_CA: ca })).toEqual({});
  });

  it.each([
    [
      'no port',
      { REDIS_SENTINELS: '10.0.0.1' },
      /^config error: redis\.sentinels\.addresses\.0 = "10\.0\.0\.1" \(from env REDIS_SENTINELS\): expected host:port$/,
    ],
    [
      'a port out of range',
      { REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:70000' },
      /redis\.sentinels\.addresses\.1 = "10\.0\.0\.2:70000" .*a port from 1 to 65535/,
    ],
    ['port 0', { REDIS_SENTINELS: '10.0.0.1:0' }, /redis\.sentinels\.addresses\.0 = "10\.0\.0\.1:0" .*a port from 1 to 65535/],
    ['a URL instead of host:port', { REDIS_SENTINELS: 'redis://10.0.0.1:26379' }, /redis\.sentinels\.addresses\.0 .*expected host:port/],
    [
      'a bad group name',
      { REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_NAME: 'my master' },
      /redis\.sentinels\.name = "my master" \(from env REDIS_SENTINEL_NAME\)/,
    ],
    ['REDIS_TLS that is no yes or no', { REDIS_TLS: 'maybe' }, /redis\.tls = "maybe" \(from env REDIS_TLS\): expected boolean/],
  ])('names the variable for %s', (_name, env, pattern) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(pattern);
  });

  it('refuses a sentinel password in a config file: it is a secret, read only from the environment', () => {
    const file = join(dir, 'secret.yaml');
    writeFileSync(file, 'redis:\n  sentinels:\n    addresses: ["127.0.0.1:26379"]\n    sentinelPassword: hunter22\n');
    expect(() => loadConfig({ env: { KUAKUA_CONFIG: file } })).toThrow(
      /redis\.sentinels\.sentinelPassword in KUAKUA_CONFIG file .*: secrets are read only from the environment \(.*REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD/,
    );
  });
});
