import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { EventDispatcher, LoggerLevel } from '@larksuiteoapi/node-sdk';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from '../../adapters/feishu/callback.ts';
import { listenReverse, type ReverseServer } from '../../adapters/qq/reverse.ts';
import { closeServer, createHttpServer, LISTENER_LIMITS, listen } from '../../adapters/shared/httpServer.ts';
import { startTelegramAdapter } from '../../adapters/telegram/index.ts';
import { startWebServer, type RunningWeb } from '../../adapters/web/server.ts';
import type { Core, RunningAdapter } from '../../src/adapter.ts';
import { createLogger } from '../../src/logger.ts';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram.ts';
import { freePort } from '../helpers/redis.ts';

/** Webhook and callback bodies are small; 256 KB is the cap every platform listener applies. */
const CAP = 256 * 1024;
const TELEGRAM_PATH = '/telegram/webhook';
const TELEGRAM_SECRET = 'hook-secret-listeners-7c1d';
const FEISHU_PATH = '/feishu/events';
const logger = createLogger({ level: 'silent' });

const core: Core = {
  instanceId: 'listeners',
  handle: async () => ({ action: 'ignored', reason: 'invalid' }),
  onDelivery: () => {},
  status: async () => ({ redis: true, redisAt: 'redis://127.0.0.1:6379', queueDepth: 0, workers: 0, model: null }),
  close: async () => {},
};

let fake: FakeTelegram;
let telegram: RunningAdapter;
let telegramPort: number;
let feishu: Server;
let feishuPort: number;
let qq: ReverseServer;
let web: RunningWeb;

/** Writes `data` on a raw connection, sends nothing more, and resolves with everything the server sent once it closed. */
function exchange(port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(received).toString('latin1')));
    socket.write(data);
  });
}

