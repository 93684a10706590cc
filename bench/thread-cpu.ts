import { readFileSync } from 'node:fs';

/**
 * CPU time of the main thread (ms): user + system ticks from /proc/thread-self/stat (Linux; 10 ms ticks).
 * Unlike wall time it ignores waiting for a core on a shared machine, and unlike process.cpuUsage() it
 * leaves out V8's helper threads (concurrent compilation and marking), so it is "one core" in the strict
 * sense; where /proc is missing, process CPU time stands in.
 */
export function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
}
