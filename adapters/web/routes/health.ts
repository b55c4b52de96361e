import type { ServerResponse } from 'node:http';
import { adapterStatuses, describeAdapterStatus } from '../../../src/adapterStatus.ts';
import type { WebContext } from '../context.ts';
import { sendJson } from '../http.ts';

/**
 * GET /healthz: 200 when Redis answers, a worker is online and a model is loaded; 503 otherwise. Anyone gets `{ok}`;
 * the operator (`detailed`) also gets the reasons, which Redis the bot uses or waits for (`redisAt`, without its
 * password) and each adapter's state in this process. An adapter that is not
 * running is listed under `warnings` but does not make the answer 503: restarting the bot would not bring a
 * platform's network or a rejected token back.
 */
export async function healthRoute(ctx: WebContext, res: ServerResponse, detailed: boolean) {
  const status = await ctx.status().catch((err) => {
    ctx.logger.warn({ err }, 'web: status check failed');
    return { redis: false, redisAt: 'unknown (the status check failed)', queueDepth: 0, workers: 0, model: null };
  });
  const problems: string[] = [];
  if (!status.redis) problems.push('redis unreachable');
  if (status.workers < 1) problems.push('no worker online');
  if (!status.model) problems.push('no model loaded');
  const ok = problems.length === 0;
  if (!detailed) return sendJson(res, ok ? 200 : 503, { ok });
  const adapters = adapterStatuses();
  const warnings = Object.entries(adapters)
    .filter(([, s]) => s.state !== 'running')
    .map(([name, s]) => describeAdapterStatus(name, s));
  sendJson(res, ok ? 200 : 503, { ok, ...status, adapters, ...(ok ? {} : { problems }), ...(warnings.length ? { warnings } : {}) });
}
