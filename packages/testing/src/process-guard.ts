import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';

/** Children still running in this process; killed synchronously if the process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

// Waits for the pipe from the parent to close (the parent is gone, however it died), then terminates every
// process named in <dir>/*.pid, gives them 10 s, kills what is left and removes <dir>.
const WATCHDOG_SCRIPT = `
cat >/dev/null 2>&1
pids=$(cat "$1"/*.pid 2>/dev/null)
if [ -n "$pids" ]; then
  kill -TERM $pids 2>/dev/null
  i=0
  while [ $i -lt 100 ]; do
    alive=
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.1; i=$((i+1))
  done
  kill -KILL $pids 2>/dev/null
fi
rm -rf "$1"
`;

/**
 * Guards a temporary folder and the processes working in it. A normal or error exit of this process is covered
 * by an exit hook; everything else (SIGKILL, a signal without handler, the test runner killing a file) by a
 * detached watchdog that notices this process is gone because its stdin pipe closes.
 */
export class ProcessGuard {
  private readonly watchdog: ChildProcess;
  private released = false;

  constructor(readonly dir: string) {
    installExitHook();
    this.watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'iocbus-kafka-watchdog', dir], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    this.watchdog.on('error', () => undefined);
    // The watchdog must not keep a test process alive; that is the exit hook's and its own job.
    this.watchdog.unref();
    (this.watchdog.stdin as Socket | null)?.unref();
  }

  /** Registers a child working in the folder; `name` names its pid file, removed again when the child exits. */
  track(child: ChildProcess, name: string): void {
    if (child.pid === undefined) return;
    const pidFile = join(this.dir, `${name}.pid`);
    writeFileSync(pidFile, `${child.pid}\n`);
    live.add(child);
    child.once('exit', () => {
      live.delete(child);
      // A stale pid file could make the watchdog signal a recycled pid.
      rmSync(pidFile, { force: true });
    });
  }

  /** Stands the watchdog down; call once the guarded processes are stopped and the folder is removed. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.watchdog.pid !== undefined) {
      try {
        process.kill(-this.watchdog.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.watchdog.stdin?.destroy();
  }
}
