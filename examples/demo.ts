/**
 * The main job until the HTTP server exists: a short tour of an embedded local lakehouse.
 * It registers and approves users, logs in, verifies and revokes a token, changes a role,
 * time-travels the users table by version and by timestamp, shows the table history, and
 * reads the same Delta tables through the engine API.
 *
 * Run: npm start                 (lakehouse in ./.lakehouse-demo, recreated each run)
 *      LAKEHOUSE_PATH=/data/lh npm start   (keeps an existing lakehouse)
 */
import { rm } from 'node:fs/promises'
import path from 'node:path'
import {
  ActionType,
  col,
  isLakehouseError,
  LakehouseClient,
  LakehouseConfig,
  SubscriptionTier,
} from '../src/index.js'
import { DeltaTable } from '../src/delta/index.js'

const basePath = process.env.LAKEHOUSE_PATH ?? path.resolve('.lakehouse-demo')
if (!process.env.LAKEHOUSE_PATH) await rm(basePath, { recursive: true, force: true })

const config = LakehouseConfig.builder()
  .basePath(basePath)
  .environment(process.env.NODE_ENV)
  .refreshMs(500)
  .build()
const client = await LakehouseClient.open(config)
const say = (s: string): void => console.log(s)
const pw = 'correct horse battery staple'

say(`Polarway Lakehouse demo — lakehouse at ${basePath}\n`)

const admin =
  (await client.getAllUsers()).find((u) => u.role === 'admin') ??
  (await client.bootstrapAdmin('root_admin', 'admin@example.com', `${pw} admin`))
say(`admin: ${admin.username} (${admin.role})`)

const alice = await client.register(
  `alice_${Date.now() % 100000}`,
  `alice${Date.now() % 100000}@example.com`,
  pw,
  {
    tier: SubscriptionTier.PIONEER,
    firstName: 'Alice',
  },
)
say(`registered ${alice.username}: role=${alice.role}, tier=${alice.subscriptionTier}`)
const versionBeforeApproval = await client.store.version('users')
const timeBeforeApproval = new Date()
await new Promise((r) => setTimeout(r, 20))

const approved = await client.approveUser(alice.userId, undefined, { actor: admin.userId })
say(`approved by ${admin.username}: role=${approved.role}`)

const { token, user } = await client.login(alice.username, pw, {
  context: { ipAddress: '127.0.0.1', userAgent: 'demo' },
})
say(`login ok: token of ${token.length} chars for ${user.username}`)
const verified = await client.verifyToken(token)
say(
  `verifyToken: user=${verified.user.username} role=${verified.role} session=${verified.sessionId.slice(0, 8)}…`,
)
await client.logAction(user.userId, user.username, ActionType.QUERY, {
  rowCount: 42,
  cost: '0.0012',
})

try {
  await client.login(alice.username, 'wrong password!')
} catch (e) {
  if (isLakehouseError(e)) say(`wrong password -> ${e.code}`)
}

await client.setRole(alice.userId, 'registered', { actor: admin.userId })
say(
  `role changed: now ${(await client.getUser(alice.userId))?.role}; the token now verifies with role ${(await client.verifyToken(token)).role}`,
)

const atVersion = await client.readUsersAtVersion(versionBeforeApproval)
say(
  `time travel: users table at version ${versionBeforeApproval}: ${atVersion.find((u) => u.userId === alice.userId)?.role}`,
)
const atTime = await client.readUsersAtTimestamp(timeBeforeApproval.toISOString())
say(
  `time travel: users as of ${timeBeforeApproval.toISOString()}: ${atTime.find((u) => u.userId === alice.userId)?.role}`,
)

await client.logout(token)
try {
  await client.verifyToken(token)
} catch (e) {
  if (isLakehouseError(e)) say(`after logout, verifyToken -> ${e.code}`)
}

// Forgotten password: the application mails the token; it works once, and ends every session.
const grant = await client.requestPasswordReset(alice.email)
if (grant) {
  const newPassword = `${pw} renewed`
  await client.resetPassword(grant.token, newPassword)
  const again = await client.login(alice.username, newPassword)
  say(
    `password reset: token valid until ${new Date(grant.expiresAt).toISOString()}; login with the new password ok (${again.user.username})`,
  )
  try {
    await client.resetPassword(grant.token, `${pw} once more`)
  } catch (e) {
    if (isLakehouseError(e)) say(`the same reset token again -> ${e.code}`)
  }
}

say('\nusers table history (newest first):')
for (const h of await client.history('users', 8)) {
  say(
    `  v${h.version}  ${h.timestamp.toISOString()}  ${h.operation ?? '?'}  ${JSON.stringify(h.operationMetrics)}`,
  )
}

// The same tables are plain Delta tables: the engine (and Spark, delta-rs, Polars, DuckDB) read them.
const users = await DeltaTable.open(path.join(basePath, 'users'))
const traders = await users.toRows({
  columns: ['username', 'role'],
  filter: col('role').eq('registered'),
})
say(
  `\nengine read of ${users.store.location} at version ${users.version}: ${traders.length} registered user(s)`,
)
const audit = await DeltaTable.open(path.join(basePath, 'audit_log'))
say(`audit_log has ${(await audit.toRows({ columns: ['action'] })).length} events`)

await client.close()
say(
  '\ndone. Read these tables from Python: deltalake.DeltaTable("' +
    path.join(basePath, 'users') +
    '").to_pandas()',
)
