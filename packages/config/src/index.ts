export { configInputFromEnv, type EnvConfigSource } from './env.js';
