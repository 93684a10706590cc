import type { Logger } from '@iocbus/telemetry';

export type KafkaProbe = () => Promise<void>;

export interface KafkaHealthOptions {
  /** A cheap round trip to the cluster (a metadata request); resolves when Kafka answered. */
  probe: KafkaProbe;
  intervalMs: number;
  timeoutMs: number;
  logger: Logger;
  onChange?: (up: boolean) => void;
}

/**
 * Whether Kafka is reachable, from two signals: every produce outcome (free, and immediate under load) and a
 * periodic probe (so an idle gateway notices both loss and recovery). /readyz and the gRPC health status
 * follow it, so a load balancer stops sending traffic that could only get 503s.
 */
export class KafkaHealth {
  private up = false;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(private readonly options: KafkaHealthOptions) {}

  get isUp(): boolean {
    return this.up;
  }

  start(): void {
    if (this.timer !== undefined) return;
    void this.probeOnce();
    this.timer = setInterval(() => void this.probeOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  report(up: boolean, err?: unknown): void {
    if (up === this.up) return;
    this.up = up;
    if (up) this.options.logger.info('kafka reachable');
    else this.options.logger.warn({ err }, 'kafka unreachable');
    this.options.onChange?.(up);
  }

  /** One probe with a deadline; overlapping probes are skipped, not queued. */
  async probeOnce(): Promise<boolean> {
    if (this.probing) return this.up;
    this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.options.probe(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
        }),
      ]);
      this.report(true);
    } catch (err) {
      this.report(false, err);
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
    return this.up;
  }
}
