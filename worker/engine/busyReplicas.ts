/**
 * Which of an engine's replicas are decoding, shared by their threads through one SharedArrayBuffer word per
 * replica. A replica that sees another one busy runs its steps on its `sharedThreads` session (session.ts).
 */
export class BusyReplicas {
  private readonly slots: Int32Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    private readonly index: number,
  ) {
    this.slots = new Int32Array(buffer);
  }

  static create(replicas: number): SharedArrayBuffer {
    return new SharedArrayBuffer(4 * replicas);
  }

  /** Set by the replica's scheduler while it has work; cleared by the main thread when the replica's thread dies. */
  mark(busy: boolean): void {
    Atomics.store(this.slots, this.index, busy ? 1 : 0);
  }

  othersBusy(): boolean {
    for (let i = 0; i < this.slots.length; i++) if (i !== this.index && Atomics.load(this.slots, i) !== 0) return true;
    return false;
  }
}
