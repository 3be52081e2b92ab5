/**
 * Writing audit events and billable user actions.
 *
 * Every auth operation records one `audit_log` row (actor, target, action, outcome, UTC time,
 * IP, user agent; never secrets). Rows go through group commit and the call resolves only
 * when the event is durable, so an acknowledged operation never lacks its audit event.
 *
 * Free text from requests (IP address, user agent, resource) is stored well-formed and clipped
 * to {@link MAX_TEXT_LENGTH} UTF-16 code units on a code-point boundary: a lone surrogate
 * becomes U+FFFD, a pair is never split (the Delta writer refuses ill-formed strings, and a
 * refused row would lose the event). {@link sanitizeContext} does the same for any other row
 * that stores a request context, such as a session.
 * @module
 */
import { utcDay, type Clock } from '../common/clock.js'
import type { IdGenerator } from '../common/ids.js'
import { LakehouseError } from '../common/lakehouse-error.js'
import type { DeltaStore } from '../lakehouse/delta-store.js'
import type { LakehouseErrorCode } from '../lakehouse/error-codes.js'

/** Outcome of an audited action. */
export type AuditOutcome = 'success' | 'failure' | 'denied'

/** Request context of an action (from the HTTP layer or the embedding application). */
export interface RequestContext {
  readonly ipAddress?: string | null
  readonly userAgent?: string | null
}

/** One audit event. */
export interface AuditEvent {
  readonly action: string
  readonly outcome: AuditOutcome
  /** The acting or affected user. */
  readonly userId?: string | null
  readonly username?: string | null
  /** What the action was about (e.g. `user:<id>`, `session:<id>`). */
  readonly resource?: string | null
  /** Extra non-secret details (serialized to JSON). */
  readonly details?: Readonly<Record<string, unknown>>
  readonly context?: RequestContext
}

/** Action types of the `user_actions` table (the seed's `ActionType`). */
export const ActionType = {
  LOGIN: 'login',
  LOGOUT: 'logout',
  QUERY: 'query',
  EXPORT: 'export',
  API_CALL: 'api_call',
  DATA_ACCESS: 'data_access',
  REGISTER: 'register',
  PASSWORD_CHANGE: 'password_change',
} as const

/** A user action type (known constants, or an application-defined string). */
export type ActionTypeName = (typeof ActionType)[keyof typeof ActionType] | (string & {})

/** A billable / analytical user action. */
export interface UserAction {
  readonly userId: string
  readonly actionType: ActionTypeName
  readonly sessionId?: string | null
  readonly resource?: string | null
  readonly rowCount?: number | bigint | null
  readonly bytesScanned?: number | bigint | null
  readonly computeTimeMs?: number | null
  /** Cost in EUR as a decimal string or number (up to 6 fraction digits). */
  readonly cost?: string | number | null
  readonly metadata?: Readonly<Record<string, unknown>>
}

/** Greatest length, in UTF-16 code units, of a free-text value stored by the audit log. */
export const MAX_TEXT_LENGTH = 1024

// With the u flag a surrogate pair is one code point: only unpaired halves match.
const LONE_SURROGATE = /\p{Cs}/gu

/**
 * Makes a free-text value storable: every lone surrogate becomes U+FFFD (as
 * `String.prototype.toWellFormed` does), then the text is cut to at most `max` UTF-16 code
 * units, never between the halves of a surrogate pair.
 * @param text - the value; anything but a string (a header array, a number) gives `null`
 * @param max - greatest length in UTF-16 code units (default {@link MAX_TEXT_LENGTH})
 * @returns a well-formed prefix of `text` (by code points, after the replacement), or `null`
 */
export function storableText(text: unknown, max: number = MAX_TEXT_LENGTH): string | null {
  if (typeof text !== 'string') return null
  const whole = text.replace(LONE_SURROGATE, '\uFFFD')
  if (whole.length <= max) return whole
  // A high surrogate at the cut is paired (no lone ones are left): keep neither half.
  const last = whole.charCodeAt(max - 1)
  return whole.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max)
}

/**
 * A request context whose strings are storable ({@link storableText}): the IP address and user
 * agent well-formed, at most {@link MAX_TEXT_LENGTH} code units, `null` when absent or not a
 * string. Other properties (such as `keepSessionId`) are kept as they are. The audit log applies
 * it to every event; apply it too before storing a context elsewhere (the session row of a
 * login), so that a hostile user agent cannot make the write fail.
 * @param ctx - the context from the HTTP layer or the application, possibly absent
 * @returns the sanitized copy, or `undefined` for an absent context
 * @example
 * ```ts
 * sanitizeContext({ userAgent: 'a'.repeat(1023) + '\u{1F600}' }) // userAgent: 1023 × "a"
 * sanitizeContext({ ipAddress: '10.0.0.1\uD800' }) // ipAddress: '10.0.0.1\uFFFD'
 * ```
 */
