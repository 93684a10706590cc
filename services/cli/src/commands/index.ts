import type { Command } from '../util/command.js';
import { publishCommand } from './publish.js';
import { simulateCommand } from './simulate.js';

export const COMMANDS: readonly Command[] = [publishCommand, simulateCommand];
