import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { createProcessGuard } from '../../src/app/processGuard.ts';

function fromModule(path: string, message = 'boom'): Error {
  const err = new TypeError(message);
  err.stack = `TypeError: ${message}\n    at WechatyResolver.reportResolutionError (/app/node_modules/${path}:44:19)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)`;
  return err;
}

describe('process guard: the last line of the adapters’ fault boundary', () => {
  it('hands an uncaught error from an adapter SDK to that adapter, and exits for anything else', () => {
    const logs: string[] = [];
    const exit = vi.fn();
    const guard = createProcessGuard(createLogger({ destination: { write: (l: string) => void logs.push(l) } }), exit);
    const wechat = vi.fn();
    const telegram = vi.fn();
    guard.add({ name: 'wechat', pattern: /node_modules[\\/](wechaty[^\\/]*|@grpc)[\\/]/, fault: wechat });
    const release = guard.add({ name: 'telegram', pattern: /node_modules[\\/]telegraf[\\/]/, fault: telegram });

    const tokenError = fromModule('wechaty-token/src/resolver-wechaty.ts', 'this.listener.onError is not a function');
    guard.handle(tokenError, 'unhandledRejection');
    guard.handle(fromModule('telegraf/lib/core/network/polling.js'), 'uncaughtException');
    expect(wechat).toHaveBeenCalledWith(tokenError);
    expect(telegram).toHaveBeenCalledTimes(1);
    expect(exit).not.toHaveBeenCalled();

    release();
    guard.handle(fromModule('telegraf/lib/core/network/polling.js'), 'uncaughtException');
    guard.handle(new Error('a bug of ours'), 'uncaughtException');
    expect(telegram).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledTimes(2);
    expect(exit).toHaveBeenCalledWith(1);
    expect(logs.filter((l) => l.includes('unexpected error: exiting'))).toHaveLength(2);
  });

  it('gives an error in a library several adapters share to the adapter whose own code is on the stack', () => {
    const guard = createProcessGuard(createLogger({ level: 'silent' }), vi.fn());
    const discord = vi.fn();
    const qq = vi.fn();
    const ws = /node_modules[\\/]ws[\\/]/;
    guard.add({ name: 'discord', pattern: ws, home: /adapters[\\/]discord[\\/]/, fault: discord });
    guard.add({ name: 'qq', pattern: ws, home: /adapters[\\/]qq[\\/]/, fault: qq });
    const err = new Error('Invalid WebSocket frame');
    err.stack = `Error: Invalid WebSocket frame\n    at Receiver.getInfo (/app/node_modules/ws/lib/receiver.js:1:1)\n    at send (/app/adapters/qq/forward.ts:80:7)`;
    guard.handle(err, 'uncaughtException');
    expect(qq).toHaveBeenCalledWith(err);
    expect(discord).not.toHaveBeenCalled();
    // Without its own code on the stack, the first adapter that uses the library takes it: restarted, never an exit.
    guard.handle(fromModule('ws/lib/receiver.js'), 'uncaughtException');
    expect(discord).toHaveBeenCalledTimes(1);
  });

  it('installs and removes its process listeners', () => {
    const guard = createProcessGuard(createLogger({ level: 'silent' }), vi.fn());
    const before = [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
    guard.install();
    expect([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')]).toEqual([before[0]! + 1, before[1]! + 1]);
    guard.uninstall();
    expect([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')]).toEqual(before);
  });
});
