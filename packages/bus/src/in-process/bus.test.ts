import { runContract } from '../contract.suite.js';
import { InProcessBroker } from './broker.js';
import { createInProcessBus } from './bus.js';

const broker = new InProcessBroker();

runContract({
  name: 'in-process',
  open: () => createInProcessBus({ broker, maxBatchRecords: 7 }),
  settleMs: 2_000,
});
