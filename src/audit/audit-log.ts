/**
 * Writing audit events and billable user actions.
 *
 * Every auth operation records one `audit_log` row (actor, target, action, outcome, UTC time,
 * IP, user agent; never secrets). Rows go through group commit and the call resolves only
 * when the event is durable, so an acknowledged operation never lacks its audit event.
 * @module
 */
import type { Clock } from '../common/clock.js'
import type { IdGenerator } from '../common/ids.js'
import type { DeltaStore } from '../lakehouse/delta-store.js'

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

const MAX_TEXT = 1024

function clip(v: string | null | undefined): string | null {
  if (v === undefined || v === null) return null
  return v.length > MAX_TEXT ? v.slice(0, MAX_TEXT) : v
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

function big(v: number | bigint | null | undefined): bigint | null {
  if (v === undefined || v === null) return null
  return typeof v === 'bigint' ? v : BigInt(Math.trunc(v))
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
    return {
      event_id: this.#ids.uuid(),
      timestamp: new Date(now),
      user_id: event.userId ?? null,
      username: event.username ?? null,
      action: event.action,
      resource: clip(event.resource),
      outcome: event.outcome,
      details_json: event.details ? JSON.stringify(event.details) : null,
      ip_address: clip(event.context?.ipAddress),
      user_agent: clip(event.context?.userAgent),
      date_partition: day(now),
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
        resource: clip(action.resource),
        row_count: big(action.rowCount),
        bytes_scanned: big(action.bytesScanned),
        compute_time_ms: action.computeTimeMs ?? null,
        cost: action.cost === undefined || action.cost === null ? null : String(action.cost),
        metadata_json: action.metadata ? JSON.stringify(action.metadata) : null,
        date_partition: day(now),
      },
    ])
    return id
  }
}
