/**
 * wechaty-puppet-wechat4u hooks async listeners to its wechat4u client and never handles their rejections. The worst:
 * when a login fails, wechat4u stops itself and emits 'logout', whose listener waits for the memory card and then calls
 * `this.wechat4u.start()`; if the puppet is stopped meanwhile, `this.wechat4u` is gone and the rejection
 * ("Cannot read properties of undefined (reading 'start')") is unhandled: a crash, or a raw stack on the console.
 * Each listener is wrapped so that its failure is reported instead; after the puppet has stopped, at debug level.
 */

type Listener = (...args: unknown[]) => unknown;
interface Client {
  eventNames(): (string | symbol)[];
  listeners(event: string | symbol): Listener[];
  removeListener(event: string | symbol, listener: Listener): void;
  on(event: string | symbol, listener: Listener): void;
}
interface PuppetWechat4uPrototype {
  initHookEvents(this: { wechat4u?: unknown }, client: Client): void;
}

export type ListenerErrorSink = (err: unknown, afterStop: boolean) => void;

let sink: ListenerErrorSink = () => {};
let patched: Promise<void> | undefined;

export function patchWechat4u(onError: ListenerErrorSink): Promise<void> {
  sink = onError;
  patched ??= import('wechaty-puppet-wechat4u').then(({ PuppetWechat4u }) => {
    const proto = PuppetWechat4u.prototype as unknown as PuppetWechat4uPrototype;
    const init = proto.initHookEvents;
    proto.initHookEvents = function (client) {
      init.call(this, client);
      for (const event of client.eventNames()) {
        for (const listener of client.listeners(event)) {
          client.removeListener(event, listener);
          client.on(event, (...args) => {
            const report = (err: unknown) => sink(err, this.wechat4u === undefined);
            try {
              const result = listener.apply(client, args);
              if (result instanceof Promise) result.catch(report);
            } catch (err) {
              report(err);
            }
          });
        }
      }
    };
  });
  return patched;
}
