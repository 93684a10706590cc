export { configInputFromEnv, type EnvConfigSource } from './env.js';
export { loadOrExit, type ExitIo } from './exit.js';
