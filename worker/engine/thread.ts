import { parentPort, workerData } from 'node:worker_threads';
import { BusyReplicas } from './busyReplicas.ts';
import { loadModelConfig, onnxPath } from './config.ts';
import type { FromThread, ThreadConfig, ToThread } from './protocol.ts';
import { Scheduler } from './scheduler.ts';
import { JudgeSession } from './judge.ts';
import { DecoderSession } from './session.ts';
import { TextTokenizer } from './tokenizer.ts';

const port = parentPort!;
const cfg = workerData as ThreadConfig;
const send = (msg: FromThread) => port.postMessage(msg);

const model = loadModelConfig(cfg.modelDir);
const tokenizer = new TextTokenizer(cfg.modelDir);
const busy = cfg.busy && new BusyReplicas(cfg.busy.buffer, cfg.busy.index);
const session = await DecoderSession.load(model, {
  path: onnxPath(cfg.modelDir, cfg.variant),
  threads: cfg.threads,
  executionProvider: cfg.executionProvider,
  spinMicros: cfg.spinMicros,
  sharedThreads: cfg.sharedThreads,
  busy,
  onFallback: (reason) => send({ type: 'warn', message: `CUDA execution provider unavailable, using CPU (${reason})` }),
});
const judge = cfg.judgeDir ? await JudgeSession.load(cfg.judgeDir) : undefined;
const scheduler = new Scheduler(session, model, tokenizer, { policy: cfg.batching, maxRows: cfg.maxBatchRows, busy, judge });

port.on('message', (msg: ToThread) => {
  if (msg.type === 'crash') {
    setImmediate(() => {
      throw new Error('engine thread fault drill');
    });
    return;
  }
  scheduler.generate(msg.reqs).then(
    (results) => send({ type: 'result', id: msg.id, results }),
    (err: Error) => send({ type: 'error', id: msg.id, message: err.message }),
  );
});
send({ type: 'ready', modelName: model.name });
