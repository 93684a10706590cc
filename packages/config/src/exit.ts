/** How main.ts reports a configuration it cannot start with; injectable so tests need not end the process. */
export interface ExitIo {
  write: (text: string) => void;
  exit: (code: number) => never;
}

const processIo: ExitIo = {
  write: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
};

/**
 * main.ts's first step: the loaded configuration, or — when `load` throws the service's `ConfigError` — its
 * message (every problem) on stderr and exit code 2, before any socket opens. Other errors propagate.
 */
export function loadOrExit<T>(load: () => T, configError: abstract new (...args: never[]) => Error, io: ExitIo = processIo): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof configError)) throw err;
    io.write(`${err.message}\n`);
    return io.exit(2);
  }
}
