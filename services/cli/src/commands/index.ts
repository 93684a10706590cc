import type { Command } from '../util/command.js';
import { publishCommand } from './publish.js';
import { simulateCommand } from './simulate.js';
import { startCommand } from './start.js';

export const COMMANDS: readonly Command[] = [startCommand, simulateCommand, publishCommand];
