// The Kysely view of Syncline's tables (snake_case columns). Every table is tenant-scoped; JSON
// columns hold JSON text and timestamps hold ISO-8601 strings in both dialects, so values
// round-trip byte for byte whichever database is underneath.
import type { Generated } from 'kysely';
import type {
  ConflictStatus,
  ConflictStrategy,
  ConflictType,
  MutationStatus,
  Operation,
} from '@syncline/protocol';
import type { MutationKind } from './mutation-kinds.js';

/** JSON text (`JSON.stringify` output) or NULL. */
export type JsonText = string | null;

export interface TenantsTable {
  tenant: string;
  /** The highest allocated change-feed seq; bumped under the tenant's row lock. */
  seq: number;
  epoch: number;
  created_at: string;
  /** Feed rows at or below it may have been pruned (0: nothing pruned). */
  pruned_seq: Generated<number>;
}

export interface EntitiesTable {
  tenant: string;
  entity_type: string;
  entity_id: string;
  version: number;
  payload: JsonText;
  checksum: string | null;
  created_by: string;
  updated_by: string;
  device_id: string | null;
  updated_at: string;
  deleted_at: string | null;
  seq: number;
}

export interface EntityHistoryTable {
  tenant: string;
  seq: number;
  entity_type: string;
  entity_id: string;
  version: number;
  operation: Operation;
  payload: JsonText;
  checksum: string | null;
  created_by: string;
  updated_by: string;
  device_id: string | null;
  mutation_id: string | null;
  updated_at: string;
  deleted_at: string | null;
  committed_at: string;
}

export interface MutationsTable {
  tenant: string;
  device_id: string;
  mutation_id: string;
  user_id: string;
  entity_type: string;
  entity_id: string;
  operation: Operation;
  payload: JsonText;
  client_version: number;
  client_timestamp: string;
  status: MutationStatus;
  attempts: number;
  result: JsonText;
  error: JsonText;
  conflict_id: string | null;
  conflict_strategy: ConflictStrategy | null;
  arrival: number;
  created_at: string;
  updated_at: string;
  /** `change` (the sync engine's) or `request` (seed 003's replayed HTTP request): see 0009. */
  kind: Generated<MutationKind>;
  /** Requests only: the business's queue id, the time the replay may next try, its claim. */
  queue_id: number | null;
  next_attempt_at: string | null;
  claimed_at: string | null;
  /** Requests only: seed 003's own fields (JSON, its column names). */
  request: JsonText;
}

export interface ConflictsTable {
  tenant: string;
  id: string;
  type: ConflictType;
  entity_type: string;
  entity_id: string;
  mutation_id: string | null;
  device_id: string | null;
  user_id: string;
  client_version: number;
  server_version: number;
  client_data: JsonText;
  server_data: JsonText;
  base_data: JsonText;
  suggested_resolution: ConflictStrategy;
  resolution: ConflictStrategy | null;
  status: ConflictStatus;
  overlapping_fields: JsonText;
  resolved_by: string | null;
  resolved_at: string | null;
  created_at: string;
}

export interface DevicesTable {
  tenant: string;
  device_id: string;
  user_id: string;
  device_name: string | null;
  platform: string | null;
  app_version: string | null;
  schema_versions: string | null;
  last_sync_at: string | null;
  sync_token: string | null;
  /** 0 or 1: an integer in both dialects, because better-sqlite3 cannot bind booleans. */
  is_active: number;
  created_at: string;
}

/** Per device, the highest outbox seq covered by a stored outcome (see migration 0007). */
export interface DeviceMutationMarksTable {
  tenant: string;
  device_id: string;
  last_seq: number;
  updated_at: string;
}

export interface SyncHistoryTable {
  id: Generated<number>;
  tenant: string;
  user_id: string;
  device_id: string | null;
  route: string;
  pushed: number;
  applied: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
  pulled: number;
  duration_ms: number;
  outcome: 'ok' | 'partial' | 'error';
  network_type: string | null;
  created_at: string;
}

export interface AuditLogTable {
  id: Generated<number>;
  tenant: string;
  actor: string;
  action: string;
  target: string | null;
  details: JsonText;
  created_at: string;
}

export interface TenantSettingsTable {
  tenant: string;
  /** JSON: only the settings an admin overrode. */
  settings: string;
  updated_by: string;
  updated_at: string;
}

export interface JobAlertsTable {
  tenant: string;
  kind: string;
  subject: string;
  value: number;
  raised_at: string;
}

export interface Database {
  tenants: TenantsTable;
  entities: EntitiesTable;
  entity_history: EntityHistoryTable;
  mutations: MutationsTable;
  conflicts: ConflictsTable;
  devices: DevicesTable;
  device_mutation_marks: DeviceMutationMarksTable;
  sync_history: SyncHistoryTable;
  audit_log: AuditLogTable;
  tenant_settings: TenantSettingsTable;
  job_alerts: JobAlertsTable;
}

export type StoreDialect = 'sqlite' | 'postgres';
