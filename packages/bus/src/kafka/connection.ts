/**
 * Connects a kafkajs client on first use and shares that attempt between concurrent callers;
 * a failed attempt is forgotten so the next call tries again (the broker may be back by then).
 */
export class Connection {
  private opening: Promise<void> | null = null;
  closed = false;

  constructor(
    private readonly connect: () => Promise<void>,
    private readonly disconnect: () => Promise<void>,
  ) {}

  open(): Promise<void> {
    if (this.opening === null) {
      this.opening = this.connect().catch((err: unknown) => {
        this.opening = null;
        throw err;
      });
    }
    return this.opening;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.opening === null) return;
    await this.opening.catch(() => undefined);
    await this.disconnect();
  }
}
