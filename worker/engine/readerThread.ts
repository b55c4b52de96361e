import { parentPort, workerData } from 'node:worker_threads';
import { ReaderSession, type ReaderOutput } from './reader.ts';
import { subjectOf } from './subject.ts';

/** Messages between the post reader's handle (main thread) and its thread. */
export type ToReader = { id: number; posts: string[] };
export type FromReader =
  | { type: 'ready'; labels: string[]; threshold: number }
  | { type: 'result'; id: number; outputs: ReaderOutput[] }
  | { type: 'error'; id: number; message: string };

if (parentPort) {
  const port = parentPort;
  const send = (msg: FromReader) => port.postMessage(msg);
  const session = await ReaderSession.load((workerData as { dir: string }).dir);
  port.on('message', ({ id, posts }: ToReader) => {
    session.read(posts).then(
      (outputs) => send({ type: 'result', id, outputs: outputs.map((o, i) => ({ ...o, subject: subjectOf(posts[i]!) })) }),
      (err: Error) => send({ type: 'error', id, message: err.message }),
    );
  });
  send({ type: 'ready', labels: session.cfg.labels, threshold: session.cfg.distress_threshold });
}
