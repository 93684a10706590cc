import { status as GrpcStatus } from '@grpc/grpc-js';
import { IocError, isIocError } from '@iocbus/errors';

/**
 * Every error the gateway answers with, and what each transport makes of it. One table, listed in
 * docs/errors.md; the transports look codes up here and nowhere else.
 */
export const GATEWAY_ERRORS = {
  IOC_GATEWAY_UNAUTHENTICATED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, retriable: false },
  IOC_GATEWAY_FORBIDDEN: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, retriable: false },
  IOC_GATEWAY_VALIDATION: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, retriable: false },
  IOC_GATEWAY_MALFORMED_JSON: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, retriable: false },
  IOC_GATEWAY_INVALID_BATCH: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, retriable: false },
  IOC_GATEWAY_INVALID_STREAM: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, retriable: false },
  IOC_GATEWAY_BATCH_TOO_LARGE: { http: 413, grpc: GrpcStatus.INVALID_ARGUMENT, retriable: false },
  IOC_GATEWAY_BODY_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED, retriable: false },
  IOC_GATEWAY_UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: GrpcStatus.INVALID_ARGUMENT, retriable: false },
  IOC_GATEWAY_RATE_LIMITED: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED, retriable: true },
  IOC_GATEWAY_OVERLOADED: { http: 503, grpc: GrpcStatus.UNAVAILABLE, retriable: true },
  IOC_GATEWAY_KAFKA_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE, retriable: true },
  IOC_GATEWAY_KAFKA_REJECTED: { http: 500, grpc: GrpcStatus.INTERNAL, retriable: false },
  IOC_GATEWAY_SHUTTING_DOWN: { http: 503, grpc: GrpcStatus.UNAVAILABLE, retriable: true },
  IOC_GATEWAY_NOT_FOUND: { http: 404, grpc: GrpcStatus.UNIMPLEMENTED, retriable: false },
  IOC_GATEWAY_INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL, retriable: false },
} as const satisfies Record<string, { http: number; grpc: GrpcStatus; retriable: boolean }>;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;

export interface Problem {
  path: string;
  message: string;
}

export class GatewayError extends IocError {
  declare readonly code: GatewayErrorCode;
  /** How long the client should wait before retrying (429, 503). */
  readonly retryAfterMs: number | undefined;
  readonly problems: readonly Problem[];

  constructor(
    code: GatewayErrorCode,
    message: string,
    options: { cause?: unknown; problems?: readonly Problem[]; retryAfterMs?: number } = {},
  ) {
    super(code, message, { retriable: GATEWAY_ERRORS[code].retriable, cause: options.cause });
    this.name = 'GatewayError';
    this.retryAfterMs = options.retryAfterMs;
    this.problems = options.problems ?? [];
  }

  /** HTTP Retry-After is whole seconds; never 0, which would invite an immediate retry storm. */
  get retryAfterSeconds(): number | undefined {
    return this.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }

  get httpStatus(): number {
    return GATEWAY_ERRORS[this.code].http;
  }

  get grpcStatus(): GrpcStatus {
    return GATEWAY_ERRORS[this.code].grpc;
  }
}

/** Anything thrown that is not ours is an internal error; its message is not shown to clients. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (isIocError(err) && err.code in GATEWAY_ERRORS) {
    return new GatewayError(err.code as GatewayErrorCode, err.message, { cause: err });
  }
  return new GatewayError('IOC_GATEWAY_INTERNAL', 'internal error', { cause: err });
}

/** The JSON body of an error answer, the same over HTTP and inside gRPC results. */
export function errorBody(err: GatewayError): {
  code: string;
  message: string;
  retriable: boolean;
  problems?: readonly Problem[];
} {
  return {
    code: err.code,
    message: err.message,
    retriable: err.retriable,
    ...(err.problems.length > 0 ? { problems: err.problems } : {}),
  };
}
