import type { Logger } from 'pino';

/** Who handles an uncaught error whose stack passes through `pattern` (an adapter's SDK in node_modules). */
export interface FaultOwner {
  name: string;
  pattern: RegExp;
  /**
   * The adapter's own source folder. Several adapters share a library (ws under discord.js, QQ, Feishu and DingTalk):
   * a stack through an owner's own code names it before any SDK pattern does.
   */
  home?: RegExp;
  fault(err: unknown): void;
}

export interface ProcessGuard {
  /** Routes matching uncaught errors to `owner` until the returned function is called. */
  add(owner: FaultOwner): () => void;
  /** What the process listeners call; exposed for tests. */
  handle(err: unknown, origin: 'uncaughtException' | 'unhandledRejection'): void;
  install(): void;
  uninstall(): void;
}

/**
 * The last line of the adapters' fault boundary. SDKs throw from their own timers and leave promises unhandled
 * (wechaty-token's resolver did both), which would end the process and take the web page and every other platform down.
 * An uncaught error whose stack runs through an adapter's SDK goes to that adapter's supervisor, which restarts it;
 * anything else is a bug of ours: it is logged and the process exits, as Node would.
 */
export function createProcessGuard(logger: Logger, exit: (code: number) => void = (code) => process.exit(code)): ProcessGuard {
  const owners = new Set<FaultOwner>();
  const guard: ProcessGuard = {
    add(owner) {
      owners.add(owner);
      return () => void owners.delete(owner);
    },
    handle(err, origin) {
      const stack = err instanceof Error ? `${err.stack ?? ''}` : '';
      const owner = [...owners].find((o) => o.home?.test(stack)) ?? [...owners].find((o) => o.pattern.test(stack));
      if (owner) return owner.fault(err);
      logger.fatal({ err, origin }, 'unexpected error: exiting');
      exit(1);
    },
    install() {
      process.on('uncaughtException', onException);
      process.on('unhandledRejection', onRejection);
    },
    uninstall() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
    },
  };
  const onException = (err: unknown) => guard.handle(err, 'uncaughtException');
  const onRejection = (reason: unknown) => guard.handle(reason, 'unhandledRejection');
  return guard;
}