export function sanitizeContext<C extends RequestContext>(ctx: C): C & SanitizedContext
export function sanitizeContext<C extends RequestContext>(
  ctx: C | undefined,
): (C & SanitizedContext) | undefined
export function sanitizeContext<C extends RequestContext>(
  ctx: C | undefined,
): (C & SanitizedContext) | undefined {
  // Untyped callers may pass null or a non-object: treated as no context.
  if (typeof ctx !== 'object' || ctx === null) return undefined
  return {
    ...ctx,
    ipAddress: storableText(ctx.ipAddress),
    userAgent: storableText(ctx.userAgent),
  }
}

/** The strings of a context after {@link sanitizeContext}. */
export interface SanitizedContext {
  readonly ipAddress: string | null
  readonly userAgent: string | null
}

function invalid(field: string, why: string): LakehouseError<LakehouseErrorCode> {
  return new LakehouseError('INVALID_QUERY', `audit: ${field} ${why}`, { context: { field } })
}

/** A count: a non-negative integer (number or bigint) within a Delta long, or absent. */
function count(v: unknown, field: string): bigint | null {
  if (v === undefined || v === null) return null
  if (typeof v === 'bigint' && v >= 0n && v < 2n ** 63n) return v
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v)
  throw invalid(field, 'must be a non-negative integer')
}

/** A duration in milliseconds: a finite, non-negative number, or absent. */
function duration(v: unknown, field: string): number | null {
  if (v === undefined || v === null) return null
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v
  throw invalid(field, 'must be a finite, non-negative number')
}

/**
 * The JSON text of a value that must serialize to a JSON object (event details, action
 * metadata, user preferences). JSON.stringify escapes lone surrogates, so the text is
 * well-formed.
 * @param value - the value
 * @param refuse - the error for a value that is not JSON (a BigInt, a cycle, a toJSON that
 *   throws) or does not serialize to an object (a toJSON may turn it into anything, or nothing)
 * @returns the JSON text, starting with `{`
 * @throws what `refuse` returns
 */
export function objectJson(
  value: unknown,
  refuse: (problem: 'not-json' | 'not-object') => Error,
): string {
  let json: unknown
  try {
    json = JSON.stringify(value)
  } catch {
    throw refuse('not-json')
  }
  if (typeof json !== 'string' || !json.startsWith('{')) throw refuse('not-object')
  return json
}

/** Event details or action metadata as JSON text: a plain object, or absent. */
function jsonObject(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null
  return objectJson(v, (problem) =>
    problem === 'not-json'
      ? invalid(field, 'must be JSON (objects, arrays, strings, numbers, booleans, null)')
      : invalid(field, 'must be an object'),
  )
}

/** Writes audit events and user actions through the store. */
export class AuditLog {
  readonly #store: DeltaStore
  readonly #clock: Clock
  readonly #ids: IdGenerator

  /**
   * @param store - the lakehouse store
   * @param clock - time source
   * @param ids - id generator
   */
  constructor(store: DeltaStore, clock: Clock, ids: IdGenerator) {
    this.#store = store
    this.#clock = clock
    this.#ids = ids
  }

  /**
   * The `audit_log` row of an event (exposed for tests and for batching).
   * @param event - the event
   * @param at - when it happened, epoch milliseconds (default: now)
   * @returns the row
   */
  rowOf(event: AuditEvent, at?: number): Record<string, unknown> {
    const now = at ?? this.#clock.now()
    const context = sanitizeContext(event.context)
    return {
      event_id: this.#ids.uuid(),
      timestamp: new Date(now),
      user_id: event.userId ?? null,
      username: event.username ?? null,
      action: event.action,
      resource: storableText(event.resource),
      outcome: event.outcome,
      details_json: jsonObject(event.details, 'details'),
      ip_address: context?.ipAddress ?? null,
      user_agent: context?.userAgent ?? null,
      date_partition: utcDay(now),
    }
  }

  /**
   * Records an event durably.
   * @param event - the event
   * @returns when the event is committed
   * @throws LakehouseError `STORAGE_FAILURE`
   */
  async record(event: AuditEvent): Promise<void> {
    await this.#store.append('audit_log', [this.rowOf(event)])
  }

  /**
   * Records a user action durably (the seed's `log_action`).
   * @param action - the action
   * @returns the generated action id
   * @throws LakehouseError `INVALID_QUERY` for invalid values, `STORAGE_FAILURE`
   */
  async logAction(action: UserAction): Promise<string> {
    const now = this.#clock.now()
    const id = this.#ids.uuid()
    await this.#store.append('user_actions', [
      {
        action_id: id,
        timestamp: new Date(now),
        user_id: action.userId,
        session_id: action.sessionId ?? null,
        action_type: action.actionType,
        resource: storableText(action.resource),
        row_count: count(action.rowCount, 'rowCount'),
        bytes_scanned: count(action.bytesScanned, 'bytesScanned'),
        compute_time_ms: duration(action.computeTimeMs, 'computeTimeMs'),
        cost: action.cost === undefined || action.cost === null ? null : String(action.cost),
        metadata_json: jsonObject(action.metadata, 'metadata'),
        date_partition: utcDay(now),
      },
    ])
    return id
  }
}
