import { Worker } from 'node:worker_threads';
import { loadReaderConfig, type ReaderOutput } from './reader.ts';
import type { FromReader, ToReader } from './readerThread.ts';

export type { ReaderOutput } from './reader.ts';

/** Main-thread handle on the post reader's thread (onnxruntime's run() blocks the thread it runs on). */
export interface PostReaderHandle {
  /** The intent labels, in the order of `ReaderOutput.probs`. */
  readonly labels: readonly string[];
  /** The distress probability from which a post counts as distress (tuned for recall; the model card). */
  readonly threshold: number;
  read(post: string): Promise<ReaderOutput>;
  close(): Promise<void>;
}

/** Starts the reader of a directory (tools/model/main.py reader-train); rejects with a one-line error if it cannot. */
export async function startPostReader(dir: string): Promise<PostReaderHandle> {
  loadReaderConfig(dir);
  // Beside this module: in the CLI's bundle, the bundled thread; in the sources, a shim that loads it.
  const worker = new Worker(new URL('./readerThread.mjs', import.meta.url), { workerData: { dir }, execArgv: [] });
  const pending = new Map<number, { resolve: (o: ReaderOutput) => void; reject: (e: Error) => void }>();
  let down: Error | undefined;
  const fail = (err: Error) => {
    down = new Error(`post reader stopped: ${err.message}`);
    for (const p of pending.values()) p.reject(down);
    pending.clear();
  };
  const ready = await new Promise<{ labels: string[]; threshold: number }>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`post reader thread exited with code ${code} while loading`)));
    worker.on('message', (msg: FromReader) => {
      if (msg.type === 'ready') return resolve(msg);
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (pending.size === 0) worker.unref();
      if (msg.type === 'result') p?.resolve(msg.outputs[0]!);
      else p?.reject(new Error(msg.message));
    });
  }).catch(async (err: Error) => {
    await worker.terminate();
    throw new Error(`cannot start the post reader for ${dir}: ${err.message}`);
  });
  worker.removeAllListeners('error').removeAllListeners('exit');
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`thread exited with code ${code}`)));
  // An idle reader must not keep a process alive that is otherwise done; a read in flight must.
  worker.unref();
  let nextId = 1;
  return {
    labels: ready.labels,
    threshold: ready.threshold,
    read(post) {
      if (down) return Promise.reject(down);
      return new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, posts: [post] } satisfies ToReader);
      });
    },
    async close() {
      worker.removeAllListeners('exit');
      fail(new Error('closed'));
      await worker.terminate();
    },
  };
}
