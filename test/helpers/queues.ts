import { Queue } from 'bullmq';
import type { Config } from '../../src/config.ts';
import { replyQueueName } from '../../src/queue/contracts.ts';
import { waitFor } from './wait.ts';

/** The request queue and the reply queues of the given bot instances, as the bots and workers see them. */
export function praiseQueues(config: Config, redisUrl: string, instanceIds: string[]): Queue[] {
  const names = [config.queue.name, ...instanceIds.map((id) => replyQueueName(config.queue.name, id))];
  return names.map((name) => new Queue(name, { connection: { url: redisUrl }, prefix: config.redis.prefix }));
}

/**
 * Resolves once no job in the queues is waiting, delayed or running: everything queued so far has been processed
 * (answered and delivered, or given up). The positive signal a check that something did not happen waits for.
 */
export async function queuesIdle(queues: Queue[]): Promise<void> {
  const busy = async () => {
    for (const q of queues) {
      const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      if (Object.values(counts).some((n) => n > 0)) return true;
    }
    return false;
  };
  await waitFor(async () => !(await busy()), 'the praise and reply queues to empty');
}
