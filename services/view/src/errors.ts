import { status as GrpcStatus } from '@grpc/grpc-js';
import { IocError, isIocError } from '@iocbus/errors';

/**
 * Every error the view answers with, and what each transport makes of it: one table (listed in
 * docs/errors.md), looked up by the gRPC and HTTP edges and nowhere else.
 */
export const VIEW_ERRORS = {
  IOC_VIEW_INVALID_FILTER: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, retriable: false },
  IOC_VIEW_INVALID_REQUEST: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, retriable: false },
  IOC_VIEW_NOT_READY: { http: 503, grpc: GrpcStatus.UNAVAILABLE, retriable: true },
  IOC_VIEW_TOO_MANY_SUBSCRIBERS: { http: 503, grpc: GrpcStatus.RESOURCE_EXHAUSTED, retriable: true },
  IOC_VIEW_SHUTTING_DOWN: { http: 503, grpc: GrpcStatus.UNAVAILABLE, retriable: true },
  IOC_VIEW_STREAM_MAX_AGE: { http: 503, grpc: GrpcStatus.UNAVAILABLE, retriable: true },
  IOC_VIEW_SUBSCRIBER_STALLED: { http: 503, grpc: GrpcStatus.UNAVAILABLE, retriable: true },
  IOC_VIEW_SOURCE_FAILED: { http: 503, grpc: GrpcStatus.UNAVAILABLE, retriable: true },
  IOC_VIEW_INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL, retriable: false },
} as const satisfies Record<string, { http: number; grpc: GrpcStatus; retriable: boolean }>;

export type ViewErrorCode = keyof typeof VIEW_ERRORS;

export class ViewError extends IocError {
  declare readonly code: ViewErrorCode;

  constructor(code: ViewErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retriable: VIEW_ERRORS[code].retriable, cause: options.cause });
    this.name = 'ViewError';
  }

  get httpStatus(): number {
    return VIEW_ERRORS[this.code].http;
  }

  get grpcStatus(): GrpcStatus {
    return VIEW_ERRORS[this.code].grpc;
  }
}

export function toViewError(err: unknown): ViewError {
  if (err instanceof ViewError) return err;
  if (isIocError(err) && err.code in VIEW_ERRORS) return new ViewError(err.code as ViewErrorCode, err.message, { cause: err });
  return new ViewError('IOC_VIEW_INTERNAL', 'internal error', { cause: err });
}
