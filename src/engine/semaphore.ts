/** A counting semaphore with FIFO waiters; `acquire` resolves at once while permits remain. */
export class Semaphore {
  private available: number;
  private readonly waiters: (() => void)[] = [];

  constructor(permits: number) {
    this.available = permits;
  }

  /** Resolves when a permit is held; returns undefined synchronously-resolved work when one is free. */
  acquire(): Promise<void> | undefined {
    if (this.available > 0) {
      this.available--;
      return undefined;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.available++;
  }

  get waiting(): number {
    return this.waiters.length;
  }
}
