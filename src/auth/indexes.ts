/**
 * Secondary indexes over the live views, maintained by view listeners: users by normalized
 * username and email and by the lookalike skeleton of the username, the set of active admins; sessions by user and each user's last login.
 * @module
 */
import type { ViewListener } from '../lakehouse/table-view.js'
import type { SessionEntry, StoredUser } from '../lakehouse/rows.js'
import { usernameSkeleton } from './identity.js'

/** Users by login key and by username skeleton, and the active admins. */
export class UserIndex implements ViewListener<StoredUser> {
  readonly byUsernameKey = new Map<string, string>()
  readonly byEmailKey = new Map<string, string>()
  readonly activeAdmins = new Set<string>()
  // Users by the skeleton of their username (UTS #39: "adrnin" and "admin" share one). Names
  // stored before lookalikes were refused may share a skeleton, hence a set for those. Built on
  // first use (a registration), not at open: computing a million skeletons takes about a second
  // that token verification should not wait for.
  #bySkeleton: Map<string, string | Set<string>> | undefined

  /**
   * Whether a user's name has this skeleton (see `usernameSkeleton`).
   * @param skeleton - a username skeleton
   * @param users - every user of the view, to build the index from on first use
   * @returns true when one does
   */
  hasSkeleton(skeleton: string, users: () => Iterable<StoredUser>): boolean {
    if (this.#bySkeleton === undefined) {
      this.#bySkeleton = new Map()
      for (const u of users()) this.#addSkeleton(u)
    }
    return this.#bySkeleton.has(skeleton)
  }

  #addSkeleton(entry: StoredUser): void {
    const index = this.#bySkeleton
    if (index === undefined) return
    const id = entry.record.userId
    const skeleton = usernameSkeleton(entry.record.username)
    const held = index.get(skeleton)
    if (held === undefined) index.set(skeleton, id)
    else if (typeof held !== 'string') held.add(id)
    else if (held !== id) index.set(skeleton, new Set([held, id]))
  }

  /** @inheritdoc */
  onUpsert(entry: StoredUser, previous: StoredUser | undefined): void {
    if (previous) this.onDelete(previous)
    const id = entry.record.userId
    this.byUsernameKey.set(entry.usernameKey, id)
    this.byEmailKey.set(entry.emailKey, id)
    this.#addSkeleton(entry)
    if (entry.record.role === 'admin' && entry.record.isActive && !entry.record.rejectedAt)
      this.activeAdmins.add(id)
  }

  /** @inheritdoc */
  onDelete(entry: StoredUser): void {
    const id = entry.record.userId
    if (this.byUsernameKey.get(entry.usernameKey) === id)
      this.byUsernameKey.delete(entry.usernameKey)
    if (this.byEmailKey.get(entry.emailKey) === id) this.byEmailKey.delete(entry.emailKey)
    const index = this.#bySkeleton
    if (index !== undefined) {
      const skeleton = usernameSkeleton(entry.record.username)
      const held = index.get(skeleton)
      if (held === id) index.delete(skeleton)
      else if (typeof held !== 'string' && held?.delete(id) && held.size === 0) {
        index.delete(skeleton)
      }
    }
    this.activeAdmins.delete(id)
  }
}

/** Sessions by user, and each user's latest login time. */
export class SessionIndex implements ViewListener<SessionEntry> {
  // Most users have one session: it is kept as a plain string, and only a second session
  // makes a Set (a Set per user costs far more memory and time with millions of sessions).
  readonly #byUser = new Map<string, string | Set<string>>()
  readonly lastLogin = new Map<string, number>()

  /**
   * The sessions of a user.
   * @param userId - the user
   * @returns the ids of the user's sessions in the view (a new array)
   */
  sessionsOf(userId: string): string[] {
    const held = this.#byUser.get(userId)
    return held === undefined ? [] : typeof held === 'string' ? [held] : [...held]
  }

  /** @inheritdoc */
  onUpsert(entry: SessionEntry, previous: SessionEntry | undefined): void {
    if (previous) this.onDelete(previous)
    const held = this.#byUser.get(entry.userId)
    if (held === undefined) this.#byUser.set(entry.userId, entry.sessionId)
    else if (typeof held !== 'string') held.add(entry.sessionId)
    else if (held !== entry.sessionId) {
      this.#byUser.set(entry.userId, new Set([held, entry.sessionId]))
    }
    if ((this.lastLogin.get(entry.userId) ?? -Infinity) < entry.createdAt)
      this.lastLogin.set(entry.userId, entry.createdAt)
  }

  /** @inheritdoc */
  onDelete(entry: SessionEntry): void {
    const held = this.#byUser.get(entry.userId)
    if (held === undefined) return
    if (typeof held === 'string') {
      if (held === entry.sessionId) this.#byUser.delete(entry.userId)
      return
    }
    held.delete(entry.sessionId)
    if (held.size === 0) this.#byUser.delete(entry.userId)
  }
}
