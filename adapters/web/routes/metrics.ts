import type { ServerResponse } from 'node:http';
import type { WebContext } from '../context.ts';

/** GET /metrics: Prometheus text exposition of the shared prom-client registry. */
export async function metricsRoute(ctx: WebContext, res: ServerResponse) {
  const text = await ctx.registry.metrics();
  res.writeHead(200, { 'content-type': ctx.registry.contentType, 'cache-control': 'no-store' });
  res.end(text);
}
