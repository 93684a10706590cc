import { INDICATORS } from '@iocbus/engine';
import { formatLocal } from '../simulator/index.js';
import { UsageError, hostPort, number, parse } from '../util/args.js';
import type { Command } from '../util/command.js';
import { subscribeGrpc, subscribeSse, type StreamHandle, type WatchFilter } from '../watch/stream.js';
import { WatchStore, renderTable, type Column } from '../watch/table.js';

const usage = `Usage: iocbus watch [options]

A live terminal table of indicators from the view's subscription stream: one row per scope (the
province, then every unit), one column per indicator. Reconnects by itself with its resume token.

Options:
  --http URL          view HTTP base URL, Server-Sent Events (default $IOCBUS_VIEW_URL or http://127.0.0.1:8081)
  --grpc HOST:PORT    use the view's gRPC IndicatorService.Subscribe instead (default port 50052)
  --tls               TLS for --grpc
  --window W          today (default), month, quarter, year or rolling_1h for the counts and rates
  --scope S,…         province, unit, unit:H21.17, procedure, sector, channel (default province,unit)
  --indicator I,…     columns (default received,resolved,on_time_rate,in_process,in_process_overdue,
                      online_share,digitized_at_intake_rate); gauges always show "now"
  --once              print the table once the first snapshot is in, then exit
  --every SEC         without a terminal: print the table at most this often (default 10)
  -h, --help          this text`;

const DEFAULT_COLUMNS: readonly [string, string][] = [
  ['received', 'Received'],
  ['resolved', 'Resolved'],
  ['on_time_rate', 'On time'],
  ['in_process', 'In process'],
  ['in_process_overdue', 'Overdue'],
  ['online_share', 'Online'],
  ['digitized_at_intake_rate', 'Digitized'],
];
const WINDOWS: Record<string, string> = { today: 'day', day: 'day', month: 'month', quarter: 'quarter', year: 'year', rolling_1h: 'rolling_1h' };

export function columnsFor(indicators: readonly string[] | undefined, window: string): Column[] {
  const chosen = indicators ?? DEFAULT_COLUMNS.map(([id]) => id);
  return chosen.map((id) => {
    const def = INDICATORS.find((d) => d.id === id);
    if (def === undefined) throw new UsageError(`--indicator: unknown indicator "${id}" (known: ${INDICATORS.map((d) => d.id).join(', ')})`);
    const gauge = def.windows.includes('now');
    const w = gauge ? 'now' : window;
    if (!gauge && !def.windows.includes(w as (typeof def.windows)[number])) throw new UsageError(`--window: ${id} has no ${w} window`);
    return { indicator: id, window: w, unit: def.unit, title: DEFAULT_COLUMNS.find(([d]) => d === id)?.[1] ?? id };
  });
}

export const watchCommand: Command = {
  name: 'watch',
  summary: 'live terminal table of indicators (SSE or gRPC Subscribe)',
  usage,
  async run(argv) {
    const { values } = parse(argv, {
      http: { type: 'string' },
      grpc: { type: 'string' },
      tls: { type: 'boolean' },
      window: { type: 'string' },
      scope: { type: 'string' },
      indicator: { type: 'string' },
      once: { type: 'boolean' },
      every: { type: 'string' },
    });
    if (values.http !== undefined && values.grpc !== undefined) throw new UsageError('--http and --grpc are alternatives; give one');
    const window = WINDOWS[values.window ?? 'today'];
    if (window === undefined) throw new UsageError(`--window: expected today, month, quarter, year or rolling_1h, got "${values.window}"`);
    const columns = columnsFor(values.indicator?.split(',').map((s) => s.trim()).filter(Boolean), window);
    const filter: WatchFilter = {
      indicators: columns.map((c) => c.indicator),
      windows: [...new Set(columns.map((c) => c.window))],
      scopes: (values.scope ?? 'province,unit').split(',').map((s) => s.trim()).filter(Boolean),
    };
    const every = (number('every', values.every, { min: 0.1 }) ?? 10) * 1000;
    const grpcTarget = hostPort('grpc', values.grpc);
    const httpTarget = values.http ?? process.env.IOCBUS_VIEW_URL ?? 'http://127.0.0.1:8081';
    if (grpcTarget === undefined && !URL.canParse(httpTarget)) throw new UsageError(`--http: expected a URL, got "${httpTarget}"`);
    const target = grpcTarget === undefined ? `${httpTarget} (SSE)` : `grpc://${grpcTarget}`;
    const tty = process.stdout.isTTY === true && values.once !== true;
    const store = new WatchStore();
    let state = 'connecting';
    let detail = '';
    let lastPrint = 0;
    let printed = '';
    let timer: NodeJS.Timeout | undefined;

    const frame = (): string => {
      const asOf = store.watermarkMs === null ? '—' : formatLocal(store.watermarkMs).replace('T', ' ').slice(0, 19);
      const head = `iocbus watch · ${target} · ${state}${detail && state !== 'live' ? ` (${detail})` : ''} · data as of ${asOf} (Asia/Ho_Chi_Minh) · ${values.window ?? 'today'}`;
      const rows = tty ? Math.max(3, (process.stdout.rows ?? 40) - 5) : undefined;
      return [head, '', ...renderTable(store, { columns, ...(rows === undefined ? {} : { maxRows: rows }) })].join('\n');
    };
    const draw = (): void => {
      timer = undefined;
      const text = frame();
      if (tty) {
        process.stdout.write(`\x1b[H\x1b[2J${text}\n`);
      } else if (text !== printed) {
        process.stdout.write(`${text}\n\n`);
      }
      printed = text;
      lastPrint = Date.now();
    };
    const schedule = (): void => {
      if (timer !== undefined) return;
      const wait = tty ? 200 : Math.max(0, every - (Date.now() - lastPrint));
      timer = setTimeout(draw, wait);
    };

    let finish!: (code: number) => void;
    const done = new Promise<number>((resolve) => (finish = resolve));
    const handlers = {
      onMessage(m: Parameters<WatchStore['apply']>[0]) {
        const changed = store.apply(m);
        if (values.once === true) {
          if (store.ready) {
            process.stdout.write(`${frame()}\n`);
            finish(0);
          }
          return;
        }
        if (changed || tty) schedule();
      },
      onState(s: string, why?: string) {
        state = s;
        detail = why ?? '';
        if (values.once !== true) schedule();
      },
    };
    const stream: StreamHandle = grpcTarget === undefined ? subscribeSse(httpTarget, filter, handlers) : subscribeGrpc(grpcTarget, filter, handlers, values.tls === true);
    const stop = (): void => finish(0);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (tty) process.stdout.write('\x1b[?25l');
    try {
      return await done;
    } finally {
      if (tty) process.stdout.write('\x1b[?25h\n');
      clearTimeout(timer);
      stream.close();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};
