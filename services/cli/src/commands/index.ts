import type { Command } from '../util/command.js';
import { publishCommand } from './publish.js';
import { aggregatorCommand, gatewayCommand, viewCommand } from './roles.js';
import { simulateCommand } from './simulate.js';
import { startCommand } from './start.js';
import { watchCommand } from './watch.js';

export const COMMANDS: readonly Command[] = [startCommand, simulateCommand, publishCommand, watchCommand, gatewayCommand, aggregatorCommand, viewCommand];