const head = (method: string, path: string, headers: Record<string, string>) =>
  `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
const status = (response: string) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(response)?.[1] ?? 0);
/** A declared body far over the cap, of which not one byte is sent: an answer proves the server did not wait for it. */
const large = { 'content-type': 'application/json', 'content-length': String(4 * CAP) };
/** A chunked body one byte over the cap, its last chunk left open: the server must refuse it once it passes the cap. */
const chunkedOverCap = (path: string, headers: Record<string, string>) =>
  `${head('POST', path, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers })}${(CAP + 1).toString(16)}\r\n${'x'.repeat(CAP + 1)}`;

beforeAll(async () => {
  fake = await startFakeTelegram();
  telegramPort = await freePort();
  telegram = await startTelegramAdapter({
    core,
    logger,
    token: fake.token,
    apiRoot: fake.apiRoot,
    webhook: { url: 'https://kuakua.example.com/telegram/webhook', host: '127.0.0.1', port: telegramPort, path: TELEGRAM_PATH, secretToken: TELEGRAM_SECRET },
  });
  feishuPort = await freePort();
  feishu = await startCallbackServer(
    { host: '127.0.0.1', port: feishuPort, path: FEISHU_PATH, verificationToken: 'vt-listeners' },
    new EventDispatcher({ loggerLevel: LoggerLevel.error }),
    { onRejected: () => {}, onError: () => {} },
  );
  qq = await listenReverse({
    host: '127.0.0.1',
    port: 0,
    path: '/onebot/v11/ws',
    pingMs: 60_000,
    onConnection: () => {},
    onRefused: () => {},
    onError: () => {},
  });
  web = await startWebServer({
    core,
    logger,
    registry: new Registry(),
    host: '127.0.0.1',
    port: 0,
    bodyLimitBytes: 16_384,
    maxTextChars: 500,
    botNames: ['夸夸机器人'],
    rateLimit: { max: 1000, windowMs: 60_000 },
    replyTimeoutMs: 1000,
  });
});

afterAll(async () => {
  await telegram?.stop();
  if (feishu) await closeServer(feishu);
  await qq?.close();
  await web?.stop();
  await fake?.close();
});

describe('inbound HTTP listeners', () => {
  it('every listener has the shared timeouts and connection cap: web API, Telegram webhook, Feishu callback, QQ reverse', async () => {
    const servers = new Map<number, Server>();
    const onRequest = (message: unknown) => {
      const { server } = message as { server: Server };
      const address = server.address();
      if (address && typeof address === 'object') servers.set(address.port, server);
    };
    subscribe('http.server.request.start', onRequest);
    const ports = { web: web.port, telegram: telegramPort, feishu: feishuPort, qq: qq.port };
    try {
      for (const port of Object.values(ports)) await fetch(`http://127.0.0.1:${port}/`).then((res) => res.arrayBuffer());
    } finally {
      unsubscribe('http.server.request.start', onRequest);
    }
    const limitsOf = (server?: Server) => server && { headers: server.headersTimeout, request: server.requestTimeout, connections: server.maxConnections };
    const expected = { headers: LISTENER_LIMITS.headersTimeoutMs, request: LISTENER_LIMITS.requestTimeoutMs, connections: LISTENER_LIMITS.maxConnections };
    const actual = Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, limitsOf(servers.get(port))]));
    expect(actual).toEqual({ web: expected, telegram: expected, feishu: expected, qq: expected });
  });

  it('cuts off a client that sends its headers, or its body, too slowly (408)', async () => {
    const server = createHttpServer(
      (req, res) => {
        req.resume();
        req.on('end', () => res.end('ok'));
      },
      { ...LISTENER_LIMITS, headersTimeoutMs: 200, requestTimeoutMs: 400, checkIntervalMs: 50 },
    );
    await listen(server, 0, '127.0.0.1', () => {});
    const { port } = server.address() as { port: number };
    try {
      expect(status(await exchange(port, 'POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-'))).toBe(408);
      expect(status(await exchange(port, `${head('POST', '/', { 'content-length': '10' })}abc`))).toBe(408);
    } finally {
      await closeServer(server);
    }
  });

  it.each([
    ['a wrong path', head('POST', '/elsewhere', { ...large, 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET }), 404],
    ['a wrong method', head('PUT', TELEGRAM_PATH, { ...large, 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET }), 405],
    ['no secret token', head('POST', TELEGRAM_PATH, large), 401],
    ['a wrong secret token', head('POST', TELEGRAM_PATH, { ...large, 'x-telegram-bot-api-secret-token': 'wrong-secret' }), 401],
    ['a declared body over 256 KB', head('POST', TELEGRAM_PATH, { ...large, 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET }), 413],
    ['a chunked body that passes 256 KB', chunkedOverCap(TELEGRAM_PATH, { 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET }), 413],
  ])('Telegram webhook: answers %s without reading the body', async (_name, request, expected) => {
    expect(status(await exchange(telegramPort, request))).toBe(expected);
  });

  it.each([
    ['a wrong path', head('POST', '/elsewhere', large), 404],
    ['a wrong method', head('GET', FEISHU_PATH, large), 405],
    ['a body that is not JSON', head('POST', FEISHU_PATH, { ...large, 'content-type': 'text/plain' }), 415],
    ['a declared body over 256 KB', head('POST', FEISHU_PATH, large), 413],
    ['a chunked body that passes 256 KB', chunkedOverCap(FEISHU_PATH, {}), 413],
  ])('Feishu callback: answers %s without reading the body', async (_name, request, expected) => {
    expect(status(await exchange(feishuPort, request))).toBe(expected);
  });

  it('reads a body of exactly 256 KB (then finds it is not an update)', async () => {
    const body = 'x'.repeat(CAP);
    const request = `${head('POST', TELEGRAM_PATH, { 'content-type': 'application/json', 'content-length': String(CAP), 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET, connection: 'close' })}${body}`;
    expect(status(await exchange(telegramPort, request))).toBe(400);
  });
});
