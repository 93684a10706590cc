import { IocError, type IocErrorOptions } from '@iocbus/errors';

/** Failures of the test harness itself (broker launch, tools missing); never seen in production code paths. */
export class TestingError extends IocError {
  constructor(code: `IOC_TESTING_${string}`, message: string, options: IocErrorOptions = {}) {
    super(code, message, options);
    this.name = 'TestingError';
  }
}
