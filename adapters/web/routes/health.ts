import type { ServerResponse } from 'node:http';
import type { WebContext } from '../context.ts';
import { sendJson } from '../http.ts';

/** GET /healthz: 200 when Redis answers, a worker is online and a model is loaded; 503 otherwise, with the reason. */
export async function healthRoute(ctx: WebContext, res: ServerResponse) {
  const status = await ctx.core.status().catch((err) => {
    ctx.logger.warn({ err }, 'web: status check failed');
    return { redis: false, queueDepth: 0, workers: 0, model: null };
  });
  const problems: string[] = [];
  if (!status.redis) problems.push('redis unreachable');
  if (status.workers < 1) problems.push('no worker online');
  if (!status.model) problems.push('no model loaded');
  const ok = problems.length === 0;
  sendJson(res, ok ? 200 : 503, { ok, ...status, ...(ok ? {} : { problems }) });
}
